// Fake model servers for the gateway's tests: real node:http servers on 127.0.0.1:0 whose answer
// each test sets (JSON, server-sent events on a timer, a 503, a 429 with Retry-After, silence, a
// socket destroyed mid-stream), and which record every request they saw: its headers and body,
// and whether the caller closed it before the answer ended (the gateway aborting it).
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { stablePort } from '../../support/ports.js';

export type Behaviour =
  /** Answers `body` as JSON (an OpenAI chat completion naming the member unless given); `cutAfterBytes`: then destroys the socket. */
  | { kind: 'json'; status?: number; body?: unknown; cutAfterBytes?: number }
  /**
   * Answers `text/event-stream`: one `data: <chunk>\n\n` event per chunk, `intervalMs` apart,
   * then `data: [DONE]`. `holdAfter` chunks, it waits for `release` before the rest; `dieAfter`
   * chunks, it destroys the socket instead of going on.
   */
  | { kind: 'sse'; chunks: string[]; intervalMs: number; holdAfter?: number; release?: Promise<void>; dieAfter?: number }
  /** Answers an error status (503, 429 …) with a small JSON body and the given headers. */
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Reads the request and never answers (the socket stays open until the caller closes it). */
  | { kind: 'hang' };

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The request body parsed as JSON (undefined when it was not JSON). */
  body: unknown;
  /** The request body as sent. */
  text: string;
  receivedAtMs: number;
  /** When the caller closed the request before the answer ended (the gateway aborted it); null: it did not. */
  abortedAtMs: number | null;
  /** Whether the answer was written to its end. */
  answered: boolean;
  /** SSE events written so far. */
  chunksSent: number;
}

export interface Upstream {
  /** The OpenAI base URL, `http://127.0.0.1:PORT/v1`: what a member's URL is. */
  url: string;
  requests: SeenRequest[];
  behave(behaviour: Behaviour): void;
  close(): Promise<void>;
}

/** A chat completion as an OpenAI server answers it, naming who answered. */
export function completion(content: string): unknown {
  return { id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'upstream', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] };
}

/** One streamed chat completion chunk, as an event's data. */
export function chunk(content: string): string {
  return JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: 'upstream', choices: [{ index: 0, delta: { content }, finish_reason: null }] });
}

const open = new Set<Upstream>();

export async function startUpstream(name: string, initial: Behaviour = { kind: 'json' }): Promise<Upstream> {
  let behaviour = initial;
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const seen: SeenRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, text, receivedAtMs: Date.now(), abortedAtMs: null, answered: false, chunksSent: 0 };
      requests.push(seen);
      res.on('close', () => {
        if (!res.writableFinished) seen.abortedAtMs ??= Date.now();
      });
      res.on('finish', () => (seen.answered = true));
      answer(name, behaviour, res, seen);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const upstream: Upstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    behave(next) {
      behaviour = next;
    },
    close: () =>
      new Promise((resolve) => {
        open.delete(upstream);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  open.add(upstream);
  return upstream;
}

export async function closeUpstreams(): Promise<void> {
  await Promise.all([...open].map((u) => u.close()));
}

function answer(name: string, behaviour: Behaviour, res: ServerResponse, seen: SeenRequest): void {
  switch (behaviour.kind) {
    case 'json': {
      const text = JSON.stringify(behaviour.body ?? completion(`hello from ${name}`));
      res.writeHead(behaviour.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      if (behaviour.cutAfterBytes === undefined) {
        res.end(text);
        return;
      }
      res.write(text.slice(0, behaviour.cutAfterBytes), () => res.socket?.destroy());
      return;
    }
    case 'status': {
      const text = JSON.stringify({ error: { message: `${name} answers ${behaviour.status}`, type: 'server_error', code: behaviour.status } });
      res.writeHead(behaviour.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...behaviour.headers }).end(text);
      return;
    }
    case 'hang':
      return;
    case 'sse':
      void stream(behaviour, res, seen);
      return;
  }
}

async function stream(behaviour: Extract<Behaviour, { kind: 'sse' }>, res: ServerResponse, seen: SeenRequest): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const events = [...behaviour.chunks, '[DONE]'];
  for (const [index, data] of events.entries()) {
    if (res.destroyed) return;
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, behaviour.intervalMs));
    if (behaviour.dieAfter === index) {
      res.socket?.destroy();
      return;
    }
    if (behaviour.holdAfter === index && behaviour.release !== undefined) await behaviour.release;
    if (res.destroyed) return;
    res.write(`data: ${data}\n\n`);
    seen.chunksSent++;
  }
  res.end();
}

/** The SSE body `stream` writes for `chunks`, byte for byte. */
export function sseText(chunks: string[]): string {
  return [...chunks, '[DONE]'].map((data) => `data: ${data}\n\n`).join('');
}

/** A loopback base URL with nothing listening on it, outside the range other tests' servers get: connections are refused. */
export async function refusingUrl(): Promise<string> {
  return `http://127.0.0.1:${await stablePort()}/v1`;
}

/**
 * A base URL where connecting never completes: a child process listens with a backlog of 1 and
 * then blocks its event loop, so it never accepts; connections fill the kernel's accept queue,
 * after which the SYNs of new ones are dropped (what a blackholed host looks like to a client).
 */
export async function startBlackhole(): Promise<{ url: string; close(): void }> {
  const script = `const s = require('node:net').createServer();
s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the blackhole exited with ${code}`)));
  });
  // Fill the queue: connect until a connection hangs.
  const fillers: Socket[] = [];
  for (;;) {
    const socket = connect(port, '127.0.0.1');
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve, reject) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', reject);
      setTimeout(() => resolve(false), 250);
    });
    if (!connected) break;
    if (fillers.length > 64) throw new Error('the blackhole keeps accepting connections');
  }
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close() {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}
