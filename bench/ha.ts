// Several-reconcilers benchmark (DESIGN §9): N agents heartbeating through two reconcilers on one
// local etcd, against the same load through one reconciler on the file store, in one run. The
// reconcilers are real child processes (`mcpctl reconciler`); the agents are an in-process load
// generator (keep-alive HTTP/1.1, bodies pre-serialised) that moves an agent to its next server on
// a refused connection or a 503, as agents do. Figures: heartbeat ingest of both and their ratio;
// etcd's revision growth per second under the fleet's real pace and flat out; after kill -9 of one
// reconciler, the registrations lost and the members stale on the survivor. Prints nothing: the
// bench runner prints the figures. MCPCTL_BENCH_HA_AGENTS shrinks the fleet for a quick run,
// MCPCTL_BENCH_HA_ROUNDS sets the number of alternating rounds (5).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Gpu, Load, Registration } from '../schema/agent-protocol.js';
import type { LlmView } from '../schema/views.js';
import { ETCD_INSTALL_HINT, isEtcdInstalled, readEtcdRevision, startLocalEtcd, type LocalEtcd } from '../service/local-etcd.js';
import { median, positiveIntFromEnv, round1, round3, runPool } from './measure.js';

const BIN = fileURLToPath(new URL('../cli/bin.js', import.meta.url));
const AGENTS = positiveIntFromEnv('MCPCTL_BENCH_HA_AGENTS', 10_000);
const CONCURRENCY = 64;
const ROUND_MS = 2_000;
const ROUNDS = positiveIntFromEnv('MCPCTL_BENCH_HA_ROUNDS', 5);
/** The reconcilers' --heartbeat-interval and --ttl: the defaults a fleet runs with. */
const HEARTBEAT_INTERVAL_S = 10;
const TTL_S = 30;
/** The steady-state window: every agent beats once per interval, as a real fleet does. */
const PACED_MS = 10_000;
/** After the kill: at least this long, and until every agent has beaten through the survivor. */
const FAILOVER_MIN_MS = 5_000;
const FAILOVER_MAX_MS = 30_000;
const STORE_PREFIX = '/mcpctl-bench/';

const LOADS: Load[] = [
  { running: 3, waiting: 1, kvCacheUsage: 0.42 },
  { running: 4, waiting: 0, kvCacheUsage: 0.47 },
];
const GPU: Gpu = { index: 0, name: 'NVIDIA H100', memoryTotalMiB: 81559, memoryUsedMiB: 40_000, utilizationPct: 55 };

export const HA_TARGETS: Record<string, string> = {
  ingestRatio: '≥ 0.8',
  etcdRevisionsPerSecondPaced: '≤ 20',
  etcdRevisionsPerSecondFlatOut: '≤ 20',
  registrationsLostAfterKill: '≤ 0',
  membersStaleAfterKill: '≤ 0',
};

