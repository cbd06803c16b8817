// Reconciler benchmark: heartbeat throughput of the real fastify app against a bare node:http
// server doing the same JSON parse and map update under the same in-process load generator;
// /members latency for a 1,000-member pool among 100,000 registrations, seen by a client in a
// worker thread (its own heap, as a real client has); memory per registration. Prints nothing:
// the bench runner prints the figures.
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Gpu, Load, Registration } from '../schema/agent-protocol.js';
import { buildApp } from '../reconciler/app.js';
import type { DesiredStateView, DesiredStatus, ServedRevision } from '../reconciler/desired-state-api.js';
import { createServices, type ReconcilerServices } from '../reconciler/services.js';
import type { MembersClientJob } from './members-client.js';
import { median, percentile, positiveIntFromEnv, round2, round3, runPool } from './measure.js';

const AGENTS = 10_000;
const CONCURRENCY = 64;
/**
 * Eighteen paired rounds of 500 ms (nine seconds a side, as six of 1.5 s were): this machine's
 * speed swings between rounds (5,000 to 11,700 heartbeats per CPU second for the same server),
 * and a shorter pair is more likely to see the same speed on both sides; the median is over
 * three times as many pairs. Measured 2026-12-07: six 1.5 s rounds gave ratios 0.79–0.95 in six
 * runs, these 0.88–0.92 in fourteen.
 */
const ROUND_MS = 500;
const ROUNDS = 18;
const BIG_POOL_SIZE = 1_000;
const REGISTRATIONS = 100_000;
const MEMBERS_REQUESTS = 1_000;
/**
 * Requests before the measured ones, the same for the reconciler and the bare server: about two
 * seconds of them, so that the route's code and the client's are compiled by V8's optimising
 * tiers and the pool answer has been built and refreshed at least once (its refresh starts once
 * it is 750 ms old). The figure is of a reconciler that has been serving, not of its first
 * second. HEARTBEAT_BENCH_MEMBERS_WARMUP=200 measures the way it was until 2026-12-07.
 */
const MEMBERS_WARMUP = positiveIntFromEnv('HEARTBEAT_BENCH_MEMBERS_WARMUP', 3_000);

const LOADS: Load[] = [
  { running: 3, waiting: 1, kvCacheUsage: 0.42 },
  { running: 4, waiting: 0, kvCacheUsage: 0.47 },
];
const GPU: Gpu = { index: 0, name: 'NVIDIA H100', memoryTotalMiB: 81559, memoryUsedMiB: 40_000, utilizationPct: 55 };

export async function runHeartbeatBench(): Promise<{ name: string; figures: Record<string, number | string>; targets: Record<string, string> }> {
  const figures: Record<string, number | string> = {};
  Object.assign(figures, await measureHeartbeats());
  Object.assign(figures, await measureMembers());
  return { name: 'reconciler heartbeat and /members', figures, targets: { heartbeatRatio: '≥ 0.85', membersP99Ms: '≤ 5' } };
}

/** A served revision with nothing declared: every registration is a virtual Llm. */
function emptyDesiredState(): DesiredStateView {
  const served: ServedRevision = { revision: 'bench', llms: [], pools: [] };
  const status: DesiredStatus = { revision: 'bench', lastGoodRevision: 'bench', source: 'bench', lastSyncAt: null, errors: [], history: [] };
  return {
    current: () => served,
    status: () => status,
    sync: () => Promise.resolve({ revision: 'bench', at: new Date().toISOString(), durationMs: 0, result: 'unchanged', errors: [] }),
    onChange: () => () => {},
  };
}

function createBenchServices(): ReconcilerServices {
  return createServices({ desired: emptyDesiredState(), ttlMs: 30_000, heartbeatIntervalMs: 10_000, gcMs: 600_000 });
}

