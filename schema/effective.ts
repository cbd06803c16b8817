// The effective state: declared Llms (one revision) joined with live registrations at a given time.
import type { Gpu, Health, Load } from './agent-protocol.js';
import { formatAge } from './age.js';
import type { LocatedLlm } from './codec.js';
import { poolKeyOf } from './pools.js';
import { llmEnabledOf, llmSourceOf, type LlmSpec, type LlmType } from './resources.js';
import type { Drift, LlmView, MemberKind, Phase, SyncState } from './views.js';

/** One name published by an agent, as the live registry holds it. */
export interface LiveLlm {
  name: string;
  poolName?: string | undefined;
  type: LlmType;
  model: string;
  url: string;
  health: Health;
  healthMessage?: string | undefined;
  /** The engine's load figures at the last beat that carried them. */
  load?: Load | undefined;
  agentId: string;
  host: string;
  /** Milliseconds since the epoch. */
  lastHeartbeatAt: number;
  gpus: Gpu[];
  /** Restored from the state dir and not heard from since: stale whatever the clock says. */
  restored?: boolean;
}

export interface StaticProbe {
  ok: boolean;
  message?: string;
}

export interface EffectiveInput {
  declared: readonly LocatedLlm[];
  revision: string | null;
  live: readonly LiveLlm[];
  nowMs: number;
  ttlMs: number;
  /** Probe results of static endpoints by name; absent = not probed yet. */
  probes?: ReadonlyMap<string, StaticProbe>;
}

export { formatAge };

export function isStale(live: Pick<LiveLlm, 'restored' | 'lastHeartbeatAt'>, nowMs: number, ttlMs: number): boolean {
  return live.restored === true || nowMs - live.lastHeartbeatAt > ttlMs;
}


/** The effective view of every Llm, declared or live, sorted by name. */
export function buildViews(input: EffectiveInput): LlmView[] {
  const liveByName = new Map<string, LiveLlm>();
  for (const live of input.live) liveByName.set(live.name, live);
  const views: LlmView[] = [];
  const declaredNames = new Set<string>();
  for (const declared of input.declared) {
    declaredNames.add(declared.resource.metadata.name);
    views.push(declaredView(declared, liveByName.get(declared.resource.metadata.name), input));
  }
  for (const live of input.live) if (!declaredNames.has(live.name)) views.push(virtualView(live, input));
  return views.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}

function declaredView(declared: LocatedLlm, live: LiveLlm | undefined, input: EffectiveInput): LlmView {
  const { resource } = declared;
  const spec = resource.spec;
  const isStatic = llmSourceOf(spec) === 'static';
  const drift = live === undefined || isStatic ? [] : driftOf(spec, live);
  const kind: MemberKind = isStatic ? 'static' : live === undefined ? 'declared' : 'managed';
  const sync: SyncState = isStatic ? 'Synced' : live === undefined ? 'Pending' : drift.length > 0 ? 'OutOfSync' : 'Synced';
  const [phase, reason] = declaredPhaseOf(declared, live, input);
  return {
    apiVersion: resource.apiVersion,
    kind: 'Llm',
    metadata: resource.metadata,
    spec,
    status: {
      kind,
      phase,
      pool: { key: poolKeyOf({ name: resource.metadata.name, poolName: spec.poolName }), explicit: spec.poolName !== undefined },
      sync,
      source: { file: declared.file, line: declared.line, revision: input.revision ?? '' },
      agent: live === undefined || isStatic ? null : agentOf(live),
      drift,
      reason,
    },
  };
}

function virtualView(live: LiveLlm, input: EffectiveInput): LlmView {
  const spec: LlmSpec = { type: live.type, model: live.model, url: live.url };
  if (live.poolName !== undefined) spec.poolName = live.poolName;
  const [phase, reason] = virtualPhaseOf(live, input);
  return {
    apiVersion: 'mcpctl/v1',
    kind: 'Llm',
    metadata: { name: live.name },
    spec,
    status: {
      kind: 'virtual',
      phase,
      pool: { key: poolKeyOf(live), explicit: live.poolName !== undefined },
      sync: 'OutOfSync',
      source: null,
      agent: agentOf(live),
      drift: [],
      reason,
    },
  };
}