export async function runHaBench(): Promise<{ name: string; figures: Record<string, number | string>; targets: Record<string, string> }> {
  const name = `two reconcilers on one etcd vs one on the file store, ${AGENTS.toLocaleString('en-US')} agents`;
  if (!isEtcdInstalled()) return { name: `${name}: skipped (${ETCD_INSTALL_HINT})`, figures: {}, targets: {} };
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpctl-bench-ha-'));
  const children: ReconcilerChild[] = [];
  let etcd: LocalEtcd | null = null;
  try {
    const worktree = path.join(dir, 'repo');
    await mkdir(path.join(worktree, 'llms'), { recursive: true });
    etcd = await startLocalEtcd(dir);
    const common = ['reconciler', '--worktree', worktree, '--listen', '127.0.0.1:0', '--heartbeat-interval', `${HEARTBEAT_INTERVAL_S}s`, '--ttl', `${TTL_S}s`];
    const etcdFlags = ['--store', `etcd://${etcd.endpoint}`, '--store-prefix', STORE_PREFIX];
    const started = await Promise.all([
      startReconciler([...common, '--state-dir', path.join(dir, 'state')]),
      startReconciler([...common, ...etcdFlags]),
      startReconciler([...common, ...etcdFlags]),
    ]);
    children.push(...started);
    const [file, haA, haB] = started as [ReconcilerChild, ReconcilerChild, ReconcilerChild];
    return { name, figures: await measure(etcd, file, haA, haB), targets: HA_TARGETS };
  } finally {
    for (const child of children) await child.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(etcd: LocalEtcd, file: ReconcilerChild, haA: ReconcilerChild, haB: ReconcilerChild): Promise<Record<string, number | string>> {
  // Two fleets of the same shape: one on the file store, one whose agent i starts on reconciler
  // i % 2 and lists the other as its second server.
  const fileFleet = createFleet('file', [file.url], () => [0]);
  // MCPCTL_BENCH_HA_ONE_SERVER=1 starts every agent on A (B only watches): the etcd store's own
  // cost per beat, apart from the cost of splitting the fleet over two processes.
  const allOnA = process.env.MCPCTL_BENCH_HA_ONE_SERVER === '1';
  const haFleet = createFleet('ha', [haA.url, haB.url], (i) => (allOnA || i % 2 === 0 ? [0, 1] : [1, 0]));
  const fileRegisterMs = await registerFleet(fileFleet);
  const haRegisterMs = await registerFleet(haFleet);

  await hammer(fileFleet, 500); // warm-up: the routes' code compiled, the connections open
  await hammer(haFleet, 500);

  // Alternating rounds, so that drift in the machine's speed (other work on its two cores) hits
  // both alike; the figures are medians over the rounds, the ratio the median of each pair's.
  const fileRates: number[] = [];
  const haRates: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const revisionRates: number[] = [];
  // Where the CPU goes, in ms per 1,000 beats: the load generator (this process), the reconcilers, etcd.
  const cpu = { fileGenerator: 0, fileReconciler: 0, fileBeats: 0, haGenerator: 0, haA: 0, haB: 0, etcd: 0, haBeats: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const fileCpu = readCpuSeconds([file.child]);
    const fileGenerator = process.cpuUsage();
    const f = await hammer(fileFleet, ROUND_MS);
    const fileGeneratorUsed = process.cpuUsage(fileGenerator);
    const fileCpuUsed = readCpuSeconds([file.child]) - fileCpu;
    const haACpu = readCpuSeconds([haA.child]);
    const haBCpu = readCpuSeconds([haB.child]);
    const etcdCpu = readCpuSeconds([etcd.child]);
    const revisionBefore = await readEtcdRevision(etcd.clientUrl);
    const haGenerator = process.cpuUsage();
    const h = await hammer(haFleet, ROUND_MS);
    const haGeneratorUsed = process.cpuUsage(haGenerator);
    // Read a beats batch later, so that the round's last beats are written and counted.
    await sleep(1_100);
    const revisionAfter = await readEtcdRevision(etcd.clientUrl);
    const haAUsed = readCpuSeconds([haA.child]) - haACpu;
    const haBUsed = readCpuSeconds([haB.child]) - haBCpu;
    const haReconcilersUsed = haAUsed + haBUsed;
    const etcdUsed = readCpuSeconds([etcd.child]) - etcdCpu;
    const haCpuUsed = haReconcilersUsed + etcdUsed;
    cpu.fileGenerator += (fileGeneratorUsed.user + fileGeneratorUsed.system) / 1e6;
    cpu.fileReconciler += fileCpuUsed;
    cpu.fileBeats += f.beats;
    cpu.haGenerator += (haGeneratorUsed.user + haGeneratorUsed.system) / 1e6;
    cpu.haA += haAUsed;
    cpu.haB += haBUsed;
    cpu.etcd += etcdUsed;
    cpu.haBeats += h.beats;
    fileRates.push(f.beatsPerSecond);
    haRates.push(h.beatsPerSecond);
    ratios.push(h.beatsPerSecond / f.beatsPerSecond);
    if (fileCpuUsed > 0 && haCpuUsed > 0) cpuRatios.push(h.beats / haCpuUsed / (f.beats / fileCpuUsed));
    revisionRates.push((revisionAfter - revisionBefore) / ((h.ms + 1_100) / 1000));
  }

  // Steady state: every agent once per heartbeat interval, as the fleet runs between deploys.
  const pacedRevisionBefore = await readEtcdRevision(etcd.clientUrl);
  const pacedStart = performance.now();
  const paced = await pace(haFleet, AGENTS / HEARTBEAT_INTERVAL_S, PACED_MS);
  const pacedRevisionAfter = await readEtcdRevision(etcd.clientUrl);
  const pacedSeconds = (performance.now() - pacedStart) / 1000;

  // kill -9 of reconciler A while the agents beat: its agents move to B, which must know them all.
  const failover = await hammerThroughKill(haFleet, haA);
  const survivor = await listLlms(haB.url);
  const byName = new Map(survivor.map((view) => [view.metadata.name, view]));
  const lost = haFleet.registrations.filter((r) => !byName.has(r.llms[0]?.name ?? '')).length;
  const stale = haFleet.registrations.filter((r) => byName.get(r.llms[0]?.name ?? '')?.status.phase === 'stale').length;
  const notActive = haFleet.registrations.filter((r) => byName.get(r.llms[0]?.name ?? '')?.status.phase !== 'active').length;

  return {
    agents: AGENTS,
    concurrency: CONCURRENCY,
    registrationsPerSecondFile: Math.round(AGENTS / (fileRegisterMs / 1000)),
    registrationsPerSecondEtcd: Math.round(AGENTS / (haRegisterMs / 1000)),
    heartbeatsPerSecondFile: Math.round(median(fileRates)),
    heartbeatsPerSecondEtcd: Math.round(median(haRates)),
    ingestRatio: round3(median(ratios)),
    // The spread of the rounds' ratios: how noisy the machine was during this run.
    ingestRatioRange: `${round3(Math.min(...ratios))}–${round3(Math.max(...ratios))}`,
    ...(cpuRatios.length === 0 ? {} : { ingestRatioPerCpuSecond: round3(median(cpuRatios)) }),
    cpuMsPerThousandBeatsFileGenerator: round1((cpu.fileGenerator * 1e6) / cpu.fileBeats),
    cpuMsPerThousandBeatsFileReconciler: round1((cpu.fileReconciler * 1e6) / cpu.fileBeats),
    cpuMsPerThousandBeatsEtcdGenerator: round1((cpu.haGenerator * 1e6) / cpu.haBeats),
    cpuMsPerThousandBeatsEtcdReconcilers: round1(((cpu.haA + cpu.haB) * 1e6) / cpu.haBeats),
    cpuMsPerThousandBeatsEtcdReconcilerA: round1((cpu.haA * 1e6) / cpu.haBeats),
    cpuMsPerThousandBeatsEtcdReconcilerB: round1((cpu.haB * 1e6) / cpu.haBeats),
    cpuMsPerThousandBeatsEtcdServer: round1((cpu.etcd * 1e6) / cpu.haBeats),
    pacedHeartbeatsPerSecond: Math.round(paced.beats / pacedSeconds),
    etcdRevisionsPerSecondPaced: round1((pacedRevisionAfter - pacedRevisionBefore) / pacedSeconds),
    etcdRevisionsPerSecondFlatOut: round1(median(revisionRates)),
    failoverHeartbeatsPerSecond: Math.round(failover.beatsPerSecond),
    failoverMaxBeatGapMs: Math.round(failover.maxGapMs),
    failoverAgentsMoved: failover.moved,
    registrationsLostAfterKill: lost,
    membersStaleAfterKill: stale,
    membersNotActiveAfterKill: notActive,
  };
}

// ---------------------------------------------------------------------------------------------
// The fleet and its load generator

interface Fleet {
  label: string;
  servers: { url: URL; agent: Agent }[];
  registrations: Registration[];
  /** Per agent: its servers in the order it tries them, and the index of the one in use. */
  order: number[][];
  current: number[];
  leaseIds: string[];
  /** Per agent, the beats in turn (their loads alternate, as a busy engine's do). */
  beats: string[][];
  /** Where the round-robin over the agents goes on, so each round continues the last. */
  cursor: number;
  sent: number;
}

function createFleet(label: string, urls: string[], orderOf: (agent: number) => number[]): Fleet {
  const registrations = Array.from({ length: AGENTS }, (_, i) => registrationOf(label, i));
  return {
    label,
    // The same number of connections in all as the one-server fleet: CONCURRENCY, shared out.
    servers: urls.map((url) => ({ url: new URL(url), agent: new Agent({ keepAlive: true, maxSockets: Math.ceil(CONCURRENCY / urls.length) }) })),
    registrations,
    order: registrations.map((_, i) => orderOf(i)),
    current: registrations.map(() => 0),
    leaseIds: registrations.map(() => ''),
    beats: [],
    cursor: 0,
    sent: 0,
  };
}

function registrationOf(label: string, i: number): Registration {
  return {
    agentId: `${label}-agent-${i}`,
    host: `gpu${i}.lan`,
    version: 'bench',
    llms: [{ name: `${label}-llm-${i}`, type: 'vllm', model: 'Qwen/Qwen3-8B', url: `http://gpu${i}.lan:8000/v1`, health: 'ok' }],
    gpus: [GPU],
  };
}

async function registerFleet(fleet: Fleet): Promise<number> {
  const start = performance.now();
  await runPool(AGENTS, CONCURRENCY, async (i) => {
    const answer = JSON.parse(await sendWithFailover(fleet, i, '/api/v1/agents/register', JSON.stringify(fleet.registrations[i]))) as { leaseId: string };
    fleet.leaseIds[i] = answer.leaseId;
  });
  const ms = performance.now() - start;
  fleet.beats = fleet.registrations.map((r, i) =>
    LOADS.map((load) => JSON.stringify({ leaseId: fleet.leaseIds[i], llms: [{ name: r.llms[0]?.name, health: 'ok', load }], gpus: [GPU] })),
  );
  return ms;
}

/** One heartbeat of agent i, through its current server (or the next one, as an agent moves). */
function beat(fleet: Fleet, i: number): Promise<string> {
  const bodies = fleet.beats[i] ?? [];
  const body = bodies[fleet.sent++ % bodies.length] ?? '';
  return sendWithFailover(fleet, i, `/api/v1/agents/${fleet.registrations[i]?.agentId ?? ''}/heartbeat`, body);
}

/** Beats round-robin over the agents, as fast as they are answered, for `durationMs`. */
async function hammer(fleet: Fleet, durationMs: number): Promise<{ beats: number; ms: number; beatsPerSecond: number }> {
  let done = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const i = fleet.cursor++ % AGENTS;
        await beat(fleet, i);
        done++;
      }
    }),
  );
  const ms = performance.now() - start;
  return { beats: done, ms, beatsPerSecond: done / (ms / 1000) };
}

