// The reconciler's lease registry (DESIGN §3): a cache of the lease store, fed by its watch
// (list at a revision, then every change after it), indexed by agent and by name, that tells
// the effective state which names changed. Agent requests run the pure rules of lease-rules.ts
// on the cached records and hand the outcome to the store, which decides conflicts (takeover,
// concurrent registration) by compare-and-set; the cache learns the result from the watch like
// any other change. The clock is applied on a timer (sweep): TTL → stale, --gc → removed.
import { randomUUID } from 'node:crypto';
import type { DesiredForAgent, Heartbeat, Load, Registration, RegistrationAnswer } from '../schema/agent-protocol.js';
import type { LiveLlm } from '../schema/effective.js';
import type { DeclaredIndex, DeclaredSnapshot } from './declared-index.js';
import * as rules from './lease-rules.js';
import { changedNames, fateOf, isLeaseStale, isSameGpuInventory, nextFateAt, type HeldLease, type Rejection, type RuleContext, type Takeover, type UnmanagedMode } from './lease-rules.js';
import { LeaseWatchGap, StoreUnavailable, type LeaseEvent, type LeaseRecord, type LeaseStore, type StoredLlm } from './lease-store.js';

export type { Rejection, UnmanagedMode };

export interface LeasesOptions {
  store: LeaseStore;
  declared: DeclaredIndex;
  now: () => number;
  ttlMs: number;
  gcMs: number;
  heartbeatIntervalMs: number;
  unmanaged: UnmanagedMode;
  /** Reports a failed background write (GC, batched heartbeats). */
  onError?: (error: Error) => void;
}

/** A cached lease: the store's record and revision, its entries by name, what the clock made of it. */
interface CachedLease extends HeldLease {
  entries: Map<string, StoredLlm>;
  /** Whether the last sweep saw this lease stale; a flip is a change of every name it holds. */
  staleAtLastSweep: boolean;
}

/** Called with the names whose live state really changed (phase, pool, agent, spec, health). */
export type LeaseChangeListener = (names: readonly string[]) => void;

/** How often a write the store refused for a concurrent change is tried again from its answer. */
const CAS_ATTEMPTS = 5;

