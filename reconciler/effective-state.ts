// The effective state the routes serve: views rebuilt with schema/effective.ts buildViews from
// (served revision, live leases, now), level-triggered. It keeps an index by name and by pool
// key so that one pool's members are found without scanning the fleet, recomputes only the
// names that changed, and tells watchers about real changes only (ADDED/MODIFIED/DELETED).
import type { LocatedLlm } from '../schema/codec.js';
import { buildViews, phaseOf, type LiveLlm, type StaticProbe } from '../schema/effective.js';
import { compareNames, membersOf, poolHealthOf, summarizePools } from '../schema/pools.js';
import { MEMBER_KINDS, PHASES, type LlmView, type MemberKind, type MembersAnswer, type Phase, type PoolStats, type PoolSummary, type StatusAnswer } from '../schema/views.js';
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

/** A pool's member views, computed at `atMs` and serialised once for the requests that follow. */
interface PoolAnswer {
  atMs: number;
  /** The views as a UTF-8 JSON array, encoded once. */
  json: Buffer;
  /** The pool's figures as membersOf computes them, less the anchor's own `explicit`. */
  stats: Omit<PoolStats, 'explicit'>;
  /** Each member's `explicit` (its own poolName is set); the anchors this answer can serve. */
  explicitByName: Map<string, boolean>;
  /** The member names serialised, in order (the index's own sorted list, compared by identity). */
  names: readonly string[];
  /** Each serialised member's JSON, in order: a rebuild that finds them all the same keeps `json`. */
  memberTexts: string[];
}

/**
 * One member's view serialised, with the inputs it was built from. While those inputs hold
 * (compared by identity, the live entry field by field) and its phase is the same, its view
 * differs from a fresh one only in the reason's age: a rebuild writes `head`, the reason and
 * `tail` rather than building and serialising the view again.
 */
interface MemberJson {
  declared: LocatedLlm | undefined;
  live: LiveLlm | undefined;
  probe: StaticProbe | undefined;
  revision: string | null;
  phase: Phase;
  explicit: boolean;
  /** The view's JSON before the reason's value, and after it; null tail: the JSON is all in head. */
  head: string;
  tail: string | null;
  /** The reason last written between head and tail, and the member's whole JSON with it. */
  reason: string | null;
  text: string;
}

/**
 * How long a pool's serialised members may be served again. Real changes (phase, pool, agent,
 * spec) drop it at once; only the ages in reasons, heartbeat times and GPU usage figures (a
 * beat's telemetry, not a change) may lag by up to this.
 */