function registrationOf(agent: number, llmsPerAgent: number, poolOf: (llm: number) => string | undefined): Registration {
  const llms = [];
  for (let i = 0; i < llmsPerAgent; i++) {
    const n = agent * llmsPerAgent + i;
    const poolName = poolOf(n);
    llms.push({
      name: `llm-${n}`,
      ...(poolName === undefined ? {} : { poolName }),
      type: 'vllm' as const,
      model: 'Qwen/Qwen3-8B',
      url: `http://gpu${agent}.lan:${8000 + i}/v1`,
      health: 'ok' as const,
    });
  }
  return { agentId: `agent-${agent}`, host: `gpu${agent}.lan`, version: 'bench', llms, gpus: [GPU] };
}

// ---------------------------------------------------------------------------------------------
// Heartbeats

interface Target {
  port: number;
  /** Pre-serialised heartbeat bodies and paths, one per agent. */
  beats: { path: string; body: string }[];
}

async function measureHeartbeats(): Promise<Record<string, number>> {
  // The real app, with 10,000 agents registered over HTTP.
  const services = createBenchServices();
  await services.start();
  const fastifyApp = await buildApp({ services, auth: null, logger: false });
  await fastifyApp.listen({ host: '127.0.0.1', port: 0 });
  const appPort = (fastifyApp.server.address() as AddressInfo).port;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  const registrations = Array.from({ length: AGENTS }, (_, i) => registrationOf(i, 1, () => undefined));
  const leaseIds = new Array<string>(AGENTS);
  const registerStart = performance.now();
  await runPool(AGENTS, CONCURRENCY, async (i) => {
    const answer = JSON.parse(await post(agent, appPort, '/api/v1/agents/register', JSON.stringify(registrations[i]))) as { leaseId: string };
    leaseIds[i] = answer.leaseId;
  });
  const registerMs = performance.now() - registerStart;
  // Each beat carries the engine's load, moved since the agent's last beat (a busy vLLM's KV
  // cache and queue change within an interval): two rounds over the agents with two loads, so
  // that consecutive beats of one agent alternate. The load-only change is what a beat brings.
  const beatsFor = (ids: string[]): Target['beats'] =>
    LOADS.flatMap((load) =>
      registrations.map((r, i) => ({
        path: `/api/v1/agents/${r.agentId}/heartbeat`,
        body: JSON.stringify({ leaseId: ids[i], llms: [{ name: r.llms[0]?.name, health: 'ok', load }], gpus: [GPU] }),
      })),
    );
  const appTarget: Target = { port: appPort, beats: beatsFor(leaseIds) };

  // The bare server: the same parse, the same map update, an answer of the same shape.
  const bareServer = startBareServer(registrations);
  await new Promise<void>((resolve) => bareServer.server.listen(0, '127.0.0.1', resolve));
  const bareTarget: Target = {
    port: (bareServer.server.address() as AddressInfo).port,
    beats: beatsFor(registrations.map((r) => bareServer.leaseOf(r.agentId))),
  };

  // Short alternating rounds, so that drift in the machine's speed hits both alike; the
  // figures are medians over the rounds, the ratios medians of each round pair's ratio. The
  // process is one CPU-bound thread (server and load generator), so answers per second of its
  // own CPU time measure the same thing as wall-clock throughput, without the noise of other
  // processes taking the CPU away; both are reported, the CPU-based ratio is the headline.
  await hammer(agent, bareTarget, 500); // warm-up
  await hammer(agent, appTarget, 500);
  const app: Rates = { wall: [], cpu: [] };
  const bare: Rates = { wall: [], cpu: [] };
  const ratios: Rates = { wall: [], cpu: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const b = await hammer(agent, bareTarget, ROUND_MS);
    const a = await hammer(agent, appTarget, ROUND_MS);
    for (const k of ['wall', 'cpu'] as const) {
      bare[k].push(b[k]);
      app[k].push(a[k]);
      ratios[k].push(a[k] / b[k]);
    }
  }
  agent.destroy();
  await fastifyApp.close();
  await services.stop();
  await new Promise<void>((resolve) => bareServer.server.close(() => resolve()));
  return {
    agents: AGENTS,
    concurrency: CONCURRENCY,
    registrationsPerSecond: Math.round(AGENTS / (registerMs / 1000)),
    heartbeatsPerSecondFastify: Math.round(median(app.wall)),
    heartbeatsPerSecondBareHttp: Math.round(median(bare.wall)),
    heartbeatsPerCpuSecondFastify: Math.round(median(app.cpu)),
    heartbeatsPerCpuSecondBareHttp: Math.round(median(bare.cpu)),
    heartbeatRatio: round3(median(ratios.cpu)),
    heartbeatRatioWallClock: round3(median(ratios.wall)),
  };
}

