// Pool rules (DESIGN §2, §7): pool keys, membership, explicit/implicit, counts and health.
import type { LlmPool } from './resources.js';
import type { LlmView, MembersAnswer, Phase, PoolHealth, PoolStats, PoolSummary } from './views.js';

/** What the pool rules need of an Llm: its name, its poolName and (for counts) its phase. */
export interface PoolEntry {
  name: string;
  poolName?: string | undefined;
  phase?: Phase;
}

/** `spec.poolName` when set (explicit), else the Llm's own name (implicit). */
export function poolKeyOf(entry: PoolEntry): string {
  return entry.poolName ?? entry.name;
}

export function isExplicit(entry: PoolEntry): boolean {
  return entry.poolName !== undefined;
}

export interface PoolGroup<T extends PoolEntry> {
  key: string;
  /** True when any member sets poolName to this key. */
  explicit: boolean;
  /** Sorted by name. */
  members: T[];
}

/** Groups entries by pool key; pools and their members come sorted by name. */
export function groupPools<T extends PoolEntry>(entries: readonly T[]): PoolGroup<T>[] {
  const groups = new Map<string, PoolGroup<T>>();
  for (const entry of entries) {
    const key = poolKeyOf(entry);
    let group = groups.get(key);
    if (group === undefined) {
      group = { key, explicit: false, members: [] };
      groups.set(key, group);
    }
    group.members.push(entry);
    if (isExplicit(entry)) group.explicit = true;
  }
  const out = [...groups.values()].sort((a, b) => compareNames(a.key, b.key));
  for (const group of out) group.members.sort((a, b) => compareNames(a.name, b.name));
  return out;
}

/** Solo: implicit key and a pool of one. */
export function isSolo(group: PoolGroup<PoolEntry>): boolean {
  return !group.explicit && group.members.length === 1;
}

export function countActive(entries: readonly PoolEntry[]): number {
  let n = 0;
  for (const e of entries) if (e.phase === 'active') n++;
  return n;
}

/**
 * `Unavailable` when the pool has members and none is active (nothing can serve a request for
 * it, whatever its floor), else `Healthy` when at least minActive are active, else `Degraded`.
 * An empty pool (an LlmPool with no member yet) is judged by its floor alone.
 */
export function poolHealthOf(activeCount: number, minActive: number, size: number): PoolHealth {
  if (size > 0 && activeCount === 0) return 'Unavailable';
  return activeCount >= minActive ? 'Healthy' : 'Degraded';
}

export interface PoolPolicy {
  minActive: number;
  description?: string;
  /** Served with the pool so that a plan against the reconciler can compare the whole document. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function policiesByKey(pools: readonly LlmPool[]): Map<string, PoolPolicy> {
  const out = new Map<string, PoolPolicy>();
  for (const pool of pools) {
    const policy: PoolPolicy = { minActive: pool.spec.minActive ?? 0 };
    if (pool.spec.description !== undefined) policy.description = pool.spec.description;
    if (pool.metadata.labels !== undefined && Object.keys(pool.metadata.labels).length > 0) policy.labels = pool.metadata.labels;
    if (pool.metadata.annotations !== undefined && Object.keys(pool.metadata.annotations).length > 0) policy.annotations = pool.metadata.annotations;
    out.set(pool.metadata.name, policy);
  }
  return out;
}

function viewEntry(view: LlmView): PoolEntry {
  return { name: view.metadata.name, poolName: view.spec.poolName, phase: view.status.phase };
}

/**
 * Every pool of the effective state, plus the pools an LlmPool names that have no member
 * yet (size 0), sorted by key.
 */
export function summarizePools(views: readonly LlmView[], policies: ReadonlyMap<string, PoolPolicy> = new Map()): PoolSummary[] {
  const groups = groupPools(views.map(viewEntry));
  const byKey = new Map(groups.map((g) => [g.key, g]));
  for (const key of policies.keys()) if (!byKey.has(key)) byKey.set(key, { key, explicit: false, members: [] });
  return [...byKey.values()]
    .sort((a, b) => compareNames(a.key, b.key))
    .map((group) => {
      const policy = policies.get(group.key);
      const activeCount = countActive(group.members);
      const minActive = policy?.minActive ?? 0;
      const summary: PoolSummary = {
        key: group.key,
        explicit: group.explicit,
        size: group.members.length,
        activeCount,
        minActive,
        health: poolHealthOf(activeCount, minActive, group.members.length),
        declared: policy !== undefined,
        members: group.members.map((m) => m.name),
      };
      if (policy?.description !== undefined) summary.description = policy.description;
      if (policy?.labels !== undefined) summary.labels = policy.labels;
      if (policy?.annotations !== undefined) summary.annotations = policy.annotations;
      return summary;
    });
}

/**
 * The effective pool of `anchor` (DESIGN §2): `explicit` describes the anchor's own key.
 * Returns null when the anchor is not in the effective state.
 */
export function membersOf(
  views: readonly LlmView[],
  anchor: string,
  policies: ReadonlyMap<string, PoolPolicy> = new Map(),
): MembersAnswer | null {
  const anchorView = views.find((v) => v.metadata.name === anchor);
  if (anchorView === undefined) return null;
  const key = poolKeyOf(viewEntry(anchorView));
  const members = views.filter((v) => poolKeyOf(viewEntry(v)) === key).sort((a, b) => compareNames(a.metadata.name, b.metadata.name));
  const activeCount = countActive(members.map(viewEntry));
  const minActive = policies.get(key)?.minActive ?? 0;
  const pool: PoolStats = {
    key,
    explicit: anchorView.spec.poolName !== undefined,
    size: members.length,
    activeCount,
    minActive,
    health: poolHealthOf(activeCount, minActive, members.length),
  };
  return { anchor, pool, members };
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
