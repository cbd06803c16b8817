// Gateway benchmark (issue Phase 10): the real gateway (buildGateway over a fixed route table,
// with the undici Agent `mcpctl gateway` makes) against baselines measured in the same run.
//
// Three processes, so that no two of them share an event loop: this one generates the load with
// undici Pool clients and measures; bench/gateway-proxy.ts runs the gateway or the baseline proxy;
// bench/gateway-upstream.ts runs the fake model servers (several children where a member is
// killed). Parts, each printed as figures:
//
// - overhead: an upstream that answers at once, 64 clients in a closed loop, non-streamed; the
//   gateway's answers per CPU-second of its process ÷ those of a minimal pass-through proxy
//   (node:http + undici Pool, no routing, no parsing), in alternating rounds. Per CPU-second, as
//   bench/heartbeat does: the three processes share two cores with other work, so wall-clock
//   throughput says as much about the neighbours as about the proxy; a saturated single-threaded
//   proxy's requests/s is its answers per CPU-second. The wall-clock ratio is printed beside it.
// - latency: 500 requests/s, open loop (latency counted from each request's scheduled time), to
//   the upstream directly, through the pass-through proxy and through the gateway, in rotating
//   rounds: p99 gateway − p99 direct (the pass-through's figure beside it says what any proxy hop
//   costs on this machine).
// - streaming: 200 streams of 100 chunks 20 ms apart (starts spread over one interval), the same
//   three ways; each chunk carries the monotonic time the upstream wrote it, so its delay is
//   measured at arrival: p99 through the gateway − p99 direct.
// - memory: the RSS of a fresh gateway with 1,000 streams open (four members, as a pool spreads
//   them; one origin gets at most the Agent's 256 connections), and how long after the 1,000
//   clients go away the gateway has nothing left in flight.
// - routing: two members with four slots each, one four times slower (5 ms and 20 ms a request),
//   32 clients in a closed loop: least-load's p99 ÷ round-robin's p99.
// - failover: 2,000 requests from 32 clients to a pool of three members, one of which is killed
//   (SIGKILL) a third of the way through: requests that failed.
//
// Sizes come from the environment for quick runs and profiles: GATEWAY_BENCH_PARTS (a comma list
// of the parts above), GATEWAY_BENCH_ROUND_MS, GATEWAY_BENCH_ROUNDS, GATEWAY_BENCH_STREAMS,
// GATEWAY_BENCH_CHUNKS, GATEWAY_BENCH_STREAM_ROUNDS, GATEWAY_BENCH_OPEN_STREAMS,
// GATEWAY_BENCH_FAILOVER_REQUESTS; GATEWAY_BENCH_CPU_PROF=DIR runs the proxies under
// `node --cpu-prof` and writes their profiles to DIR. Prints nothing: the runner prints the figures.
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { Strategy } from '../gateway/routing.js';
import { BENCH_POOL, type ProxyAnswer, type ProxySpec } from './gateway-proxy.js';
import { monotonicMicros, type UpstreamMemberSpec, type UpstreamReady, type UpstreamSpec } from './gateway-upstream.js';
import { median, percentile, positiveIntFromEnv, round1, round2, round3 } from './measure.js';

const PARTS = ['overhead', 'latency', 'streaming', 'memory', 'routing', 'failover'] as const;
type Part = (typeof PARTS)[number];