export class Leases {
  private readonly agents = new Map<string, CachedLease>();
  private readonly owners = new Map<string, CachedLease>();
  private readonly versions = new Map<string, number>();
  private readonly listeners = new Set<LeaseChangeListener>();
  private readonly holderOf = (name: string): HeldLease | undefined => this.owners.get(name);
  /** No lease can turn stale or be collected before this time; sweeps before it do nothing. */
  private nextSweepAt = Number.POSITIVE_INFINITY;
  private unwatch: (() => void) | null = null;
  /** Desired answers by the entries they were made for (answers are serialised, never changed). */
  private readonly desired = new WeakMap<readonly StoredLlm[], { snapshot: DeclaredSnapshot; desired: DesiredForAgent[] }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LeasesOptions) {}

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  get agentCount(): number {
    return this.agents.size;
  }

  get nameCount(): number {
    return this.owners.size;
  }

  onChange(listener: LeaseChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Lists the store and watches it from there. What the list holds was left by an earlier run:
   * those leases are stale until their agent's next heartbeat, unless the store is shared with
   * running reconcilers (their times are current). Returns how many there were.
   */
  async restore(): Promise<number> {
    for (;;) {
      const list = await this.options.store.list();
      this.unwatch?.();
      try {
        this.unwatch = this.options.store.watch(list.revision, (event) => this.apply(event));
      } catch (error) {
        if (error instanceof LeaseWatchGap) continue;
        throw error;
      }
      const changed: string[] = [];
      const restored = list.shared !== true;
      for (const { record, modRevision } of list.records) {
        const lease = cachedOf(record, modRevision, restored);
        lease.staleAtLastSweep = isLeaseStale(lease, this.options.now(), this.options.ttlMs);
        for (const entry of record.llms) {
          const holder = this.owners.get(entry.name);
          // Two records naming one name cannot come from one reconciler; keep the fresher one.
          if (holder !== undefined && holder.record.lastHeartbeatAt >= record.lastHeartbeatAt) continue;
          this.owners.set(entry.name, lease);
          changed.push(entry.name);
        }
        this.agents.set(record.agentId, lease);
        this.nextSweepAt = Math.min(this.nextSweepAt, record.lastHeartbeatAt + (restored ? this.options.gcMs : this.options.ttlMs) + 1);
      }
      this.bump(changed);
      return list.records.length;
    }
  }

  /** Applies the clock every `intervalMs` (unref'd) until stop(). */
  startSweeping(intervalMs: number): void {
    this.sweep();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  /** Stops the sweep timer and the store watch. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.unwatch?.();
    this.unwatch = null;
  }

  async register(registration: Registration): Promise<RegistrationAnswer> {
    this.assertWritable();
    for (let attempt = 1; ; attempt++) {
      const ctx = this.context();
      const previous = this.agents.get(registration.agentId);
      // The revision the rules saw: the cache's lease moves on in place while this waits.
      const expected = previous?.modRevision ?? 0;
      const outcome = rules.register(previous, registration, randomUUID(), ctx);
      const rejected = outcome.rejected;
      const record = await this.withTakeovers(outcome.record, outcome.takeovers, rejected);
      const result = await this.options.store.compareAndSet(record.agentId, expected, record);
      if (result.ok) return this.answerFor(record, rejected, ctx.snapshot, rules.desiredOf(record, ctx.snapshot));
      if (attempt >= CAS_ATTEMPTS) throw new Error(`the lease of agent ${registration.agentId} kept changing while it registered`);
    }
  }

  /**
   * Null when the agent has no lease or `leaseId` is not its current one (LeaseNotFound). A beat
   * that changes nothing (the common case) is a touch of the store: no record, no change, no
   * listener call.
   */
  async heartbeat(agentId: string, beat: Heartbeat): Promise<RegistrationAnswer | null> {
    this.assertWritable();
    for (let attempt = 1; ; attempt++) {
      const held = this.agents.get(agentId);
      if (held === undefined || held.record.leaseId !== beat.leaseId) return null;
      const ctx = this.context();
      const expected = held.modRevision;
      const outcome = rules.heartbeat(held, beat, ctx);
      const store = this.options.store;
      let record = outcome.record;
      let written: boolean;
      if (outcome.write === 'touch') {
        written = store.touch(agentId, ctx.nowMs, outcome.gpus, outcome.loads);
      } else if (outcome.write === 'put') {
        written = store.putLater(expected, record).ok;
      } else {
        record = await this.withTakeovers(record, outcome.takeovers, outcome.rejected);
        written = (await store.compareAndSet(agentId, expected, record)).ok;
      }
      if (written) {
        this.nextSweepAt = Math.min(this.nextSweepAt, ctx.nowMs + this.options.ttlMs + 1);
        return this.answerFor(record, outcome.rejected, ctx.snapshot, this.desiredOf(record, ctx.snapshot));
      }
      if (attempt >= CAS_ATTEMPTS) throw new Error(`the lease of agent ${agentId} kept changing while it beat`);
    }
  }

  /** Drops the agent's lease and every name it holds; null when there is no such lease. */
  async deregister(agentId: string, leaseId?: string): Promise<string[] | null> {
    this.assertWritable();
    for (let attempt = 1; ; attempt++) {
      const held = this.agents.get(agentId);
      if (held === undefined || (leaseId !== undefined && held.record.leaseId !== leaseId)) return null;
      const released = this.ownedNamesOf(held);
      if ((await this.options.store.compareAndSet(agentId, held.modRevision, null)).ok) return released;
      if (attempt >= CAS_ATTEMPTS) throw new Error(`the lease of agent ${agentId} kept changing while it deregistered`);
    }
  }

  /**
   * Applies the clock: leases past the TTL turn stale (a change of each name they hold), leases
   * past --gc are removed from the store. Does nothing before the next possible expiry.
   */
  sweep(): void {
    const now = this.options.now();
    if (now < this.nextSweepAt) return;
    let next = Number.POSITIVE_INFINITY;
    const changed: string[] = [];
    // While the store is away a collection would only fail; the next sweep after it returns does it.
    const canCollect = this.options.store.availability().available;
    for (const lease of [...this.agents.values()]) {
      const fate = fateOf(lease, now, this.options.ttlMs, this.options.gcMs);
      if (fate === 'collect' && !canCollect) {
        next = now;
        continue;
      }
      if (fate === 'collect') {
        this.options.store.compareAndSet(lease.record.agentId, lease.modRevision, null).catch((error: unknown) => this.options.onError?.(error as Error));
        continue;
      }
      const stale = fate === 'stale';
      if (stale !== lease.staleAtLastSweep) {
        lease.staleAtLastSweep = stale;
        changed.push(...lease.entries.keys());
      }
      next = Math.min(next, nextFateAt(lease, now, this.options.ttlMs, this.options.gcMs));
    }
    this.nextSweepAt = next;
    this.bump(changed);
  }

  /** The live registration of `name`, as the effective state reads it. */
  live(name: string): LiveLlm | undefined {
    const lease = this.owners.get(name);
    if (lease === undefined) return undefined;
    const entry = lease.entries.get(name);
    return entry === undefined ? undefined : liveOf(lease, entry);
  }

  liveNames(): IterableIterator<string> {
    return this.owners.keys();
  }

  allLive(): LiveLlm[] {
    const out: LiveLlm[] = [];
    for (const [name, lease] of this.owners) {
      const entry = lease.entries.get(name);
      if (entry !== undefined) out.push(liveOf(lease, entry));
    }
    return out;
  }

  /**
   * For the watch's once-a-second HEARTBEAT ticker: each agent that holds a name, with its newest
   * beat, and the load of every name it holds, read from the cache without a LiveLlm per name.
   */
  readBeats(onAgent: (agentId: string, lastHeartbeatAt: number) => void, onLoad: (name: string, load: Load | undefined) => void): void {
    for (const [agentId, lease] of this.agents) {
      let holds = false;
      for (const [name, entry] of lease.entries) {
        if (this.owners.get(name) !== lease) continue;
        holds = true;
        onLoad(name, entry.load);
      }
      if (holds) onAgent(agentId, lease.record.lastHeartbeatAt);
    }
  }

  /** Names currently held by the agent; null when it has no lease. */
  namesOf(agentId: string): string[] | null {
    const lease = this.agents.get(agentId);
    return lease === undefined ? null : lease.record.llms.map((entry) => entry.name);
  }

  /** Bumped on every real change of the name's live state; 0 when never seen. */
  versionOf(name: string): number {
    return this.versions.get(name) ?? 0;
  }

  async flush(): Promise<void> {
    await this.options.store.flush();
  }

  /**
   * Drops the names the served revision no longer lets an agent hold: names declared
   * `source: static`, and under `--unmanaged reject` names it does not declare. Called when the
   * revision changes; the agent then sees the name gone from its answer's `desired`, sends the
   * full entry again and gets the refusal's reason in `rejected`. Nothing is dropped while no
   * revision is loaded.
   */
  enforceRevision(): string[] {
    const snapshot = this.options.declared.current();
    const dropped: string[] = [];
    for (const lease of [...this.agents.values()]) {
      const outcome = rules.enforceRevision(lease.record, snapshot, this.options.unmanaged);
      if (outcome === null) continue;
      // A refusal means the lease changed under us; its next change is enforced on the next revision.
      if (this.options.store.putLater(lease.modRevision, outcome.record).ok) dropped.push(...outcome.dropped);
    }
    return dropped;
  }

  /**
   * Every agent write answers at once while the store is known to be away (every beat, even one
   * that changes nothing, must reach the other reconcilers): the route answers 503 and the agent
   * retries, here or at another reconciler. A plain beat would otherwise be accepted locally and
   * batched, and one that changes an entry would wait for a store that is not there.
   */
  private assertWritable(): void {
    const availability = this.options.store.availability();
    if (!availability.available) throw new StoreUnavailable(availability.reason);
  }

  /** Takes the names of `takeovers` from their holders, each by compare-and-set; what the store refuses is dropped from `record` and rejected. */
  private async withTakeovers(record: LeaseRecord, takeovers: readonly Takeover[], rejected: Rejection[]): Promise<LeaseRecord> {
    if (takeovers.length === 0) return record;
    const refused = new Set<string>();
    await Promise.all(takeovers.map(async ({ holder, names }) => {
      let current: HeldLease | undefined = holder;
      for (let attempt = 1; current !== undefined; attempt++) {
        // The rule and the compare-and-set see the holder at one instant (no await between).
        const held = new Set(current.record.llms.map((entry) => entry.name));
        const taking = names.filter((name) => held.has(name));
        if (taking.length === 0) return;
        const step = rules.takeover(current, taking, this.options.now(), this.options.ttlMs);
        if (step.ok && attempt <= CAS_ATTEMPTS) {
          const result = await this.options.store.compareAndSet(current.record.agentId, current.modRevision, step.record);
          if (result.ok) return;
          current = result.current === null ? undefined : this.heldOf(result.current.record, result.current.modRevision);
          continue;
        }
        const reason = step.ok ? `held by agent ${current.record.agentId}, whose lease kept changing` : step.reason;
        for (const name of taking) {
          refused.add(name);
          rejected.push({ name, reason });
        }
        return;
      }
    }));
    return refused.size === 0 ? record : { ...record, llms: record.llms.filter((entry) => !refused.has(entry.name)) };
  }

  /** A record the store answered with, as the rules see it (restored only if the cache says so). */
  private heldOf(record: LeaseRecord, modRevision: number): HeldLease {
    const cached = this.agents.get(record.agentId);
    return { record, modRevision, restored: cached !== undefined && cached.modRevision === modRevision && cached.restored };
  }

  private context(): RuleContext {
    return {
      nowMs: this.options.now(),
      ttlMs: this.options.ttlMs,
      unmanaged: this.options.unmanaged,
      snapshot: this.options.declared.current(),
      holderOf: this.holderOf,
    };
  }

  /** One change from the store's watch, applied to the cache; the names it changed are bumped. */
  private apply(event: LeaseEvent): void {
    const now = this.options.now();
    const agentId = event.type === 'delete' ? event.agentId : event.record.agentId;
    const before = this.agents.get(agentId);
    if (event.type === 'delete') {
      if (before === undefined) return;
      const released = this.ownedNamesOf(before);
      for (const name of released) this.owners.delete(name);
      this.agents.delete(agentId);
      this.bump(released);
      return;
    }
    // Restored until the agent is heard from, which moves its heartbeat time (a takeover does not).
    const restored = before !== undefined && before.restored && before.record.lastHeartbeatAt === event.record.lastHeartbeatAt;
    this.nextSweepAt = Math.min(this.nextSweepAt, event.record.lastHeartbeatAt + this.options.ttlMs + 1);
    if (event.type === 'touch' && before !== undefined && before.record === event.record) {
      // Time and telemetry only, set on the record in place: the entries and the name index
      // stay as they are. A flip between stale and live, or new GPU hardware, changes every name.
      const ttlMs = this.options.ttlMs;
      const wasStale = before.restored || now - event.previousHeartbeatAt > ttlMs;
      before.modRevision = event.modRevision;
      before.restored = false;
      const stale = isLeaseStale(before, now, ttlMs);
      before.staleAtLastSweep = stale;
      if (wasStale !== stale || (event.previousGpus !== event.record.gpus && !isSameGpuInventory(event.previousGpus, event.record.gpus))) {
        this.bump([...before.entries.keys()]);
      }
      return;
    }
    const after = cachedOf(event.record, event.modRevision, restored);
    after.staleAtLastSweep = isLeaseStale(after, now, this.options.ttlMs);
    const changed = changedNames(before, after, now, this.options.ttlMs);
    if (before !== undefined) {
      for (const entry of before.record.llms) if (!after.entries.has(entry.name) && this.owners.get(entry.name) === before) this.owners.delete(entry.name);
    }
    for (const entry of event.record.llms) this.owners.set(entry.name, after);
    this.agents.set(agentId, after);
    this.bump(changed);
  }

  private ownedNamesOf(lease: CachedLease): string[] {
    const names: string[] = [];
    for (const entry of lease.record.llms) if (this.owners.get(entry.name) === lease) names.push(entry.name);
    return names;
  }

  private bump(names: readonly string[]): void {
    if (names.length === 0) return;
    for (const name of names) this.versions.set(name, (this.versions.get(name) ?? 0) + 1);
    for (const listener of this.listeners) listener(names);
  }

  /**
   * A heartbeat's desired answer, kept while the entries and the revision are the same (every
   * plain beat): the same for a lease beat after beat, and garbage each time if built afresh.
   */
  private desiredOf(record: LeaseRecord, snapshot: DeclaredSnapshot): DesiredForAgent[] {
    const kept = this.desired.get(record.llms);
    if (kept !== undefined && kept.snapshot === snapshot) return kept.desired;
    const desired = rules.desiredOf(record, snapshot);
    this.desired.set(record.llms, { snapshot, desired });
    return desired;
  }

  private answerFor(record: LeaseRecord, rejected: Rejection[], snapshot: DeclaredSnapshot, desired: DesiredForAgent[]): RegistrationAnswer {
    return {
      leaseId: record.leaseId,
      ttlSeconds: this.options.ttlMs / 1000,
      heartbeatIntervalSeconds: this.options.heartbeatIntervalMs / 1000,
      revision: snapshot.revision,
      desired,
      rejected,
    };
  }
}

function cachedOf(record: LeaseRecord, modRevision: number, restored: boolean): CachedLease {
  return {
    record,
    modRevision,
    restored,
    entries: new Map(record.llms.map((entry) => [entry.name, entry])),
    staleAtLastSweep: restored,
  };
}

function liveOf(lease: CachedLease, entry: StoredLlm): LiveLlm {
  const { record } = lease;
  const live: LiveLlm = {
    name: entry.name,
    poolName: entry.poolName,
    type: entry.type,
    model: entry.model,
    url: entry.url,
    health: entry.health,
    healthMessage: entry.healthMessage,
    load: entry.load,
    agentId: record.agentId,
    host: record.host,
    lastHeartbeatAt: record.lastHeartbeatAt,
    gpus: record.gpus,
  };
  if (lease.restored) live.restored = true;
  return live;
}
