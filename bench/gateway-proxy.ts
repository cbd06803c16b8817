// The proxy the gateway bench measures, run in a child process of its own (bench/gateway.ts forks
// it), so that neither the load generator nor the fake upstreams share its event loop: either the
// real gateway (buildGateway over a fixed route table, with the undici Agent `mcpctl gateway`
// makes and its logger and process metrics), or the baseline, a minimal pass-through proxy
// (node:http server + undici Pool to one upstream, no routing, no parsing). It answers the
// parent's questions over IPC: its own CPU time, its memory, the gateway's /metrics text.
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Agent, Pool } from 'undici';
import type { Strategy } from '../gateway/routing.js';
import type { LlmView } from '../schema/views.js';

/** The pool key every member of the bench's gateway belongs to: the clients' `model`. */
export const BENCH_POOL = 'bench-pool';

export type ProxySpec = { kind: 'gateway'; strategy: Strategy; memberUrls: string[] } | { kind: 'passthrough'; upstreamOrigin: string };

export type ProxyQuestion = { id: number; ask: 'cpu' } | { id: number; ask: 'memory'; collectFirst: boolean } | { id: number; ask: 'metrics' } | { id: number; ask: 'loopDelay' };

export interface ProxyAnswer {
  id: number;
  /** cpu: microseconds of CPU (user + system) this process used so far. */
  cpuMicros?: number;
  rssBytes?: number;
  heapUsedBytes?: number;
  metricsText?: string;
  /** loopDelay: how late a 1 ms timer ran on this process's event loop since the last question (p99, max). */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
}

/** The same settings `mcpctl gateway` gives its dispatcher (gateway/main.ts), with its default --connect-timeout. */
function createGatewayDispatcher(): Agent {
  return new Agent({ connect: { timeout: 5_000 }, keepAliveTimeout: 30_000, connections: 256 });
}

function memberView(name: string, url: string): LlmView {
  return {
    apiVersion: 'mcpctl/v1',
    kind: 'Llm',
    metadata: { name },
    spec: { type: 'vllm', model: 'Qwen/Qwen3-8B', url, poolName: BENCH_POOL },
    status: { kind: 'static', phase: 'active', pool: { key: BENCH_POOL, explicit: true }, sync: 'Synced', source: null, agent: null, drift: [], reason: '' },
  };
}

async function startGateway(spec: Extract<ProxySpec, { kind: 'gateway' }>): Promise<{ port: number; metrics: () => Promise<string> }> {
  // Loaded here, so that the baseline's process holds none of the gateway's modules.
  const { buildGateway } = await import('../gateway/app.js');
  const { buildRouteTable } = await import('../gateway/route-table.js');
  const routes = buildRouteTable(spec.memberUrls.map((url, i) => memberView(`member-${i}`, url)));
  // The logger `mcpctl gateway` runs with (info; request logs at debug), into a sink: the
  // failover part makes members cool down, which logs a warning per member.
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const { app, metrics } = await buildGateway({
    routes: () => routes,
    readiness: () => ({ loaded: true, unreachableSinceMs: null, reason: null }),
    dispatcher: createGatewayDispatcher(),
    settings: { strategy: spec.strategy, retries: 2, cooldownMs: 30_000, timeoutMs: 600_000 },
    maxBodyBytes: 32 * 1024 * 1024,
    auth: null,
    logger: { level: 'info', stream: sink },
    processMetrics: true,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { port: (app.server.address() as AddressInfo).port, metrics: () => metrics.registry.metrics() };
}

/** Headers a proxy must not copy (RFC 9110 §7.6.1), and the request's framing, which undici sets. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'te', 'trailer', 'upgrade', 'host', 'content-length']);

function copyHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** The baseline: what any proxy must do, and nothing else. */
async function startPassthrough(spec: Extract<ProxySpec, { kind: 'passthrough' }>): Promise<{ port: number }> {
  const pool = new Pool(spec.upstreamOrigin, { keepAliveTimeout: 30_000, connections: 256 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = copyHeaders(req.headers) as Record<string, string>;
      pool.request({ path: req.url ?? '/', method: 'POST', headers, body }).then(
        (answer) => {
          res.writeHead(answer.statusCode, copyHeaders(answer.headers as IncomingHttpHeaders));
          answer.body.on('data', (chunk: Buffer) => {
            if (!res.write(chunk)) answer.body.pause();
          });
          res.on('drain', () => answer.body.resume());
          answer.body.on('end', () => res.end());
          answer.body.on('error', () => res.destroy());
          res.on('close', () => {
            if (!res.writableFinished) answer.body.destroy();
          });
        },
        () => {
          res.writeHead(502).end();
        },
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port };
}

async function main(send: (message: unknown) => void): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ProxySpec;
  let metrics: () => Promise<string> = () => Promise.resolve('');
  let port: number;
  if (spec.kind === 'gateway') {
    const started = await startGateway(spec);
    port = started.port;
    metrics = started.metrics;
  } else {
    port = (await startPassthrough(spec)).port;
  }
  // How late a 1 ms timer runs here: the loop blocked by this process's own work or a collection,
  // or the process waiting for a core the machine gave to another one (the two look alike).
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  process.on('message', (question: ProxyQuestion) => {
    void (async () => {
      const answer: ProxyAnswer = { id: question.id };
      if (question.ask === 'cpu') {
        const cpu = process.cpuUsage();
        answer.cpuMicros = cpu.user + cpu.system;
      } else if (question.ask === 'memory') {
        if (question.collectFirst) (globalThis as { gc?: () => void }).gc?.();
        const memory = process.memoryUsage();
        answer.rssBytes = memory.rss;
        answer.heapUsedBytes = memory.heapUsed;
      } else if (question.ask === 'loopDelay') {
        answer.loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
        answer.loopDelayMaxMs = loopDelay.max / 1e6;
        loopDelay.reset();
      } else {
        answer.metricsText = await metrics();
      }
      send(answer);
    })();
  });
  send({ port });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  const send = process.send.bind(process);
  await main((message) => send(message));
}
