// The effective state the routes serve: views rebuilt with schema/effective.ts buildViews from
// (served revision, live leases, now), level-triggered. It keeps an index by name and by pool
// key so that one pool's members are found without scanning the fleet, recomputes only the
// names that changed, and tells watchers about real changes only (ADDED/MODIFIED/DELETED).
// Encoding answers is the routes' business (routes/members-answer.ts); a pool's stamp tells
// them when what they encoded is out of date.
import { buildViews, type LiveLlm, type StaticProbe, type ViewClock } from '../schema/effective.js';
import { compareNames, membersOf, summarizePools } from '../schema/pools.js';
import { MEMBER_KINDS, PHASES, type LlmView, type MemberKind, type MembersAnswer, type Phase, type PoolSummary, type StatusAnswer } from '../schema/views.js';
import type { DeclaredIndex, DeclaredSnapshot } from './declared-index.js';
import type { DesiredStateView } from './desired-state-api.js';
import type { Leases } from './leases.js';

export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; view: LlmView } | { type: 'STATUS' };
export type WatchListener = (event: WatchEvent) => void;

export interface EffectiveStateOptions {
  desired: DesiredStateView;
  declared: DeclaredIndex;
  leases: Leases;
  now: () => number;
  ttlMs: number;
}

/**
 * Changes whenever a pool's membership or any member's signature changes, and on every new
 * revision: compared by identity, it tells a cache of encoded answers to rebuild.
 */
export type PoolStamp = Readonly<Record<string, never>>;

interface CachedView {
  view: LlmView;
  /** What a watcher cares about; equal signatures mean no event. */
  signature: string;
  poolKey: string;
}

export type Counts = StatusAnswer['counts'];

export class EffectiveState {
  private readonly cache = new Map<string, CachedView>();
  private readonly poolNames = new Map<string, Set<string>>();
  private readonly sortedMembers = new Map<string, string[]>();
  private readonly summaries = new Map<string, PoolSummary>();
  private readonly stamps = new Map<string, PoolStamp>();
  private sortedPoolKeys: string[] | null = null;
  private readonly byPhaseKind = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly probes = new Map<string, StaticProbe>();
  private readonly listeners = new Set<WatchListener>();
  private snapshot: DeclaredSnapshot | null = null;
  private statusKey = '';
  private scheduled = false;
  private refreshing = false;
  private readonly unsubscribers: (() => void)[] = [];

  constructor(private readonly options: EffectiveStateOptions) {}

  /**
   * Subscribes to leases and the desired state and computes everything once. The clock reaches
   * the index through the leases: their sweep timer reports the names that turned stale.
   */
  start(): void {
    this.unsubscribers.push(this.options.leases.onChange((names) => this.markDirty(names)));
    this.unsubscribers.push(this.options.desired.onChange(() => this.schedule()));
    this.refresh();
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }

  subscribe(listener: WatchListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /**
   * Something /api/v1/status shows besides the revision changed (the lease store became
   * unavailable or came back, another reconciler leads): a STATUS event for the watchers.
   */
  statusChanged(): void {
    this.emit({ type: 'STATUS' });
  }

  /** Feeds a static endpoint's probe result (undefined: not probed). */
  setProbe(name: string, probe: StaticProbe | undefined): void {
    const before = this.probes.get(name);
    if (before?.ok === probe?.ok && before?.message === probe?.message) return;
    if (probe === undefined) this.probes.delete(name);
    else this.probes.set(name, probe);
    this.markDirty([name]);
  }

  /** Brings the index up to date with the revision, the leases and the clock; emits changes. */
  refresh(): void {
    // A watcher that reads the state while an event is delivered gets the index as it stands.
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const snapshot = this.options.declared.current();
      if (snapshot !== this.snapshot) {
        this.snapshot = snapshot;
        this.dirty.clear();
        this.recomputeAll(snapshot);
      } else if (this.dirty.size > 0) {
        const names = [...this.dirty];
        this.dirty.clear();
        this.recompute(names);
      }
      const status = this.options.desired.status();
      const statusKey = JSON.stringify([status.revision, status.errors]);
      if (statusKey !== this.statusKey) {
        const first = this.statusKey === '';
        this.statusKey = statusKey;
        if (!first) this.emit({ type: 'STATUS' });
      }
    } finally {
      this.refreshing = false;
    }
  }

  /** One view, computed now (its ages are current). */
  view(name: string): LlmView | null {
    this.refresh();
    if (!this.cache.has(name)) return null;
    return this.computeViews([name])[0] ?? null;
  }

