// What a heartbeat carries: only the health and load changes and GPU readings the reconciler has
// not acknowledged yet (DESIGN §3), and the full entries a registration carries.
import type { LlmProviderFileEntry } from '../schema/agent-config.js';
import { isSameLoad, type Gpu, type HeartbeatLlm, type RegisteredLlm, type RegistrationAnswer } from '../schema/agent-protocol.js';
import type { ProbeResult } from './health-probe.js';

/** What the reconciler last acknowledged, per name, plus the GPUs it last got. */
export interface Acknowledged {
  health: Map<string, ProbeResult>;
  gpus: Gpu[] | null;
}

export function acknowledgeNothing(): Acknowledged {
  return { health: new Map(), gpus: null };
}

/** A full registration entry. An entry without poolName sends no poolName field at all (a solo Llm). */
export function buildRegisteredLlm(provider: LlmProviderFileEntry, probe: ProbeResult): RegisteredLlm {
  return {
    name: provider.name,
    ...(provider.poolName === undefined ? {} : { poolName: provider.poolName }),
    type: provider.type,
    model: provider.model,
    url: provider.url,
    health: probe.health,
    ...(probe.healthMessage === undefined ? {} : { healthMessage: probe.healthMessage }),
    ...(probe.load === undefined ? {} : { load: probe.load }),
  };
}

export interface HeartbeatDelta {
  llms: HeartbeatLlm[];
  /** Absent when the GPUs read the same as last acknowledged. */
  gpus?: Gpu[];
}

/**
 * The changes since `acknowledged`: names whose health, message or load moved (with `load` only
 * when it moved, `null` once the engine reports none), and GPUs when they differ.
 */
export function computeHeartbeatDelta(
  providers: readonly LlmProviderFileEntry[],
  probes: ReadonlyMap<string, ProbeResult>,
  gpus: readonly Gpu[],
  acknowledged: Acknowledged,
): HeartbeatDelta {
  const llms: HeartbeatLlm[] = [];
  for (const provider of providers) {
    const probe = probes.get(provider.name);
    if (probe === undefined) continue;
    const known = acknowledged.health.get(provider.name);
    if (known === undefined) {
      // Not held by the reconciler for this agent (rejected, or dropped since): the full entry.
      llms.push(buildRegisteredLlm(provider, probe));
    } else {
      const loadChanged = !isSameLoad(known.load, probe.load);
      if (!loadChanged && known.health === probe.health && known.healthMessage === probe.healthMessage) continue;
      llms.push({
        name: provider.name,
        health: probe.health,
        ...(probe.healthMessage === undefined ? {} : { healthMessage: probe.healthMessage }),
        ...(loadChanged ? { load: probe.load ?? null } : {}),
      });
    }
  }
  const gpusChanged = acknowledged.gpus === null || !isSameGpus(acknowledged.gpus, gpus);
  return gpusChanged ? { llms, gpus: [...gpus] } : { llms };
}

/** The acknowledged state after the reconciler accepted `delta`. */
export function acknowledgeDelta(acknowledged: Acknowledged, delta: HeartbeatDelta): Acknowledged {
  const health = new Map(acknowledged.health);
  for (const llm of delta.llms) {
    // A partial entry without `load` left it as it was; a full entry without one has none.
    const load = llm.load === undefined ? ('type' in llm ? undefined : acknowledged.health.get(llm.name)?.load) : (llm.load ?? undefined);
    const result: ProbeResult = { health: llm.health };
    if (llm.healthMessage !== undefined) result.healthMessage = llm.healthMessage;
    if (load !== undefined) result.load = load;
    health.set(llm.name, result);
  }
  return { health, gpus: delta.gpus ?? acknowledged.gpus };
}

/**
 * The acknowledged state less every name the reconciler does not hold for this agent now: one
 * it rejected (taken by a live lease, undeclared under --unmanaged reject, declared static) or
 * later dropped. The next beat sends those names' full entries again, so a name is published
 * once the obstacle is gone (the other lease expires, a pull request declares it).
 */
export function keepHeld(acknowledged: Acknowledged, answer: Pick<RegistrationAnswer, 'desired'>): Acknowledged {
  const held = new Set(answer.desired.map((d) => d.name));
  let all = true;
  for (const name of acknowledged.health.keys()) if (!held.has(name)) all = false;
  if (all) return acknowledged;
  return { health: new Map([...acknowledged.health].filter(([name]) => held.has(name))), gpus: acknowledged.gpus };
}

function isSameGpus(a: readonly Gpu[], b: readonly Gpu[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