export const POOL_ANSWER_MAX_AGE_MS = 1000;
const CLOSE_BRACE = Buffer.from('}');
const EMPTY_ARRAY = Buffer.from('[]');
/** Stands in for the reason while a member is serialised, to find where the reason goes. */
export const REASON_MARK = '\u0000mcpctl-reason\u0000';
const REASON_MARK_JSON = JSON.stringify(REASON_MARK);

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
  private readonly poolAnswers = new Map<string, PoolAnswer>();
  private readonly memberJson = new Map<string, MemberJson>();
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

  /**
   * The `/members` answer as UTF-8 JSON, in parts to be written one after the other: a small
   * head naming the anchor, then the member list serialised once per pool and shared by every
   * anchor and request until it changes (or ages past POOL_ANSWER_MAX_AGE_MS). Not joining them
   * keeps a request from copying the whole list (600 KB for 1,000 members) into a fresh buffer,
   * whose external memory would set off a garbage collection every request or two.
   */
  membersParts(anchor: string): Buffer[] | null {
    this.refresh();
    const cached = this.cache.get(anchor);
    if (cached === undefined) return null;
    const answer = this.poolAnswerOf(cached.poolKey);
    const explicit = answer.explicitByName.get(anchor);
    if (explicit === undefined) return null;
    const { key, size, activeCount, minActive, health } = answer.stats;
    const pool: PoolStats = { key, explicit, size, activeCount, minActive, health };
    const head = `${JSON.stringify({ anchor, pool }).slice(0, -1)},"members":`;
    return [Buffer.from(head), answer.json, CLOSE_BRACE];
  }

  /** membersParts joined into one buffer. */
  membersJson(anchor: string): Buffer | null {
    const parts = this.membersParts(anchor);
    return parts === null ? null : Buffer.concat(parts);
  }

  /** `{revision, items}` of one pool's member views (`/llms?pool=KEY`), as UTF-8 JSON parts. */
  poolViewsParts(poolKey: string, revision: string | null): Buffer[] {
    this.refresh();
    const head = Buffer.from(`{"revision":${JSON.stringify(revision)},"items":`);
    const items = this.poolNames.has(poolKey) ? this.poolAnswerOf(poolKey).json : EMPTY_ARRAY;
    return [head, items, CLOSE_BRACE];
  }

  /** poolViewsParts joined into one buffer. */
  poolViewsJson(poolKey: string, revision: string | null): Buffer {
    return Buffer.concat(this.poolViewsParts(poolKey, revision));
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

  private poolAnswerOf(key: string): PoolAnswer {
    const now = this.options.now();
    let answer = this.poolAnswers.get(key);
    if (answer === undefined || now - answer.atMs >= POOL_ANSWER_MAX_AGE_MS || now < answer.atMs) {
      answer = this.buildPoolAnswer(key, now);
      this.poolAnswers.set(key, answer);
    }
    return answer;
  }

  /**
   * The pool's members serialised at `now`, from each member's cached JSON where its inputs are
   * unchanged: once a second every reason's age moves on, and re-rendering only those keeps
   * the rebuild (and its garbage) small. What membersOf works out per anchor is worked out
   * here once: every member of one pool shares all of it but `explicit`.
   */
  private buildPoolAnswer(key: string, now: number): PoolAnswer {
    const snapshot = this.snapshotNow();
    const clock = { nowMs: now, ttlMs: this.options.ttlMs, probes: this.probes };
    const names = this.membersOfKey(key);
    const previous = this.poolAnswers.get(key);
    const memberTexts: string[] = [];
    // Whether every member serialises as it did in the previous answer: then its bytes are kept,
    // and a rebuild (once a second for a pool that is read) allocates no pool-sized string.
    let same = previous !== undefined && previous.names === names;
    let activeCount = 0;
    const explicitByName = new Map<string, boolean>();
    for (const name of names) {
      const declared = snapshot.byName.get(name);
      const live = this.options.leases.live(name);
      const phased = phaseOf(declared, live, clock);
      if (phased === null) continue;
      const [phase, reason] = phased;
      let member = this.memberJson.get(name);
      if (member === undefined || !isSameInputs(member, declared, live, this.probes.get(name), snapshot.revision) || member.phase !== phase) {
        const rendered = this.renderMember(name, declared, live, now);
        if (rendered === null) continue;
        member = rendered;
        this.memberJson.set(name, member);
      }
      if (member.tail !== null && member.reason !== reason) {
        member.reason = reason;
        member.text = member.head + JSON.stringify(reason) + member.tail;
      }
      if (same && previous?.memberTexts[memberTexts.length] !== member.text) same = false;
      memberTexts.push(member.text);
      if (phase === 'active') activeCount++;
      explicitByName.set(name, member.explicit);
    }
    if (previous !== undefined && memberTexts.length !== previous.memberTexts.length) same = false;
    const json = same && previous !== undefined ? previous.json : Buffer.from(`[${memberTexts.join(',')}]`);
    const minActive = snapshot.policies.get(key)?.minActive ?? 0;
    const stats = { key, size: memberTexts.length, activeCount, minActive, health: poolHealthOf(activeCount, minActive) };
    return { atMs: now, json, stats, explicitByName, names, memberTexts };
  }

  /** One member's view built and serialised afresh, its reason cut out where it can be. */
  private renderMember(name: string, declared: LocatedLlm | undefined, live: LiveLlm | undefined, now: number): MemberJson | null {
    const snapshot = this.snapshotNow();
    const view = buildViews({
      declared: declared === undefined ? [] : [declared],
      revision: snapshot.revision,
      live: live === undefined ? [] : [live],
      nowMs: now,
      ttlMs: this.options.ttlMs,
      probes: this.probes,
    })[0];
    if (view === undefined) return null;
    const marked = JSON.stringify({ ...view, status: { ...view.status, reason: REASON_MARK } });
    const at = marked.indexOf(REASON_MARK_JSON);
    // An agent's strings could hold the mark too; such a member is then served whole, not cut.
    const cut = at >= 0 && marked.indexOf(REASON_MARK_JSON, at + 1) < 0;
    const head = cut ? marked.slice(0, at) : JSON.stringify(view);
    const tail = cut ? marked.slice(at + REASON_MARK_JSON.length) : null;
    return {
      declared,
      live,
      probe: this.probes.get(name),
      revision: snapshot.revision,
      phase: view.status.phase,
      explicit: view.spec.poolName !== undefined,
      head,
      tail,
      reason: tail === null ? null : view.status.reason,
      text: tail === null ? head : head + JSON.stringify(view.status.reason) + tail,
    };
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
    this.poolAnswers.clear();
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
      this.memberJson.delete(name);
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
      this.poolAnswers.delete(poolKey);
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
    this.poolAnswers.delete(key);
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
    this.poolAnswers.delete(key);
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

/** Whether a member's cached JSON was built from these very inputs. */
function isSameInputs(member: MemberJson, declared: LocatedLlm | undefined, live: LiveLlm | undefined, probe: StaticProbe | undefined, revision: string | null): boolean {
  return member.declared === declared && member.probe === probe && member.revision === revision && isSameLive(member.live, live);
}

/** Field by field: the leases hand out a fresh LiveLlm on every read. */
function isSameLive(a: LiveLlm | undefined, b: LiveLlm | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  for (const key in a) if (a[key as keyof LiveLlm] !== b[key as keyof LiveLlm]) return false;
  for (const key in b) if (a[key as keyof LiveLlm] !== b[key as keyof LiveLlm]) return false;
  return true;
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