  /** Every view, or one pool's members, computed now and sorted by name. */
  views(poolKey?: string): LlmView[] {
    this.refresh();
    const snapshot = this.snapshotNow();
    if (poolKey !== undefined) return this.computeViews(this.membersOfKey(poolKey));
    return buildViews({
      declared: snapshot.served?.llms ?? [],
      revision: snapshot.revision,
      live: this.options.leases.allLive(),
      nowMs: this.options.now(),
      ttlMs: this.options.ttlMs,
      probes: this.probes,
    });
  }

  /** The `/members` answer of `anchor`; null when it is not in the effective state. */
  members(anchor: string): MembersAnswer | null {
    this.refresh();
    const cached = this.cache.get(anchor);
    if (cached === undefined) return null;
    const views = this.computeViews(this.membersOfKey(cached.poolKey));
    return membersOf(views, anchor, this.snapshotNow().policies);
  }

  /** The clock as the view rules read it. */
  now(): number {
    return this.options.now();
  }

  /** What a view's phase and reason depend on at `nowMs`, besides the declared and live entries. */
  clockAt(nowMs: number): Required<ViewClock> {
    return { nowMs, ttlMs: this.options.ttlMs, probes: this.probes };
  }

  /** The served revision as the index last saw it. */
  declaredSnapshot(): DeclaredSnapshot {
    return this.snapshotNow();
  }

  /** The pool key of `name`; undefined when it is not in the effective state. */
  poolKeyOf(name: string): string | undefined {
    return this.cache.get(name)?.poolKey;
  }

  /** Whether any Llm is in the pool `key`. */
  hasPool(key: string): boolean {
    return this.poolNames.has(key);
  }

  /** The pool's member names, sorted; the same array until the membership changes. */
  memberNames(key: string): readonly string[] {
    return this.membersOfKey(key);
  }

  /** The live registration of `name`, if any. */
  liveOf(name: string): LiveLlm | undefined {
    return this.options.leases.live(name);
  }

  /** See PoolStamp. */
  poolStamp(key: string): PoolStamp {
    let stamp = this.stamps.get(key);
    if (stamp === undefined) {
      stamp = {};
      this.stamps.set(key, stamp);
    }
    return stamp;
  }

  /** Every pool, including LlmPool policies without members, sorted by key. */
  pools(): PoolSummary[] {
    this.refresh();
    return this.poolKeys().map((key) => this.summaryOf(key));
  }

  counts(): Counts {
    this.refresh();
    const byPhase = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
    const byKind = Object.fromEntries(MEMBER_KINDS.map((k) => [k, 0])) as Record<MemberKind, number>;
    for (const [key, n] of this.byPhaseKind) {
      const [phase, kind] = key.split('|') as [Phase, MemberKind];
      byPhase[phase] += n;
      byKind[kind] += n;
    }
    return { llms: this.cache.size, pools: this.poolKeys().length, agents: this.options.leases.agentCount, byPhase, byKind };
  }

  /** Member count per phase and kind, for metrics. */
  phaseKindCounts(): { phase: Phase; kind: MemberKind; count: number }[] {
    this.refresh();
    const out: { phase: Phase; kind: MemberKind; count: number }[] = [];
    for (const [key, count] of this.byPhaseKind) {
      const [phase, kind] = key.split('|') as [Phase, MemberKind];
      out.push({ phase, kind, count });
    }
    return out;
  }

  private snapshotNow(): DeclaredSnapshot {
    return this.snapshot ?? this.options.declared.current();
  }

  private markDirty(names: readonly string[]): void {
    for (const name of names) this.dirty.add(name);
    this.schedule();
  }

