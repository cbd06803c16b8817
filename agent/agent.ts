// The agent loop (DESIGN §4): register, heartbeat at the interval the reconciler answers with
// (jittered), move to the next reconciler of `servers:` when one does not answer (DESIGN §9), back
// off while none does, register again when the lease is lost or the providers change, and
// deregister on stop.
import { applyJitterMs, computeBackoffMs, type BackoffPolicy } from '../client/backoff.js';
import type { Gpu, Registration, RegistrationAnswer } from '../schema/agent-protocol.js';
import type { LlmProviderFileEntry } from '../schema/agent-config.js';
import { serversOf, type AgentSettings, type SingleServerSettings } from './config.js';
import { describeAnswerChanges, startDesiredLog, type DesiredLogState } from './desired-log.js';
import type { GpuReader } from './gpus.js';
import type { HealthProber, ProbeResult } from './health-probe.js';
import { acknowledgeDelta, acknowledgeNothing, buildRegisteredLlm, computeHeartbeatDelta, keepHeld, type Acknowledged } from './heartbeat-delta.js';
import type { Log } from './log.js';
import type { CallResult, ReconcilerClient } from './reconciler-client.js';
import { currentServer, isFailover, replaceServers, rotateAfterAnswer, rotateAfterFailure, sameServers, sharesServer, startRotation, type Rotation } from './reconciler-rotation.js';

export interface AgentClock {
  nowMs(): number;
  /** Calls `fire` after `ms`; the returned function cancels it. */
  setTimer(fire: () => void, ms: number): () => void;
}

/** 1 s, 2 s, 4 s, … up to 30 s while the reconciler is unreachable. */
export const AGENT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000 };

