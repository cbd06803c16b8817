// The /members load generator, run in a worker thread: a client has a heap of its own, as a real
// one on another machine has, so that joining and decoding its 600 KB answers does not set off
// garbage collections in the server being measured. Requests go one after another over one
// keep-alive connection; the first `warmup` are not counted. Each latency runs from the request
// to the answer's last byte; the answer is decoded and checked after that.
import { Agent, request, type IncomingMessage } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface MembersClientJob {
  port: number;
  anchors: string[];
  warmup: number;
  count: number;
}

/** One request; resolves when its answer's last byte has come, with that time and the bytes. */
function get(agent: Agent, port: number, path: string): Promise<{ endedAt: number; status: number; chunks: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ endedAt: performance.now(), status: res.statusCode ?? 0, chunks }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Decoded as a client would, after the clock stopped: the latency is the server's, up to the last
 * byte, and joining and decoding 600 KB (and the collections that sets off in this thread, every
 * 14 requests or so) is the client's own time. A wrong answer fails the bench rather than timing
 * an error.
 */
function check(path: string, answer: { status: number; chunks: Buffer[] }): void {
  const text = Buffer.concat(answer.chunks).toString('utf8');
  if (answer.status !== 200) throw new Error(`GET ${path}: HTTP ${answer.status}: ${text.slice(0, 200)}`);
  if (!text.startsWith('{"anchor":') || !text.endsWith(']}')) throw new Error(`GET ${path}: not a members answer: ${text.slice(0, 200)}`);
}

async function runJob(job: MembersClientJob): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < job.warmup + job.count; i++) {
      const anchor = job.anchors[i % job.anchors.length] ?? '';
      const path = `/api/v1/llms/${anchor}/members`;
      const start = performance.now();
      const answer = await get(agent, job.port, path);
      if (i >= job.warmup) latencies.push(answer.endedAt - start);
      check(path, answer);
    }
  } finally {
    agent.destroy();
  }
  return latencies;
}

if (parentPort !== null) {
  const port = parentPort;
  runJob(workerData as MembersClientJob).then(
    (latencies) => port.postMessage({ latencies }),
    (error: unknown) => port.postMessage({ error: error instanceof Error ? error.message : String(error) }),
  );
}
