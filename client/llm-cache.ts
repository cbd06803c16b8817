// The informer's store: Llm views by name, replaced whole by a list and patched by watch events.
// Updates return a new map only when something changed, so an event that repeats what the cache
// already holds does not re-render the screen.
import type { PoolPolicy } from '../schema/pools.js';
import type { LlmView, PoolSummary } from '../schema/views.js';

export type LlmCache = ReadonlyMap<string, LlmView>;

export function createCache(views: readonly LlmView[]): LlmCache {
  return new Map(views.map((v) => [v.metadata.name, v]));
}

/**
 * The cache a fresh list gives, sharing every view that did not change with `previous`; the very
 * same map when nothing changed at all, so that a periodic resync of a quiet fleet renders nothing.
 */
export function relistCache(previous: LlmCache, views: readonly LlmView[]): LlmCache {
  let changed = previous.size !== views.length;
  const next = new Map<string, LlmView>();
  for (const view of views) {
    const name = view.metadata.name;
    const old = previous.get(name);
    if (old !== undefined && sameView(old, view)) next.set(name, old);
    else {
      next.set(name, view);
      changed = true;
    }
  }
  return changed ? next : previous;
}

export type CacheEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; view: LlmView };

/** ADDED and MODIFIED upsert (a watch may repeat what the list already gave), DELETED removes. */
export function applyCacheEvent(cache: LlmCache, event: CacheEvent): LlmCache {
  const name = event.view.metadata.name;
  if (event.type === 'DELETED') {
    if (!cache.has(name)) return cache;
    const next = new Map(cache);
    next.delete(name);
    return next;
  }
  const current = cache.get(name);
  if (current !== undefined && sameView(current, event.view)) return cache;
  const next = new Map(cache);
  next.set(name, event.view);
  return next;
}

/**
 * A HEARTBEAT event: every view published by one of `agents` takes that agent's newest
 * lastHeartbeatAt, so that ages computed from it and the clock stay true between changes, and
 * every view named in `loads` its engine's newest load.
 */
export function applyHeartbeats(cache: LlmCache, agents: Readonly<Record<string, string>>, loads?: Readonly<Record<string, LoadView | null>>): LlmCache {
  let next: Map<string, LlmView> | null = null;
  for (const [name, view] of cache) {
    const agent = view.status.agent;
    if (agent === null) continue;
    const at = agents[agent.id];
    const load = loads?.[name];
    const beat = at !== undefined && at !== agent.lastHeartbeatAt;
    if (!beat && load === undefined) continue;
    const updated: NonNullable<LlmView['status']['agent']> = { ...agent };
    if (beat) updated.lastHeartbeatAt = at;
    // The load moved (load alone sends no MODIFIED): the newest figures, none when null.
    if (load === null) delete updated.load;
    else if (load !== undefined) updated.load = load;
    next ??= new Map(cache);
    next.set(name, { ...view, status: { ...view.status, agent: updated } });
  }
  return next ?? cache;
}

type LoadView = NonNullable<NonNullable<LlmView['status']['agent']>['load']>;

function sameView(a: LlmView, b: LlmView): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function cachedViews(cache: LlmCache): LlmView[] {
  return [...cache.values()];
}

/**
 * Pool policies as `summarizePools` takes them. Every pool with a policy of its own (minActive,
 * description) or with no member at all (only an LlmPool names it) is kept; the member counts
 * themselves always come from the live cache, never from this older list.
 */
export function policiesOfPools(pools: readonly PoolSummary[]): Map<string, PoolPolicy> {
  const out = new Map<string, PoolPolicy>();
  for (const pool of pools) {
    if (pool.minActive === 0 && pool.description === undefined && pool.size > 0) continue;
    const policy: PoolPolicy = { minActive: pool.minActive };
    if (pool.description !== undefined) policy.description = pool.description;
    out.set(pool.key, policy);
  }
  return out;
}