export const systemClock: AgentClock = {
  nowMs: () => Date.now(),
  setTimer(fire, ms) {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
};

export interface AgentDeps {
  /** A client for one reconciler; called once per reconciler of the settings, when first talked to. */
  createClient(settings: SingleServerSettings): ReconcilerClient;
  prober: HealthProber;
  gpus: GpuReader;
  log: Log;
  host: string;
  version: string;
  clock?: AgentClock;
  /** Returns [0, 1); drives the ±10% jitter. */
  random?: () => number;
  /** AGENT_BACKOFF when absent. */
  backoff?: BackoffPolicy;
  /** How long stop() waits for the DELETE before giving up. */
  deregisterTimeoutMs?: number;
}

export interface RunningAgent {
  /** Applies a reloaded config: changed providers are published at once by a fresh registration. */
  updateConfig(settings: AgentSettings): void;
  /** Ends the loop and deregisters; resolves when done. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended (after stop()). */
  readonly done: Promise<void>;
}

interface Lease {
  leaseId: string;
}

type StepOutcome = 'ok' | 'lease-lost' | 'failed';

export function startAgent(initial: AgentSettings, deps: AgentDeps): RunningAgent {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const backoff = deps.backoff ?? AGENT_BACKOFF;
  const log = deps.log;

  let settings = initial;
  let rotation: Rotation = startRotation(serversOf(initial));
  let clients = new Map<string, ReconcilerClient>();
  let client = clientFor(currentServer(rotation));
  let lease: Lease | null = null;
  let acknowledged: Acknowledged = acknowledgeNothing();
  let desiredLog: DesiredLogState = startDesiredLog();
  let registerWanted = false;
  /** The previous identity, when a reload changed server, token or agentId: it is deregistered first. */
  let retiring: { client: ReconcilerClient; agentId: string; leaseId: string | undefined } | undefined;
  /** True once a registration may have taken effect at the reconciler; stop() then deregisters. */
  let contacted = false;
  let failures = 0;
  let leaseLossesInRow = 0;
  let stopping = false;
  let nextAtMs = clock.nowMs();
  let wakeSleeper: (() => void) | undefined;
  const abort = new AbortController();

  const wake = (): void => wakeSleeper?.();

  function clientFor(server: string): ReconcilerClient {
    let found = clients.get(server);
    if (found === undefined) {
      found = deps.createClient({ server, token: settings.token, agentId: settings.agentId, providers: settings.providers });
      clients.set(server, found);
    }
    return found;
  }

  function moveTo(next: Rotation): void {
    rotation = next;
    client = clientFor(currentServer(rotation));
  }

  function sleepUntil(atMs: number): Promise<void> {
    return new Promise((done) => {
      const finish = (): void => {
        cancel();
        wakeSleeper = undefined;
        done();
      };
      const cancel = clock.setTimer(finish, Math.max(0, atMs - clock.nowMs()));
      wakeSleeper = finish;
    });
  }

  async function readState(): Promise<{ probes: Map<string, ProbeResult>; gpus: Gpu[] }> {
    const providers = settings.providers;
    const [results, gpus] = await Promise.all([Promise.all(providers.map((p) => deps.prober.probe(p))), deps.gpus.read()]);
    const probes = new Map<string, ProbeResult>();
    providers.forEach((p, i) => probes.set(p.name, results[i] ?? { health: 'unknown' }));
    return { probes, gpus };
  }

  function noteAnswer(answer: RegistrationAnswer, providers: readonly LlmProviderFileEntry[]): void {
    lease = { leaseId: answer.leaseId };
    const { lines, next } = describeAnswerChanges(providers, answer, desiredLog);
    desiredLog = next;
    for (const line of lines) log(line);
  }

  function noteFailure(what: string, result: Exclude<CallResult<unknown>, { ok: true }>): void {
    if (rotation.servers.length > 1 && isFailover(result)) {
      // Each reconciler is tried once at once; only when all have failed in a row does the agent back off.
      const from = client.server;
      const { next, roundFailed } = rotateAfterFailure(rotation);
      moveTo(next);
      const why =
        result.kind === 'unreachable' ? `reconciler ${from} unreachable (${result.reason})` : `reconciler ${from} answered ${what} with ${result.status} ${result.code}: ${result.message}`;
      if (!roundFailed) {
        nextAtMs = clock.nowMs();
        log(`${why}; trying ${client.server}`);
        return;
      }
      failures++;
      const delayMs = applyJitterMs(computeBackoffMs(failures, backoff), random);
      nextAtMs = clock.nowMs() + delayMs;
      log(`${why}; tried all ${rotation.servers.length} reconcilers; trying ${client.server} in ${formatDelay(delayMs)}`);
      return;
    }
    failures++;
    const delayMs = applyJitterMs(computeBackoffMs(failures, backoff), random);
    nextAtMs = clock.nowMs() + delayMs;
    const why =
      result.kind === 'unreachable'
        ? `reconciler unreachable at ${client.server} (${result.reason})`
        : `reconciler answered ${what} with ${result.status} ${result.code}: ${result.message}`;
    log(`${why}; retrying in ${formatDelay(delayMs)}`);
  }

  function noteRecovery(): void {
    if (failures > 0) log(`reconciler reachable again at ${client.server}`);
    failures = 0;
    rotation = rotateAfterAnswer(rotation);
  }

  async function register(): Promise<StepOutcome> {
    const providers = settings.providers;
    const { probes, gpus } = await readState();
    if (stopping) return 'failed';
    const body: Registration = {
      agentId: settings.agentId,
      host: deps.host,
      version: deps.version,
      llms: providers.map((p) => buildRegisteredLlm(p, probes.get(p.name) ?? { health: 'unknown' })),
      gpus,
    };
    const result = await client.register(body, abort.signal);
    if (isPossiblyRegistered(result)) contacted = true;
    if (stopping) return result.ok ? 'ok' : 'failed';
    if (!result.ok) {
      noteFailure('the registration', result);
      return 'failed';
    }
    noteRecovery();
    acknowledged = keepHeld({ health: new Map(providers.map((p) => [p.name, probes.get(p.name) ?? { health: 'unknown' }])), gpus }, result.value);
    noteAnswer(result.value, providers);
    const rejected = new Set(result.value.rejected.map((r) => r.name));
    const describe = (p: LlmProviderFileEntry): string => `${p.name} (${rejected.has(p.name) ? 'rejected' : describeProbe(probes.get(p.name))})`;
    const names = providers.length === 0 ? 'no providers' : providers.map(describe).join(', ');
    log(`registered as ${settings.agentId} with ${client.server}: ${names}; heartbeat every ${formatDelay(result.value.heartbeatIntervalSeconds * 1000)}`);
    nextAtMs = clock.nowMs() + applyJitterMs(result.value.heartbeatIntervalSeconds * 1000, random);
    return 'ok';
  }

  async function heartbeat(current: Lease): Promise<StepOutcome> {
    const startedAtMs = clock.nowMs();
    const providers = settings.providers;
    const { probes, gpus } = await readState();
    if (stopping) return 'failed';
    const delta = computeHeartbeatDelta(providers, probes, gpus, acknowledged);
    const result = await client.heartbeat(settings.agentId, { leaseId: current.leaseId, ...delta }, abort.signal);
    if (stopping) return result.ok ? 'ok' : 'failed';
    if (!result.ok) {
      if (result.kind === 'http' && result.status === 404 && result.code === 'LeaseNotFound') {
        lease = null;
        leaseLossesInRow++;
        // Once at once; if the new lease is lost again straight away, back off rather than spin.
        if (leaseLossesInRow === 1) {
          log(`reconciler no longer knows lease ${current.leaseId} (LeaseNotFound); registering again`);
          nextAtMs = clock.nowMs();
        } else {
          noteFailure('the heartbeat', result);
        }
        return 'lease-lost';
      }
      noteFailure('the heartbeat', result);
      return 'failed';
    }
    noteRecovery();
    leaseLossesInRow = 0;
    for (const change of delta.llms) {
      // A name sent whole again after a rejection is no health change; the answer's own lines say how it went.
      const before = acknowledged.health.get(change.name);
      // Load figures move on most beats: no log line for them.
      if (before !== undefined && (before.health !== change.health || before.healthMessage !== change.healthMessage)) log(`health: ${change.name} ${describeProbe(before)} → ${describeProbe(change)}`);
    }
    acknowledged = keepHeld(acknowledgeDelta(acknowledged, delta), result.value);
    noteAnswer(result.value, providers);
    nextAtMs = startedAtMs + applyJitterMs(result.value.heartbeatIntervalSeconds * 1000, random);
    return 'ok';
  }

  async function retire(): Promise<void> {
    const old = retiring;
    retiring = undefined;
    if (old === undefined) return;
    const result = await old.client.deregister(old.agentId, old.leaseId, AbortSignal.timeout(deps.deregisterTimeoutMs ?? 2000));
    log(result.ok ? `deregistered ${old.agentId} from ${old.client.server} (config changed)` : `could not deregister ${old.agentId} from ${old.client.server}: ${describeFailure(result)}`);
  }

  /** Deregisters through the current reconciler, or through the next ones while each fails over. */
  async function deregisterAnywhere(agentId: string, leaseId: string | undefined, signal: AbortSignal): Promise<CallResult<void>> {
    let result = await client.deregister(agentId, leaseId, signal);
    for (let tried = 1; tried < rotation.servers.length && !result.ok && isFailover(result) && !signal.aborted; tried++) {
      const from = client.server;
      moveTo(rotateAfterFailure(rotation).next);
      log(`reconciler ${from} could not take the deregistration (${describeFailure(result)}); trying ${client.server}`);
      result = await client.deregister(agentId, leaseId, signal);
    }
    return result;
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      if (!registerWanted) await sleepUntil(nextAtMs);
      if (stopping) break;
      if (!registerWanted && clock.nowMs() < nextAtMs) continue;
      const current = lease;
      const registering = current === null || registerWanted;
      try {
        if (retiring !== undefined) await retire();
        if (registering) {
          registerWanted = false;
          const outcome = await register();
          // A failed re-registration (providers changed) must be retried as a registration.
          if (outcome !== 'ok' && current !== null) registerWanted = !stopping;
          if (outcome !== 'ok' && registerWanted) await sleepUntil(nextAtMs);
        } else {
          await heartbeat(current);
        }
      } catch (error) {
        // A bug in a probe or reader must not end the loop: the names would silently go stale.
        failures++;
        const delayMs = applyJitterMs(computeBackoffMs(failures, backoff), random);
        nextAtMs = clock.nowMs() + delayMs;
        if (registering && current !== null) registerWanted = true;
        log(`unexpected error: ${error instanceof Error ? error.message : String(error)}; retrying in ${formatDelay(delayMs)}`);
      }
    }
  }

  const done = loop().catch((error: unknown) => {
    log(`agent loop failed: ${error instanceof Error ? error.message : String(error)}`);
  });

  return {
    done,
    updateConfig(next) {
      const nextServers = serversOf(next);
      // Lists that share a reconciler share its lease store (DESIGN §9): the lease stays valid, so
      // a changed list alone needs no new registration. A list with none of the old ones is
      // another fleet, as a changed server always was.
      const otherFleet = !sharesServer(rotation.servers, nextServers);
      const identityChanged = otherFleet || next.token !== settings.token || next.agentId !== settings.agentId;
      const serversChanged = !sameServers(rotation.servers, nextServers);
      const providersChanged = JSON.stringify(next.providers) !== JSON.stringify(settings.providers);
      if (!identityChanged && !providersChanged && !serversChanged) return;
      const parts = providersChanged ? [describeProviderChanges(settings.providers, next.providers)] : [];
      if (serversChanged && !otherFleet) parts.push(`reconcilers ${rotation.servers.join(', ')} → ${nextServers.join(', ')}`);
      log(`config reloaded: ${parts.length > 0 ? parts.join('; ') : describeProviderChanges(settings.providers, next.providers)}`);
      if (identityChanged && contacted && retiring === undefined) retiring = { client, agentId: settings.agentId, leaseId: lease?.leaseId };
      settings = next;
      // Clients carry the token: with new settings they are made afresh.
      clients = new Map();
      if (identityChanged) {
        moveTo(startRotation(nextServers));
        lease = null;
        acknowledged = acknowledgeNothing();
        failures = 0;
      } else {
        moveTo(replaceServers(rotation, nextServers));
      }
      if (identityChanged || providersChanged) {
        registerWanted = true;
        wake();
      }
    },
    async stop() {
      if (stopping) return done;
      stopping = true;
      abort.abort();
      wake();
      await done;
      if (retiring !== undefined) await retire();
      if (!contacted) return;
      // With the lease id, a DELETE that arrives late cannot drop a newer registration of this agent id.
      const result = await deregisterAnywhere(settings.agentId, lease?.leaseId, AbortSignal.timeout(deps.deregisterTimeoutMs ?? 2000));
      if (result.ok) log(`deregistered ${settings.agentId} from ${client.server}`);
      else if (result.kind === 'http' && result.code === 'LeaseNotFound') log(`nothing to deregister: the reconciler holds no lease for ${settings.agentId}`);
      else log(`could not deregister ${settings.agentId}: ${describeFailure(result)}`);
    },
  };
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'bad port']);