  /** Coalesces a burst of changes into one recompute, soon after. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.refresh();
    });
  }

  private computeViews(names: readonly string[]): LlmView[] {
    const snapshot = this.snapshotNow();
    const declared = [];
    const live = [];
    for (const name of names) {
      const d = snapshot.byName.get(name);
      if (d !== undefined) declared.push(d);
      const l = this.options.leases.live(name);
      if (l !== undefined) live.push(l);
    }
    return buildViews({ declared, revision: snapshot.revision, live, nowMs: this.options.now(), ttlMs: this.options.ttlMs, probes: this.probes });
  }

  private recomputeAll(snapshot: DeclaredSnapshot): void {
    const views = buildViews({
      declared: snapshot.served?.llms ?? [],
      revision: snapshot.revision,
      live: this.options.leases.allLive(),
      nowMs: this.options.now(),
      ttlMs: this.options.ttlMs,
      probes: this.probes,
    });
    const seen = new Set<string>();
    for (const view of views) {
      seen.add(view.metadata.name);
      this.apply(view.metadata.name, view);
    }
    for (const name of [...this.cache.keys()]) if (!seen.has(name)) this.apply(name, undefined);
    // Policies may have changed with the revision, and every declared view names it.
    this.summaries.clear();
    this.stamps.clear();
    this.sortedPoolKeys = null;
  }

  private recompute(names: readonly string[]): void {
    const views = this.computeViews(names);
    const byName = new Map(views.map((v) => [v.metadata.name, v]));
    for (const name of names) this.apply(name, byName.get(name));
  }

  private apply(name: string, view: LlmView | undefined): void {
    const old = this.cache.get(name);
    if (view === undefined) {
      if (old === undefined) return;
      this.cache.delete(name);
      this.count(old.view, -1);
      this.leavePool(name, old.poolKey);
      this.emit({ type: 'DELETED', view: old.view });
      return;
    }
    const signature = signatureOf(view);
    const poolKey = view.status.pool.key;
    this.cache.set(name, { view, signature, poolKey });
    if (old === undefined) {
      this.count(view, 1);
      this.joinPool(name, poolKey);
      this.emit({ type: 'ADDED', view });
      return;
    }
    if (old.signature === signature) return;
    this.count(old.view, -1);
    this.count(view, 1);
    if (old.poolKey !== poolKey) {
      this.leavePool(name, old.poolKey);
      this.joinPool(name, poolKey);
    } else {
      this.summaries.delete(poolKey);
      this.stamps.delete(poolKey);
    }
    this.emit({ type: 'MODIFIED', view });
  }

  private count(view: LlmView, delta: number): void {
    const key = `${view.status.phase}|${view.status.kind}`;
    const n = (this.byPhaseKind.get(key) ?? 0) + delta;
    if (n === 0) this.byPhaseKind.delete(key);
    else this.byPhaseKind.set(key, n);
  }

  private joinPool(name: string, key: string): void {
    let names = this.poolNames.get(key);
    if (names === undefined) {
      names = new Set();
      this.poolNames.set(key, names);
      this.sortedPoolKeys = null;
    }
    names.add(name);
    this.sortedMembers.delete(key);
    this.summaries.delete(key);
    this.stamps.delete(key);
  }

  private leavePool(name: string, key: string): void {
    const names = this.poolNames.get(key);
    if (names === undefined) return;
    names.delete(name);
    if (names.size === 0) {
      this.poolNames.delete(key);
      this.sortedPoolKeys = null;
    }
    this.sortedMembers.delete(key);
    this.summaries.delete(key);
    this.stamps.delete(key);
  }

  private membersOfKey(key: string): string[] {
    let sorted = this.sortedMembers.get(key);
    if (sorted === undefined) {
      sorted = [...(this.poolNames.get(key) ?? [])].sort(compareNames);
      this.sortedMembers.set(key, sorted);
    }
    return sorted;
  }

  private poolKeys(): string[] {
    if (this.sortedPoolKeys === null) {
      const keys = new Set(this.poolNames.keys());
      for (const key of this.snapshotNow().policies.keys()) keys.add(key);
      this.sortedPoolKeys = [...keys].sort(compareNames);
    }
    return this.sortedPoolKeys;
  }

  private summaryOf(key: string): PoolSummary {
    let summary = this.summaries.get(key);
    if (summary === undefined) {
      const views: LlmView[] = [];
      for (const name of this.membersOfKey(key)) {
        const cached = this.cache.get(name);
        if (cached !== undefined) views.push(cached.view);
      }
      const policy = this.snapshotNow().policies.get(key);
      const policies = policy === undefined ? new Map() : new Map([[key, policy]]);
      summary = summarizePools(views, policies)[0] ?? { key, explicit: false, size: 0, activeCount: 0, minActive: 0, health: 'Healthy', declared: false, members: [] };
      this.summaries.set(key, summary);
    }
    return summary;
  }

  private emit(event: WatchEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One broken watcher must not stop the index or the others; it cleans up on close.
      }
    }
  }
}

/**
 * The parts of a view a watcher is told about: spec, phase, pool, agent identity, drift. Ages
 * in reasons, heartbeat times and GPU usage move on every beat and are left out, so a
 * heartbeat that changes nothing else wakes nobody.
 */
export function signatureOf(view: LlmView): string {
  const { status } = view;
  const ageInReason = status.agent !== null && (status.phase === 'active' || status.phase === 'stale');
  return JSON.stringify([
    view.metadata,
    view.spec,
    status.kind,
    status.phase,
    status.pool,
    status.sync,
    status.source === null ? null : [status.source.file, status.source.line],
    status.agent === null ? null : [status.agent.id, status.agent.host, status.agent.url, status.agent.gpus.map((g) => [g.index, g.name, g.memoryTotalMiB])],
    status.drift,
    ageInReason ? null : status.reason,
  ]);
}
