// The gateway bench's fake model servers, run in a child process of their own (bench/gateway.ts
// forks it): one node:http server per member on 127.0.0.1:0, answering POST …/chat/completions
// the way an engine does. A member has a number of slots (requests served at once, as an engine's
// batch) and a service time per request; requests beyond the slots wait in a FIFO queue, so that a
// slow member's latency grows with the load sent to it, which is what least-load routing is for.
// `stream: true` answers `max_tokens` server-sent events, `intervalMs` apart, each stamped with
// the monotonic clock (shared by every process of the machine) at the moment it is written.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface UpstreamMemberSpec {
  /** Service time of a non-streamed answer; 0 answers at once. */
  serviceMs: number;
  /** Requests served at once; null: no limit. */
  slots: number | null;
  /** Between two chunks of a streamed answer. */
  intervalMs: number;
}

/** What the child is told in argv[2] (JSON). */
export interface UpstreamSpec {
  members: UpstreamMemberSpec[];
}

/** What the child sends once every server listens. */
export interface UpstreamReady {
  ports: number[];
}

/** Microseconds on the monotonic clock, comparable across the processes of one machine. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18 },
});

class Member {
  private busy = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly spec: UpstreamMemberSpec) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // Parsed as an engine would: a body the gateway mangled fails the bench, not silently.
      let body: { model?: unknown; stream?: unknown; max_tokens?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad JSON","type":"invalid_request_error"}}');
        return;
      }
      if (body.stream === true) this.stream(res, typeof body.max_tokens === 'number' ? body.max_tokens : 16);
      else this.admit(res, () => res.writeHead(200, { 'content-type': 'application/json' }).end(COMPLETION));
    });
  }

  /** Runs `answer` when a slot is free and the service time has passed. */
  private admit(res: ServerResponse, answer: () => void): void {
    const run = (): void => {
      this.busy++;
      const done = (): void => {
        this.busy--;
        if (!res.destroyed) answer();
        this.queue.shift()?.();
      };
      if (this.spec.serviceMs <= 0) done();
      else setTimeout(done, this.spec.serviceMs);
    };
    if (this.spec.slots === null || this.busy < this.spec.slots) run();
    else this.queue.push(run);
  }

  private stream(res: ServerResponse, count: number): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) {
        clearInterval(timer);
        return;
      }
      sent++;
      res.write(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tok"}}],"seq":${sent},"t":${monotonicMicros()}}\n\n`);
      if (sent >= count) {
        clearInterval(timer);
        res.end('data: [DONE]\n\n');
      }
    }, this.spec.intervalMs);
    res.on('close', () => clearInterval(timer));
  }
}

async function serve(spec: UpstreamSpec): Promise<Server[]> {
  return Promise.all(
    spec.members.map(
      (memberSpec) =>
        new Promise<Server>((resolve) => {
          const member = new Member(memberSpec);
          const server = createServer((req, res) => member.handle(req, res));
          server.keepAliveTimeout = 60_000;
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
}

// Only when forked as the child (the parent imports this file for its types and clock).
if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  const servers = await serve(JSON.parse(process.argv[2] ?? '{"members":[]}') as UpstreamSpec);
  const ready: UpstreamReady = { ports: servers.map((s) => (s.address() as AddressInfo).port) };
  process.send(ready);
  // The parent going away ends this process too (a bench that throws leaves no server behind).
  process.on('disconnect', () => process.exit(0));
}