const ROUND_MS = positiveIntFromEnv('GATEWAY_BENCH_ROUND_MS', 1_000);
const ROUNDS = positiveIntFromEnv('GATEWAY_BENCH_ROUNDS', 6);
const OVERHEAD_CLIENTS = 64;
const LATENCY_RATE_PER_S = 500;
const STREAMS = positiveIntFromEnv('GATEWAY_BENCH_STREAMS', 200);
const STREAM_CHUNKS = positiveIntFromEnv('GATEWAY_BENCH_CHUNKS', 100);
const STREAM_INTERVAL_MS = 20;
const STREAM_ROUNDS = positiveIntFromEnv('GATEWAY_BENCH_STREAM_ROUNDS', 2);
const OPEN_STREAMS = positiveIntFromEnv('GATEWAY_BENCH_OPEN_STREAMS', 1_000);
const OPEN_STREAM_MEMBERS = 4;
/** How long the memory part waits for the gateway to let go of streams whose clients left. */
const RELEASE_WAIT_MS = 5_000;
const ROUTING_CLIENTS = 32;
const ROUTING_SLOTS = 4;
const ROUTING_FAST_MS = 5;
const ROUTING_SLOW_MS = 20;
const FAILOVER_REQUESTS = positiveIntFromEnv('GATEWAY_BENCH_FAILOVER_REQUESTS', 2_000);
const FAILOVER_CLIENTS = 32;
const FAILOVER_SERVICE_MS = 2;
const CPU_PROFILE_DIR = process.env['GATEWAY_BENCH_CPU_PROF'];

const MiB = 1024 * 1024;
const JSON_HEADERS = { 'content-type': 'application/json' };
const CHAT_BODY = JSON.stringify({ model: BENCH_POOL, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 16 });

type Figures = Record<string, number | string>;

export async function runGatewayBench(): Promise<{ name: string; figures: Figures; targets: Record<string, string> }> {
  const parts = selectedParts();
  const figures: Figures = {};
  if (parts.has('overhead') || parts.has('latency') || parts.has('streaming')) Object.assign(figures, await measureOneMember(parts));
  if (parts.has('memory')) Object.assign(figures, await measureOpenStreams());
  if (parts.has('routing')) Object.assign(figures, await measureRouting());
  if (parts.has('failover')) Object.assign(figures, await measureFailover());
  return {
    name: 'pool gateway: overhead, streaming, memory, routing, failover',
    figures,
    targets: {
      overheadRatio: '≥ 0.85',
      latencyP99AddedMs: '≤ 2',
      streamChunkP99AddedMs: '≤ 1',
      openStreamsRssMiB: '≤ 200',
      routingP99Ratio: '≤ 0.6',
      failoverFailed: '≤ 0',
    },
  };
}

function selectedParts(): Set<Part> {
  const text = process.env['GATEWAY_BENCH_PARTS'];
  if (text === undefined || text.trim() === '') return new Set(PARTS);
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(PARTS as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`GATEWAY_BENCH_PARTS: no part named ${unknown.join(', ')}; known: ${PARTS.join(', ')}`);
  return new Set(names as Part[]);
}

// ---------------------------------------------------------------------------------------------
// Child processes

/** Forks a bench script with its spec, and waits for its first message, which says it is ready. */
async function forkChild<Ready>(file: string, spec: unknown, execArgv: string[]): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [JSON.stringify(spec)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`bench/${file} exited (${String(code)}) before it was ready`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as Ready);
    });
  });
  return { child, ready };
}

/** Ends a child the way that lets it write its CPU profile: it exits when the IPC channel closes. */
function closeChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.disconnect();
  });
}

class Upstream {
  private constructor(
    readonly child: ChildProcess,
    readonly ports: number[],
  ) {}

  static async start(members: UpstreamMemberSpec[]): Promise<Upstream> {
    const spec: UpstreamSpec = { members };
    const { child, ready } = await forkChild<UpstreamReady>('gateway-upstream.js', spec, []);
    return new Upstream(child, ready.ports);
  }