/** Beats at `perSecond` (each beat at its own time, round-robin over the agents) for `durationMs`. */
async function pace(fleet: Fleet, perSecond: number, durationMs: number): Promise<{ beats: number }> {
  const total = Math.floor((perSecond * durationMs) / 1000);
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const k = next++;
        const wait = start + (k * 1000) / perSecond - performance.now();
        if (wait > 0) await sleep(wait);
        await beat(fleet, fleet.cursor++ % AGENTS);
      }
    }),
  );
  return { beats: total };
}

/**
 * Beats flat out, kills `victim` with SIGKILL a second in, and goes on until every agent has been
 * answered after the kill (and at least FAILOVER_MIN_MS): the longest gap between an agent's last
 * answer before the kill and its first after, and how many agents moved to another server.
 */
async function hammerThroughKill(fleet: Fleet, victim: ReconcilerChild): Promise<{ beatsPerSecond: number; maxGapMs: number; moved: number }> {
  const lastAnswer = new Float64Array(AGENTS);
  const firstAfterKill = new Float64Array(AGENTS);
  let killedAt = Number.POSITIVE_INFINITY;
  let answeredAfterKill = 0;
  const startCurrent = [...fleet.current];
  const start = performance.now();
  const killer = sleep(1_000).then(() => {
    killedAt = performance.now();
    victim.child.kill('SIGKILL');
  });
  let done = 0;
  const finished = (): boolean => {
    const now = performance.now();
    if (now - start > FAILOVER_MAX_MS) return true;
    return now - killedAt >= FAILOVER_MIN_MS && answeredAfterKill === AGENTS;
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!finished()) {
        const i = fleet.cursor++ % AGENTS;
        const sentAt = performance.now();
        await beat(fleet, i);
        const now = performance.now();
        done++;
        if (sentAt > killedAt && firstAfterKill[i] === 0) {
          firstAfterKill[i] = now;
          answeredAfterKill++;
        } else if (sentAt <= killedAt) lastAnswer[i] = now;
      }
    }),
  );
  await killer;
  let maxGapMs = 0;
  for (let i = 0; i < AGENTS; i++) if (firstAfterKill[i] !== 0 && lastAnswer[i] !== 0) maxGapMs = Math.max(maxGapMs, (firstAfterKill[i] ?? 0) - (lastAnswer[i] ?? 0));
  const moved = fleet.current.filter((c, i) => c !== startCurrent[i]).length;
  if (answeredAfterKill < AGENTS) throw new Error(`after the kill, ${AGENTS - answeredAfterKill} agents were never answered within ${FAILOVER_MAX_MS / 1000} s`);
  return { beatsPerSecond: done / ((performance.now() - start) / 1000), maxGapMs, moved };
}