interface Rates {
  wall: number[];
  cpu: number[];
}

/** Sends heartbeats round-robin over every agent for `durationMs`; answers per wall-clock and per CPU second. */
async function hammer(agent: Agent, target: Target, durationMs: number): Promise<{ wall: number; cpu: number }> {
  let next = 0;
  let done = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const beat = target.beats[next++ % target.beats.length];
        if (beat === undefined) break;
        await post(agent, target.port, beat.path, beat.body);
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuStart);
  return { wall: done / ((performance.now() - start) / 1000), cpu: done / ((cpu.user + cpu.system) / 1e6) };
}

interface BareLease {
  leaseId: string;
  lastHeartbeatAt: number;
  health: Map<string, string>;
  load: Map<string, unknown>;
}

function startBareServer(registrations: Registration[]): { server: Server; leaseOf: (agentId: string) => string } {
  const leases = new Map<string, BareLease>();
  registrations.forEach((r, i) => leases.set(r.agentId, { leaseId: `bare-${i}`, lastHeartbeatAt: 0, health: new Map(), load: new Map() }));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/api\/v1\/agents\/([^/]+)\/heartbeat$/.exec(req.url ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { leaseId: string; llms: { name: string; health: string; load?: unknown }[] };
      const lease = match?.[1] === undefined ? undefined : leases.get(match[1]);
      if (lease === undefined || lease.leaseId !== body.leaseId) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"LeaseNotFound","message":"no lease"}}');
        return;
      }
      lease.lastHeartbeatAt = Date.now();
      for (const llm of body.llms) {
        lease.health.set(llm.name, llm.health);
        if (llm.load !== undefined) lease.load.set(llm.name, llm.load);
      }
      const answer = {
        leaseId: lease.leaseId,
        ttlSeconds: 30,
        heartbeatIntervalSeconds: 10,
        revision: 'bench',
        desired: body.llms.map((l) => ({ name: l.name, poolName: null, enabled: true, declared: false })),
        rejected: [],
      };
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer));
    });
  });
  server.keepAliveTimeout = 72_000;
  return { server, leaseOf: (agentId) => leases.get(agentId)?.leaseId ?? '' };
}

// ---------------------------------------------------------------------------------------------
// /members and memory