  /** The OpenAI API base of each member, as the reconciler would serve it. */
  memberUrls(): string[] {
    return this.ports.map((port) => `http://127.0.0.1:${port}/v1`);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  close(): Promise<void> {
    return closeChild(this.child);
  }
}

class ProxyProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: ProxyAnswer) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (answer: ProxyAnswer) => {
      this.waiting.get(answer.id)?.(answer);
      this.waiting.delete(answer.id);
    });
  }

  static async start(spec: ProxySpec): Promise<ProxyProcess> {
    const execArgv = ['--expose-gc'];
    if (CPU_PROFILE_DIR !== undefined && CPU_PROFILE_DIR !== '') execArgv.push('--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`, `--cpu-prof-name=${spec.kind}-${Date.now()}.cpuprofile`);
    const { child, ready } = await forkChild<{ port: number }>('gateway-proxy.js', spec, execArgv);
    return new ProxyProcess(child, ready.port);
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async cpuMicros(): Promise<number> {
    return (await this.ask({ ask: 'cpu' })).cpuMicros ?? 0;
  }

  async memory(collectFirst: boolean): Promise<{ rssBytes: number; heapUsedBytes: number }> {
    const answer = await this.ask({ ask: 'memory', collectFirst });
    return { rssBytes: answer.rssBytes ?? 0, heapUsedBytes: answer.heapUsedBytes ?? 0 };
  }

  /** The event loop's delay since the last call (p99, max, in ms); starts a new period. */
  async loopDelay(): Promise<{ p99Ms: number; maxMs: number }> {
    const answer = await this.ask({ ask: 'loopDelay' });
    return { p99Ms: answer.loopDelayP99Ms ?? 0, maxMs: answer.loopDelayMaxMs ?? 0 };
  }

  /** Runs `work` and says what it cost this process: CPU as a share of one core, the event loop's delay. */
  async observe<T>(work: () => Promise<T>): Promise<{ result: T; cpuShare: number; loopDelayP99Ms: number; loopDelayMaxMs: number }> {
    await this.loopDelay();
    const cpuBefore = await this.cpuMicros();
    const start = performance.now();
    const result = await work();
    const cpuShare = ((await this.cpuMicros()) - cpuBefore) / 1000 / (performance.now() - start);
    const delay = await this.loopDelay();
    return { result, cpuShare, loopDelayP99Ms: delay.p99Ms, loopDelayMaxMs: delay.maxMs };
  }

  async metricsText(): Promise<string> {
    return (await this.ask({ ask: 'metrics' })).metricsText ?? '';
  }

  close(): Promise<void> {
    return closeChild(this.child);
  }

  private ask(question: { ask: 'cpu' } | { ask: 'memory'; collectFirst: boolean } | { ask: 'metrics' } | { ask: 'loopDelay' }): Promise<ProxyAnswer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, ...question });
    });
  }
}

/** The sum of a counter's samples in Prometheus text (every label set). */
function counterTotal(metricsText: string, name: string): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Load

function clientPool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, keepAliveTimeout: 60_000 });
}

/** One non-streamed chat completion; the answer is read whole, as a client does. Resolves with the member that answered. */
async function chat(pool: Pool): Promise<string> {
  const { statusCode, headers, body } = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: JSON_HEADERS, body: CHAT_BODY });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`HTTP ${statusCode}: ${text.slice(0, 200)}`);
  const member = headers['x-mcpctl-member'];
  return typeof member === 'string' ? member : '';
}

/** `clients` loops sending one request after another for `durationMs`; answers, and each one's latency in ms. */
async function closedLoop(pool: Pool, clients: number, durationMs: number): Promise<{ answers: number; wallMs: number; latenciesMs: number[]; members: string[] }> {
  const latenciesMs: number[] = [];
  const members: string[] = [];
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        members.push(await chat(pool));
        latenciesMs.push(performance.now() - sent);
      }
    }),
  );
  return { answers: latenciesMs.length, wallMs: performance.now() - start, latenciesMs, members };
}

/** Requests at a fixed rate whatever the answers do; each latency counts from the request's scheduled time. */
async function openLoop(pool: Pool, ratePerSecond: number, durationMs: number): Promise<number[]> {
  const intervalMs = 1000 / ratePerSecond;
  const total = Math.round(durationMs / intervalMs);
  const latenciesMs: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && start + sent * intervalMs <= now) {
      const scheduled = start + sent * intervalMs;
      sent++;
      pending.push(chat(pool).then(() => void latenciesMs.push(performance.now() - scheduled)));
    }
    await sleep(Math.max(0, start + sent * intervalMs - performance.now()));
  }
  await Promise.all(pending);
  return latenciesMs;
}