/** POSTs for agent i to its current server; on a refused connection or a 503, moves to its next one. */
async function sendWithFailover(fleet: Fleet, i: number, pathname: string, body: string): Promise<string> {
  const order = fleet.order[i] ?? [0];
  for (let tried = 0; ; tried++) {
    const server = fleet.servers[order[fleet.current[i] ?? 0] ?? 0];
    if (server === undefined) throw new Error(`${fleet.label}: agent ${i} has no server`);
    const answer = await post(server.agent, server.url, pathname, body).catch((error: unknown) => ({ status: 0, text: String(error) }));
    if (answer.status >= 200 && answer.status < 300) return answer.text;
    const failover = answer.status === 0 || answer.status === 503;
    if (!failover || tried >= order.length * 3) throw new Error(`${fleet.label}: POST ${pathname}: ${answer.status === 0 ? answer.text : `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`}`);
    fleet.current[i] = ((fleet.current[i] ?? 0) + 1) % order.length;
    // Every server tried once: wait a little before the next turn, as an agent backs off.
    if ((tried + 1) % order.length === 0) await sleep(100);
  }
}

function post(agent: Agent, url: URL, pathname: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: 'POST', path: pathname, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function listLlms(url: string): Promise<LlmView[]> {
  const response = await fetch(`${url}/api/v1/llms`);
  if (!response.ok) throw new Error(`GET ${url}/api/v1/llms: HTTP ${response.status}`);
  return ((await response.json()) as { items: LlmView[] }).items;
}

// ---------------------------------------------------------------------------------------------
// The reconcilers, as child processes

interface ReconcilerChild {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

function startReconciler(args: string[]): Promise<ReconcilerChild> {
  // MCPCTL_BENCH_HA_NODE_ARGS (`--cpu-prof --cpu-prof-dir=DIR`) profiles the reconcilers.
  const nodeArgs = (process.env.MCPCTL_BENCH_HA_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8000);
      const match = /serving (http:\/\/[^\s)"]+)/.exec(output);
      if (match?.[1] !== undefined) resolve({ child, url: match[1], stop });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mcpctl ${args.join(' ')} exited with ${code ?? 'a signal'} before it served: ${output.trim()}`)));
  });
}

/** User + system CPU seconds the processes have used (Linux /proc; 0 where it cannot be read). */
function readCpuSeconds(children: ChildProcess[]): number {
  let ticks = 0;
  for (const child of children) {
    try {
      const stat = readFileSync(`/proc/${child.pid ?? 0}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  }
  // USER_HZ is 100 on every Linux the project runs on.
  return ticks / 100;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