async function measureMembers(): Promise<Record<string, number>> {
  const services = createBenchServices();
  await services.start();
  const app = await buildApp({ services, auth: null, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;

  // 100,000 registrations from 10,000 agents: one pool of 1,000, pools of 10 for the rest.
  const llmsPerAgent = REGISTRATIONS / AGENTS;
  const poolOf = (n: number): string | undefined => (n % 100 === 0 ? 'big-pool' : `pool-${Math.floor(n / 10)}`);
  collectGarbage();
  const before = process.memoryUsage();
  for (let i = 0; i < AGENTS; i++) await services.leases.register(registrationOf(i, llmsPerAgent, poolOf));
  services.state.refresh();
  collectGarbage();
  const after = process.memoryUsage();
  const poolSize = services.state.members('llm-0')?.pool.size ?? 0;
  if (poolSize !== BIG_POOL_SIZE) throw new Error(`bench setup: the big pool has ${poolSize} members, expected ${BIG_POOL_SIZE}`);

  const anchors = Array.from({ length: BIG_POOL_SIZE }, (_, i) => `llm-${i * 100}`);
  const retransBefore = tcpRetransmittedSegments();
  const latencies = await runMembersClient({ port, anchors, warmup: MEMBERS_WARMUP, count: MEMBERS_REQUESTS });
  const retrans = difference(tcpRetransmittedSegments(), retransBefore);
  latencies.sort((a, b) => a - b);
  // What a request pays when the pool's serialised answer has to be rebuilt (at most once per
  // POOL_ANSWER_MAX_AGE_MS, or after a real change in the pool): compute and serialise.
  const misses: number[] = [];
  for (let i = 0; i < 15; i++) {
    const start = performance.now();
    JSON.stringify(services.state.views('big-pool'));
    misses.push(performance.now() - start);
  }
  // The baseline for the same run: a bare node:http server handing the same client the same bytes
  // (one answer of the big pool, read from the reconciler) from a Buffer, with no work at all. It
  // says what this machine's loopback, HTTP stack and client cost for 1,000 members.
  const sample = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/api/v1/llms/${anchors[0] ?? ''}/members`)).arrayBuffer());
  await app.close();
  await services.stop();
  const bareRetransBefore = tcpRetransmittedSegments();
  const bare = await measureBareHttp(sample);
  const bareRetrans = difference(tcpRetransmittedSegments(), bareRetransBefore);
  const p99 = percentile(latencies, 0.99);
  return {
    registrations: REGISTRATIONS,
    membersPoolSize: BIG_POOL_SIZE,
    membersAnswerBytes: sample.length,
    membersP50Ms: round2(percentile(latencies, 0.5)),
    membersP99Ms: round2(p99),
    membersBareHttpP50Ms: round2(percentile(bare, 0.5)),
    membersBareHttpP99Ms: round2(percentile(bare, 0.99)),
    membersP99VsBareHttp: round2(p99 / percentile(bare, 0.99)),
    ...(retrans === undefined ? {} : { membersTcpRetransmits: retrans }),
    ...(bareRetrans === undefined ? {} : { membersBareHttpTcpRetransmits: bareRetrans }),
    membersRebuildMs: round2(median(misses)),
    heapBytesPerRegistration: Math.round((after.heapUsed - before.heapUsed) / REGISTRATIONS),
    rssBytesPerRegistration: Math.round((after.rss - before.rss) / REGISTRATIONS),
  };
}

/**
 * The machine's count of TCP segments sent again (Linux: /proc/net/snmp), undefined elsewhere.
 * On a 2-core VM, loopback segments of one 600 KB answer now and then arrive out of order; the
 * sender then retransmits and cuts its window, and that run's tail is the transfer's, for the
 * reconciler and the bare server alike. Read around each client run so that the figures show it.
 */
function tcpRetransmittedSegments(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/snmp', 'utf8');
  } catch {
    return undefined;
  }
  const [names, values] = text.split('\n').filter((line) => line.startsWith('Tcp:'));
  const at = names?.split(/\s+/).indexOf('RetransSegs') ?? -1;
  const value = at < 0 ? NaN : Number(values?.split(/\s+/)[at]);
  return Number.isFinite(value) ? value : undefined;
}

function difference(after: number | undefined, before: number | undefined): number | undefined {
  return after === undefined || before === undefined ? undefined : after - before;
}

/** The members client against a bare node:http server that answers every request with `body`. */
async function measureBareHttp(body: Buffer): Promise<number[]> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const latencies = await runMembersClient({ port, anchors: ['x'], warmup: MEMBERS_WARMUP, count: MEMBERS_REQUESTS });
    return latencies.sort((a, b) => a - b);
  } finally {
    server.close();
  }
}

/** Runs bench/members-client.ts in a worker thread and returns its latencies in milliseconds. */
function runMembersClient(job: MembersClientJob): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./members-client.js', import.meta.url), { workerData: job });
    worker.once('message', (message: { latencies?: number[]; error?: string }) => {
      if (message.latencies !== undefined) resolve(message.latencies);
      else reject(new Error(`the /members client failed: ${message.error ?? 'no reason given'}`));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

// ---------------------------------------------------------------------------------------------
// The load generator: keep-alive HTTP/1.1, bodies pre-serialised.

function post(agent: Agent, port: number, path: string, body: string): Promise<string> {
  return send(agent, port, 'POST', path, body);
}

function send(agent: Agent, port: number, method: string, path: string, body: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = httpRequest({ host: '127.0.0.1', port, method, path, agent, headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 400) reject(new Error(`${method} ${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        else resolve(text);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