interface OpenStream {
  /** Resolves when the stream ended with [DONE] after every chunk. */
  done: Promise<void>;
  /** Resolves at the first chunk. */
  started: Promise<void>;
  destroy(): void;
}

/**
 * One streamed chat completion of `chunks` chunks; the delay of each chunk (its arrival minus the
 * upstream's stamp, in µs) goes to `delaysMicros`. A stream that does not end with every chunk
 * and [DONE] rejects: a benchmark of a wrong answer measures nothing.
 */
async function openStream(pool: Pool, chunks: number, delaysMicros: number[] | null): Promise<OpenStream> {
  const body = JSON.stringify({ model: BENCH_POOL, messages: [{ role: 'user', content: 'Count.' }], stream: true, max_tokens: chunks });
  const answer = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: JSON_HEADERS, body });
  if (answer.statusCode !== 200) throw new Error(`stream: HTTP ${answer.statusCode}: ${(await answer.body.text()).slice(0, 200)}`);
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const done = new Promise<void>((resolve, reject) => {
    let tail = '';
    let seen = 0;
    let finished = false;
    answer.body.on('data', (chunk: Buffer) => {
      const arrivedMicros = monotonicMicros();
      markStarted();
      const events = (tail + chunk.toString('utf8')).split('\n\n');
      tail = events.pop() ?? '';
      for (const event of events) {
        if (event === 'data: [DONE]') {
          finished = true;
          continue;
        }
        const stamp = /"t":(\d+)/.exec(event);
        if (stamp === null) continue;
        seen++;
        delaysMicros?.push(arrivedMicros - Number(stamp[1]));
      }
    });
    answer.body.on('end', () => (finished && seen === chunks ? resolve() : reject(new Error(`stream ended after ${seen} of ${chunks} chunks${finished ? '' : ', without [DONE]'}`))));
    answer.body.on('error', reject);
  });
  return { done, started, destroy: () => answer.body.destroy() };
}

/** `streams` streams of `chunks` chunks, their starts spread over one chunk interval; each chunk's delay in µs. */
async function streamRound(pool: Pool, streams: number, chunks: number): Promise<number[]> {
  const delaysMicros: number[] = [];
  await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      await sleep((i * STREAM_INTERVAL_MS) / streams);
      await (await openStream(pool, chunks, delaysMicros)).done;
    }),
  );
  return delaysMicros;
}

/**
 * What the gateway's process did while it was measured, over the rounds: its CPU as a share of one
 * core (median; well under 1: the gateway was not saturated), and how late its event loop ran a
 * 1 ms timer (the worst round's p99 and max): a chunk or an answer that arrives while the loop is
 * late waits that long, whether the loop was busy or the process was waiting for a core.
 */
class LoopFigures {
  private readonly cpuShares: number[] = [];
  private delayP99Ms = 0;
  private delayMaxMs = 0;

  add<T>(observed: { result: T; cpuShare: number; loopDelayP99Ms: number; loopDelayMaxMs: number }): T {
    this.cpuShares.push(observed.cpuShare);
    this.delayP99Ms = Math.max(this.delayP99Ms, observed.loopDelayP99Ms);
    this.delayMaxMs = Math.max(this.delayMaxMs, observed.loopDelayMaxMs);
    return observed.result;
  }

  figures(prefix: string): Figures {
    return {
      [`${prefix}CpuShare`]: round3(median(this.cpuShares)),
      [`${prefix}LoopDelayP99Ms`]: round2(this.delayP99Ms),
      [`${prefix}LoopDelayMaxMs`]: round2(this.delayMaxMs),
    };
  }
}

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// Overhead, latency and streaming: one member that answers at once

