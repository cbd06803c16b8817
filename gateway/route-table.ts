// What a request's `model` names, built from the reconciler's views: a pool key (every member of
// the pool) or an Llm name (that one member). Pure; the follower rebuilds it when its cache changes.
import type { LlmView } from '../schema/views.js';
import type { RouteMember } from './routing.js';

export interface RouteTarget {
  kind: 'pool' | 'llm';
  /** The pool key, or the pinned Llm's name. */
  key: string;
  /** The active members, by name: the only ones a request may go to. */
  routable: readonly RouteMember[];
  /** Every member the reconciler lists for it, active or not (for the 503's message). */
  size: number;
}

export interface RouteTable {
  /** `model` as a pool key first, then as an Llm name; null when it names neither. */
  lookup(model: string): RouteTarget | null;
  /** Pool keys and Llm names with at least one routable member, sorted, each once. */
  modelIds(): string[];
  /** Every member's pool key, routable or not: the state endpoint and the metrics name it. */
  poolOf(name: string): string | undefined;
  /** Routable members of a pool (the cooldown rule: a pool of one never cools down). */
  poolSize(pool: string): number;
}

export function buildRouteTable(views: Iterable<LlmView>, extraPoolKeys: Iterable<string> = []): RouteTable {
  const pools = new Map<string, { routable: RouteMember[]; size: number }>();
  const llms = new Map<string, RouteTarget>();
  const poolOfName = new Map<string, string>();
  for (const key of extraPoolKeys) pools.set(key, { routable: [], size: 0 });
  const sorted = [...views].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const view of sorted) {
    const name = view.metadata.name;
    const key = view.status.pool.key;
    poolOfName.set(name, key);
    let pool = pools.get(key);
    if (pool === undefined) pools.set(key, (pool = { routable: [], size: 0 }));
    pool.size++;
    const member = routeMemberOf(view);
    if (member !== null) pool.routable.push(member);
    llms.set(name, { kind: 'llm', key: name, routable: member === null ? [] : [member], size: 1 });
  }
  const poolTargets = new Map<string, RouteTarget>();
  for (const [key, pool] of pools) poolTargets.set(key, { kind: 'pool', key, routable: pool.routable, size: pool.size });
  const ids = new Set<string>();
  for (const [key, target] of poolTargets) if (target.routable.length > 0) ids.add(key);
  for (const [name, target] of llms) if (target.routable.length > 0) ids.add(name);
  const modelIds = [...ids].sort();
  return {
    lookup: (model) => poolTargets.get(model) ?? llms.get(model) ?? null,
    modelIds: () => modelIds,
    poolOf: (name) => poolOfName.get(name),
    poolSize: (pool) => poolTargets.get(pool)?.routable.length ?? 0,
  };
}

/** The member a view routes to, or null when it may take no request (not active, or no URL). */
export function routeMemberOf(view: LlmView): RouteMember | null {
  if (view.status.phase !== 'active') return null;
  const url = view.status.agent?.url ?? view.spec.url;
  if (url === undefined || url === '') return null;
  return {
    name: view.metadata.name,
    pool: view.status.pool.key,
    model: view.spec.model,
    url: url.replace(/\/+$/, ''),
    apiKeyEnv: view.spec.apiKeyRef?.env ?? null,
    waiting: view.status.agent?.load?.waiting ?? null,
  };
}
