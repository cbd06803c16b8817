// The /members load generator, run in a worker thread: a client has a heap of its own, as a real
// one on another machine has, so that joining and decoding its 600 KB answers does not set off
// garbage collections in the server being measured. Requests go one after another over one
// keep-alive connection; the first `warmup` are not counted.
import { Agent, request, type IncomingMessage } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface MembersClientJob {
  port: number;
  anchors: string[];
  warmup: number;
  count: number;
}

function get(agent: Agent, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        // Decoded as a client would; a wrong answer fails the bench rather than timing an error.
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        else resolve();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function runJob(job: MembersClientJob): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < job.warmup + job.count; i++) {
      const anchor = job.anchors[i % job.anchors.length] ?? '';
      const start = performance.now();
      await get(agent, job.port, `/api/v1/llms/${anchor}/members`);
      if (i >= job.warmup) latencies.push(performance.now() - start);
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