async function measureOneMember(parts: Set<Part>): Promise<Figures> {
  const upstream = await Upstream.start([{ serviceMs: 0, slots: null, intervalMs: STREAM_INTERVAL_MS }]);
  const upstreamOrigin = new URL(upstream.memberUrls()[0] ?? '').origin;
  const gateway = await ProxyProcess.start({ kind: 'gateway', strategy: 'least-load', memberUrls: upstream.memberUrls() });
  const passthrough = await ProxyProcess.start({ kind: 'passthrough', upstreamOrigin });
  const figures: Figures = {};
  try {
    if (parts.has('overhead')) Object.assign(figures, await measureOverhead(gateway, passthrough));
    if (parts.has('latency')) Object.assign(figures, await measureLatency(gateway, passthrough, upstreamOrigin));
    if (parts.has('streaming')) Object.assign(figures, await measureStreaming(gateway, passthrough, upstreamOrigin));
  } finally {
    await passthrough.close();
    await gateway.close();
    await upstream.close();
  }
  return figures;
}

/** Where a latency part sends its load: the upstream itself, or through one of the proxies. */
interface Route {
  name: 'direct' | 'passthrough' | 'gateway';
  pool: Pool;
  proxy: ProxyProcess | null;
}

function routesOf(gateway: ProxyProcess, passthrough: ProxyProcess, upstreamOrigin: string, connections: number): Route[] {
  return [
    { name: 'direct', pool: clientPool(upstreamOrigin, connections), proxy: null },
    { name: 'passthrough', pool: clientPool(passthrough.origin, connections), proxy: passthrough },
    { name: 'gateway', pool: clientPool(gateway.origin, connections), proxy: gateway },
  ];
}

/**
 * Runs `round` on every route, `rounds` times, each round starting with the next route (drift in
 * the machine's speed hits them alike); each route's samples, sorted, and what its proxy did.
 */
async function rotate(routes: Route[], rounds: number, round: (pool: Pool) => Promise<number[]>): Promise<Map<Route['name'], { sorted: number[]; loop: LoopFigures }>> {
  const out = new Map(routes.map((r) => [r.name, { samples: [] as number[], loop: new LoopFigures() }]));
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < routes.length; k++) {
      const route = routes[(i + k) % routes.length] as Route;
      const entry = out.get(route.name) as { samples: number[]; loop: LoopFigures };
      const samples = route.proxy === null ? await round(route.pool) : entry.loop.add(await route.proxy.observe(() => round(route.pool)));
      entry.samples.push(...samples);
    }
  }
  return new Map([...out].map(([name, { samples, loop }]) => [name, { sorted: sorted(samples), loop }]));
}

interface Throughput {
  perWallSecond: number;
  perCpuSecond: number;
  cpuMicrosPerAnswer: number;
}

async function throughputRound(proxy: ProxyProcess, pool: Pool, durationMs: number): Promise<Throughput> {
  const cpuBefore = await proxy.cpuMicros();
  const round = await closedLoop(pool, OVERHEAD_CLIENTS, durationMs);
  const cpuMicros = (await proxy.cpuMicros()) - cpuBefore;
  return { perWallSecond: round.answers / (round.wallMs / 1000), perCpuSecond: round.answers / (cpuMicros / 1e6), cpuMicrosPerAnswer: cpuMicros / round.answers };
}