/** What a view's phase and reason depend on besides the declared and live entries. */
export type ViewClock = Pick<EffectiveInput, 'nowMs' | 'ttlMs' | 'probes'>;

/**
 * The phase and reason of one Llm at `input.nowMs`, as its view would carry them: the only
 * parts of a view that move with the clock alone. Null when the name is neither declared nor
 * live (it has no view). Lets a cache of serialised views re-render just these.
 */
export function phaseOf(declared: LocatedLlm | undefined, live: LiveLlm | undefined, input: ViewClock): [Phase, string] | null {
  if (declared !== undefined) return declaredPhaseOf(declared, live, input);
  return live === undefined ? null : virtualPhaseOf(live, input);
}

function declaredPhaseOf(declared: LocatedLlm, live: LiveLlm | undefined, input: ViewClock): [Phase, string] {
  const spec = declared.resource.spec;
  if (!llmEnabledOf(spec)) {
    const drained = `enabled: false in ${declared.file}:${declared.fieldLines['spec.enabled'] ?? declared.line}`;
    // A dead agent's members are stale whatever else they are; the reason keeps the drain too.
    if (live !== undefined && llmSourceOf(spec) !== 'static' && isStale(live, input.nowMs, input.ttlMs)) {
      return ['stale', `${livePhase(live, input)[1]}; drained in Git (${drained})`];
    }
    return ['draining', drained];
  }
  if (llmSourceOf(spec) === 'static') {
    const probe = input.probes?.get(declared.resource.metadata.name);
    if (probe === undefined) return ['unknown', 'static endpoint, not probed yet'];
    if (probe.ok) return ['active', 'static endpoint answers'];
    return ['unhealthy', `endpoint failing: ${probe.message ?? 'no answer'}`];
  }
  if (live === undefined) return ['pending', `declared in ${declared.file}, no agent yet`];
  return livePhase(live, input);
}

function virtualPhaseOf(live: LiveLlm, input: ViewClock): [Phase, string] {
  const [phase, reason] = livePhase(live, input);
  return [phase, phase === 'active' ? `published by agent ${live.agentId}, not declared` : reason];
}

function livePhase(live: LiveLlm, input: ViewClock): [Phase, string] {
  const age = formatAge(input.nowMs - live.lastHeartbeatAt);
  if (live.restored === true) return ['stale', `restored after a reconciler restart, no heartbeat since (last ${age} ago)`];
  if (isStale(live, input.nowMs, input.ttlMs)) return ['stale', `no heartbeat for ${age}`];
  if (live.health === 'failing') return ['unhealthy', `endpoint failing: ${live.healthMessage ?? 'no reason given'}`];
  if (live.health === 'unknown') return ['unknown', `agent ${live.agentId} has not probed its endpoint yet`];
  return ['active', `heartbeat ${age} ago from agent ${live.agentId}`];
}

function agentOf(live: LiveLlm): NonNullable<LlmView['status']['agent']> {
  const agent: NonNullable<LlmView['status']['agent']> = { id: live.agentId, host: live.host, lastHeartbeatAt: new Date(live.lastHeartbeatAt).toISOString(), gpus: live.gpus, url: live.url };
  // Only when the engine reports it: views of endpoints without metrics stay as they were.
  if (live.load !== undefined) agent.load = live.load;
  return agent;
}

/** Differences between what Git declares and what the agent sends (Git wins; these are reported). */
export function driftOf(spec: LlmSpec, live: Pick<LiveLlm, 'type' | 'model' | 'url' | 'poolName'>): Drift[] {
  const drift: Drift[] = [];
  const compare = (path: string, declared: string | undefined, value: string | undefined): void => {
    if (declared !== value) drift.push({ path, declared: declared ?? null, live: value ?? null });
  };
  compare('spec.type', spec.type, live.type);
  compare('spec.model', spec.model, live.model);
  if (spec.url !== undefined) compare('spec.url', spec.url, live.url);
  compare('spec.poolName', spec.poolName, live.poolName);
  return drift;
}