/** Whether a registration may have taken effect, so that stop() should deregister. */
function isPossiblyRegistered(result: CallResult<unknown>): boolean {
  if (result.ok) return true;
  // Refused before a connection, or answered with a client error: nothing was registered.
  if (result.kind === 'unreachable') return !NOT_SENT_CODES.has(result.reason);
  return result.status >= 500;
}

function describeProbe(probe: Pick<ProbeResult, 'health' | 'healthMessage'> | undefined): string {
  if (probe === undefined) return 'unknown';
  return probe.healthMessage === undefined ? probe.health : `${probe.health}: ${probe.healthMessage}`;
}

function describeFailure(result: Exclude<CallResult<unknown>, { ok: true }>): string {
  return result.kind === 'unreachable' ? result.reason : `${result.status} ${result.code}: ${result.message}`;
}

/** `+ a, - b, ~ c` for the providers a reload adds, removes or changes. */
export function describeProviderChanges(before: readonly LlmProviderFileEntry[], after: readonly LlmProviderFileEntry[]): string {
  const old = new Map(before.map((p) => [p.name, JSON.stringify(p)]));
  const now = new Map(after.map((p) => [p.name, JSON.stringify(p)]));
  const parts: string[] = [];
  for (const [name, text] of now) {
    const was = old.get(name);
    if (was === undefined) parts.push(`+ ${name}`);
    else if (was !== text) parts.push(`~ ${name}`);
  }
  for (const name of old.keys()) if (!now.has(name)) parts.push(`- ${name}`);
  return parts.length === 0 ? 'server, token or agentId changed' : parts.join(', ');
}

/** `250ms`, `2s`, `2.5s`: short enough for a log line, exact enough to read a backoff schedule. */
export function formatDelay(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
}