async function measureOverhead(gateway: ProxyProcess, passthrough: ProxyProcess): Promise<Figures> {
  const gatewayPool = clientPool(gateway.origin, OVERHEAD_CLIENTS);
  const passthroughPool = clientPool(passthrough.origin, OVERHEAD_CLIENTS);
  try {
    // Warm-up: every side's code compiled, every connection open.
    await throughputRound(passthrough, passthroughPool, 500);
    await throughputRound(gateway, gatewayPool, 500);
    const gw: Throughput[] = [];
    const pt: Throughput[] = [];
    const cpuRatios: number[] = [];
    const wallRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternating which goes first, so that drift in the machine's speed hits both alike.
      const first = round % 2 === 0;
      const p = first ? await throughputRound(passthrough, passthroughPool, ROUND_MS) : undefined;
      const g = await throughputRound(gateway, gatewayPool, ROUND_MS);
      const p2 = p ?? (await throughputRound(passthrough, passthroughPool, ROUND_MS));
      gw.push(g);
      pt.push(p2);
      cpuRatios.push(g.perCpuSecond / p2.perCpuSecond);
      wallRatios.push(g.perWallSecond / p2.perWallSecond);
    }
    return {
      overheadClients: OVERHEAD_CLIENTS,
      gatewayPerCpuSecond: Math.round(median(gw.map((t) => t.perCpuSecond))),
      passthroughPerCpuSecond: Math.round(median(pt.map((t) => t.perCpuSecond))),
      gatewayCpuMicrosPerRequest: round1(median(gw.map((t) => t.cpuMicrosPerAnswer))),
      passthroughCpuMicrosPerRequest: round1(median(pt.map((t) => t.cpuMicrosPerAnswer))),
      gatewayPerSecond: Math.round(median(gw.map((t) => t.perWallSecond))),
      passthroughPerSecond: Math.round(median(pt.map((t) => t.perWallSecond))),
      overheadRatio: round3(median(cpuRatios)),
      overheadRatioWallClock: round3(median(wallRatios)),
    };
  } finally {
    await gatewayPool.close();
    await passthroughPool.close();
  }
}

/**
 * p50 and p99 through the gateway, the pass-through and directly, and what each proxy adds at
 * p99: `${name}GatewayP50Ms` … `${name}P99AddedMs`, `${name}PassthroughP99AddedMs`, in ms.
 */
function percentileFigures(name: string, results: Map<Route['name'], { sorted: number[] }>, toMs: (value: number) => number): Figures {
  const g = results.get('gateway')?.sorted ?? [];
  const p = results.get('passthrough')?.sorted ?? [];
  const d = results.get('direct')?.sorted ?? [];
  return {
    [`${name}GatewayP50Ms`]: toMs(percentile(g, 0.5)),
    [`${name}GatewayP99Ms`]: toMs(percentile(g, 0.99)),
    [`${name}PassthroughP50Ms`]: toMs(percentile(p, 0.5)),
    [`${name}PassthroughP99Ms`]: toMs(percentile(p, 0.99)),
    [`${name}DirectP50Ms`]: toMs(percentile(d, 0.5)),
    [`${name}DirectP99Ms`]: toMs(percentile(d, 0.99)),
    [`${name}P99AddedMs`]: toMs(percentile(g, 0.99) - percentile(d, 0.99)),
    [`${name}PassthroughP99AddedMs`]: toMs(percentile(p, 0.99) - percentile(d, 0.99)),
  };
}

async function measureLatency(gateway: ProxyProcess, passthrough: ProxyProcess, upstreamOrigin: string): Promise<Figures> {
  const routes = routesOf(gateway, passthrough, upstreamOrigin, OVERHEAD_CLIENTS);
  try {
    for (const route of routes) await openLoop(route.pool, LATENCY_RATE_PER_S, 300);
    const results = await rotate(routes, ROUNDS, (pool) => openLoop(pool, LATENCY_RATE_PER_S, ROUND_MS));
    return {
      latencyRatePerSecond: LATENCY_RATE_PER_S,
      ...percentileFigures('latency', results, round2),
      ...results.get('gateway')?.loop.figures('latencyGateway'),
      ...results.get('passthrough')?.loop.figures('latencyPassthrough'),
    };
  } finally {
    for (const route of routes) await route.pool.close();
  }
}

async function measureStreaming(gateway: ProxyProcess, passthrough: ProxyProcess, upstreamOrigin: string): Promise<Figures> {
  const routes = routesOf(gateway, passthrough, upstreamOrigin, STREAMS);
  try {
    for (const route of routes) await streamRound(route.pool, STREAMS, 5);
    const results = await rotate(routes, STREAM_ROUNDS, (pool) => streamRound(pool, STREAMS, STREAM_CHUNKS));
    return {
      streams: STREAMS,
      streamChunks: STREAM_CHUNKS,
      // Chunk delays are measured in microseconds.
      ...percentileFigures('streamChunk', results, (micros) => round3(micros / 1000)),
      ...results.get('gateway')?.loop.figures('streamGateway'),
      ...results.get('passthrough')?.loop.figures('streamPassthrough'),
    };
  } finally {
    for (const route of routes) await route.pool.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Memory with 1,000 open streams

async function measureOpenStreams(): Promise<Figures> {
  const members: UpstreamMemberSpec[] = Array.from({ length: OPEN_STREAM_MEMBERS }, () => ({ serviceMs: 0, slots: null, intervalMs: 100 }));
  const upstream = await Upstream.start(members);
  const gateway = await ProxyProcess.start({ kind: 'gateway', strategy: 'least-load', memberUrls: upstream.memberUrls() });
  const pool = clientPool(gateway.origin, OPEN_STREAMS);
  try {
    // The gateway's code warmed up as in service, then its memory at rest.
    await closedLoop(pool, 16, 300);
    await streamRound(pool, 16, 3);
    const idle = await gateway.memory(true);
    // Streams long enough to stay open while measured (1,000 chunks 100 ms apart).
    const open = await Promise.all(Array.from({ length: OPEN_STREAMS }, () => openStream(pool, 1_000, null)));
    await Promise.all(open.map((s) => s.started));
    let peakRss = 0;
    for (let i = 0; i < 5; i++) {
      peakRss = Math.max(peakRss, (await gateway.memory(false)).rssBytes);
      await sleep(200);
    }
    const collected = await gateway.memory(true);
    peakRss = Math.max(peakRss, collected.rssBytes);
    // The clients go away: the gateway must abort every upstream request.
    const goneAt = performance.now();
    for (const stream of open) {
      stream.done.catch(() => {});
      stream.destroy();
    }
    // Not an exception when some are left: the figure says so, and the other parts still run.
    let released: number | string = '';
    while (released === '') {
      const left = counterTotal(await gateway.metricsText(), 'mcpctl_gateway_in_flight');
      const waitedMs = performance.now() - goneAt;
      if (left === 0) released = Math.round(waitedMs);
      else if (waitedMs > RELEASE_WAIT_MS) released = `never: ${left} of ${OPEN_STREAMS} still in flight ${RELEASE_WAIT_MS / 1000} s after their clients went away`;
      else await sleep(10);
    }
    return {
      openStreams: OPEN_STREAMS,
      idleRssMiB: round1(idle.rssBytes / MiB),
      openStreamsRssMiB: round1(peakRss / MiB),
      openStreamsHeapMiB: round1(collected.heapUsedBytes / MiB),
      rssKiBPerOpenStream: round1((peakRss - idle.rssBytes) / 1024 / OPEN_STREAMS),
      openStreamsReleasedMs: released,
    };
  } finally {
    await pool.destroy();
    await gateway.close();
    await upstream.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Routing: least-load against round-robin, one member four times slower

async function measureRouting(): Promise<Figures> {
  const upstream = await Upstream.start([
    { serviceMs: ROUTING_FAST_MS, slots: ROUTING_SLOTS, intervalMs: STREAM_INTERVAL_MS },
    { serviceMs: ROUTING_SLOW_MS, slots: ROUTING_SLOTS, intervalMs: STREAM_INTERVAL_MS },
  ]);
  const strategies: Strategy[] = ['least-load', 'round-robin'];
  const gateways = await Promise.all(strategies.map((strategy) => ProxyProcess.start({ kind: 'gateway', strategy, memberUrls: upstream.memberUrls() })));
  const pools = gateways.map((g) => clientPool(g.origin, ROUTING_CLIENTS));
  try {
    const latencies: number[][] = strategies.map(() => []);
    const answers = strategies.map(() => 0);
    // buildRouteTable names the members member-0… in the order of their URLs: member-1 is the slow one.
    const slowAnswers = strategies.map(() => 0);
    for (const pool of pools) await closedLoop(pool, ROUTING_CLIENTS, 300);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const result = await closedLoop(pools[i] as Pool, ROUTING_CLIENTS, ROUND_MS);
        latencies[i]?.push(...result.latenciesMs);
        answers[i] = (answers[i] ?? 0) + result.answers;
        slowAnswers[i] = (slowAnswers[i] ?? 0) + result.members.filter((m) => m === 'member-1').length;
      }
    }
    const [leastLoad, roundRobin] = latencies.map(sorted) as [number[], number[]];
    const seconds = (ROUNDS * ROUND_MS) / 1000;
    return {
      routingClients: ROUTING_CLIENTS,
      routingLeastLoadP50Ms: round1(percentile(leastLoad, 0.5)),
      routingLeastLoadP99Ms: round1(percentile(leastLoad, 0.99)),
      routingRoundRobinP50Ms: round1(percentile(roundRobin, 0.5)),
      routingRoundRobinP99Ms: round1(percentile(roundRobin, 0.99)),
      routingLeastLoadPerSecond: Math.round((answers[0] ?? 0) / seconds),
      routingRoundRobinPerSecond: Math.round((answers[1] ?? 0) / seconds),
      routingLeastLoadSlowShare: round3((slowAnswers[0] ?? 0) / (answers[0] ?? 1)),
      routingRoundRobinSlowShare: round3((slowAnswers[1] ?? 0) / (answers[1] ?? 1)),
      routingP99Ratio: round3(percentile(leastLoad, 0.99) / percentile(roundRobin, 0.99)),
    };
  } finally {
    for (const pool of pools) await pool.close();
    for (const gateway of gateways) await gateway.close();
    await upstream.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Failover: one of three members killed during the run

async function measureFailover(): Promise<Figures> {
  // One process per member, so that the killed one dies as a crashed engine does.
  const upstreams = await Promise.all([0, 1, 2].map(() => Upstream.start([{ serviceMs: FAILOVER_SERVICE_MS, slots: null, intervalMs: STREAM_INTERVAL_MS }])));
  const memberUrls = upstreams.map((u) => u.memberUrls()[0] ?? '');
  const gateway = await ProxyProcess.start({ kind: 'gateway', strategy: 'least-load', memberUrls });
  const pool = clientPool(gateway.origin, FAILOVER_CLIENTS);
  const killed = upstreams[1] as Upstream;
  // buildRouteTable names the members member-0… in the order of their URLs.
  const killedName = 'member-1';
  try {
    const killAt = Math.floor(FAILOVER_REQUESTS / 3);
    let next = 0;
    let done = 0;
    let failed = 0;
    let killedAnsweredBefore = 0;
    let killedYet = false;
    const errors = new Map<string, number>();
    await Promise.all(
      Array.from({ length: FAILOVER_CLIENTS }, async () => {
        while (next < FAILOVER_REQUESTS) {
          next++;
          try {
            const member = await chat(pool);
            if (member === killedName && !killedYet) killedAnsweredBefore++;
          } catch (error) {
            failed++;
            const reason = (error as Error).message.slice(0, 120);
            errors.set(reason, (errors.get(reason) ?? 0) + 1);
          }
          if (++done === killAt) {
            killedYet = true;
            killed.kill();
          }
        }
      }),
    );
    if (killedAnsweredBefore === 0) throw new Error(`bench setup: ${killedName} answered nothing before it was killed`);
    const metricsText = await gateway.metricsText();
    const figures: Figures = {
      failoverRequests: FAILOVER_REQUESTS,
      failoverKilledAfter: killAt,
      failoverRetries: counterTotal(metricsText, 'mcpctl_gateway_retries_total'),
      failoverCooldowns: counterTotal(metricsText, 'mcpctl_gateway_cooldowns_total'),
      failoverFailed: failed,
    };
    if (errors.size > 0) figures['failoverErrors'] = [...errors].map(([reason, n]) => `${n}× ${reason}`).join('; ');
    return figures;
  } finally {
    await pool.close();
    await gateway.close();
    for (const upstream of upstreams) await upstream.close();
  }
}
