// One revision for the fleet (DESIGN §9): with --store etcd://… and a Git source, one reconciler
// at a time, the leader (leader-election.ts), reads Git and records what it accepted in etcd;
// every reconciler, the leader too, serves exactly the recorded last good commit, read from its
// own Git mirror, and keeps serving the previous one while it fetches. Keys under the prefix:
//   leader     {id, url} of the leader, on its etcd lease (about --ttl)
//   revision   the FleetRecord: what /api/v1/status shows, and the sync requests answered
//   sync       a sync request: any reconciler writes it, the leader watches it, reads Git and
//              answers in the record (`syncedThrough`: the newest request its read covers)
// A sync goes through etcd rather than to the leader's URL: reconcilers need not reach each
// other (each may listen on loopback behind a load balancer), no token is passed on, and a
// request left by a leader that died is answered by the next one.
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { z } from 'zod';
import { loadResources, ParseCache } from '../schema/codec.js';
import { reconcileAttemptSchema, sourceErrorSchema, type ReconcileAttempt, type SourceError } from '../schema/views.js';
import { SerialRuns } from '../service/serial-runs.js';
import type { DesiredSource, DesiredStateView, DesiredStatus, RevisionSource, ServedRevision } from './desired-state-api.js';
import { appendAttempt, DesiredState } from './desired-state.js';
import { DEFAULT_COMPACTION, EtcdCompactor, type CompactionSettings } from './etcd-compaction.js';
import { callEtcd, connectEtcd } from './etcd-client.js';
import type { EtcdTls } from './etcd-lease-store.js';
import { LeaderElection, type LeaderInfo } from './leader-election.js';

export interface FleetRevisionOptions {
  endpoints: readonly string[];
  /** Every key lives under this; ends with `/`. */
  prefix: string;
  tls?: EtcdTls;
  /** Git: the leader reads its tip, every reconciler reads the commits the leader accepted. */
  source: RevisionSource;
  /** How often the leader reads Git. */
  pollMs: number;
  /** TTL of the leader's etcd lease: a leader that dies is replaced within it. Whole seconds, at least 1. */
  leaderTtlSeconds: number;
  /** Names this reconciler as the leader; give the lease store's reconcilerId. */
  reconcilerId: string;
  /** Bound on every etcd call. Default 2 s. */
  callTimeoutMs?: number;
  /** How long a sync waits for the leader's answer. Default 60 s. */
  syncTimeoutMs?: number;
  compaction?: CompactionSettings;
  now?: () => number;
  log?: (line: string, level: 'info' | 'warn') => void;
}

const fleetRecordSchema = z.object({
  /** The newest revision the leader read (accepted or rejected). */
  revision: z.string().nullable(),
  /** The commit every reconciler serves. */
  lastGoodRevision: z.string().nullable(),
  sourceRootCommits: z.array(z.string()),
  lastSyncAt: z.string().nullable(),
  errors: z.array(sourceErrorSchema),
  history: z.array(reconcileAttemptSchema),
  /** The etcd revision of the newest sync request the leader had seen when its last read began. */
  syncedThrough: z.number(),
  /** The reconciler that wrote this record. */
  acceptedBy: z.string(),
});
export type FleetRecord = z.infer<typeof fleetRecordSchema>;

/** How soon a failed write of the record, or a failed load of the accepted commit, is tried again. */
const RETRY_MS = 1000;
const MAX_LOAD_RETRY_MS = 10_000;

export class FleetRevision implements DesiredStateView {
  private readonly client: Etcd3;
  private readonly election: LeaderElection;
  /** The leader's reader of Git: polls and watches the source only while this reconciler leads. */
  private readonly leaderState: DesiredState;
  private readonly compactor: EtcdCompactor;
  private readonly source: RevisionSource;
  private readonly callTimeoutMs: number;
  private readonly syncTimeoutMs: number;
  private readonly now: () => number;
  private readonly log: (line: string, level: 'info' | 'warn') => void;
  private readonly revisionKey: Buffer;
  private readonly syncKey: Buffer;
  private readonly cache = new ParseCache();
  private readonly listeners = new Set<() => void>();
  private readonly wakers = new Set<() => void>();

  private record: FleetRecord | null = null;
  private recordModRevision = 0;
  /** What this leader last computed, written or not yet: the base of its next record. */
  private draft: FleetRecord | null = null;
  private served: ServedRevision | null = null;
  /** Why the recorded commit is not served here (it cannot be fetched, say); null when it is. */
  private loadError: SourceError | null = null;
  private loadRetryMs = RETRY_MS;
  /** The etcd revision of the newest sync request seen. */
  private requested = 0;
  /** The sync requests the leader's read in progress answers. */
  private readingThrough = 0;

  private transition: Promise<void> = Promise.resolve();
  /** One write of the record at a time; the newest draft is what gets written. */
  private readonly publishes = new SerialRuns(() => this.writeDraft());
  /** One load at a time; a record that comes meanwhile is followed after it. */
  private readonly follows = new SerialRuns(() => this.loadRecorded());
  private retryTimer: NodeJS.Timeout | null = null;
  private loadTimer: NodeJS.Timeout | null = null;
  private watchers: Watcher[] = [];
  private watchGeneration = 0;
  private stopped = false;

  constructor(private readonly options: FleetRevisionOptions) {
    this.source = options.source;
    this.callTimeoutMs = options.callTimeoutMs ?? 2000;
    this.syncTimeoutMs = options.syncTimeoutMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    this.revisionKey = Buffer.from(`${options.prefix}revision`);
    this.syncKey = Buffer.from(`${options.prefix}sync`);
    this.client = connectEtcd({ endpoints: options.endpoints, callTimeoutMs: this.callTimeoutMs, ...(options.tls === undefined ? {} : { tls: options.tls }) });
    this.election = new LeaderElection({
      client: this.client,
      key: `${options.prefix}leader`,
      id: options.reconcilerId,
      ttlSeconds: options.leaderTtlSeconds,
      callTimeoutMs: this.callTimeoutMs,
      onLeading: (leading) => this.onLeading(leading),
      log: this.log,
    });
    const source = this.source;
    // Notes, as each read of the tip begins, which sync requests it answers.
    const reading: DesiredSource = {
      description: source.description,
      read: () => {
        this.readingThrough = this.requested;
        return source.read();
      },
      watch: (onChange) => source.watch(onChange),
    };
    this.leaderState = new DesiredState({
      source: reading,
      pollMs: options.pollMs,
      now: this.now,
      log: this.log,
      onAttempt: (attempt) => this.recordAttempt(attempt),
      servedRevision: () => this.served?.revision ?? null,
    });
    this.compactor = new EtcdCompactor({
      ...(options.compaction ?? DEFAULT_COMPACTION),
      client: this.client,
      probeKey: `${options.prefix}revision`,
      callTimeoutMs: this.callTimeoutMs,
      log: this.log,
    });
  }

  /**
   * Reads the record and serves its commit, then campaigns; a reconciler elected at once reads
   * Git first. Throws StoreUnavailable when etcd does not answer.
   */
  async start(): Promise<ReconcileAttempt> {
    this.stopped = false;
    await this.readKeys();
    await this.election.start();
    await this.settle();
    return this.record?.history[0] ?? { revision: null, at: new Date(this.now()).toISOString(), durationMs: 0, result: 'rejected', errors: this.status().errors };
  }

  /** Stops reading Git, resigns (another reconciler leads at once) and closes the etcd client. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [this.retryTimer, this.loadTimer]) if (timer !== null) clearTimeout(timer);
    this.retryTimer = null;
    this.loadTimer = null;
    await this.transition;
    await this.stepDown();
    await this.publishes.current;
    await this.election.stop();
    this.stopWatches();
    await this.follows.current;
    for (const wake of [...this.wakers]) wake();
    this.client.close();
  }

  /** The leader as this reconciler sees it, for /api/v1/status; null while there is none. */
  leader(): LeaderInfo | null {
    return this.election.leader();
  }

  /** The URL this reconciler serves, shown as the leader's while it leads. */
  async advertise(url: string): Promise<void> {
    await this.election.advertise(url).catch((error: unknown) => this.log(`cannot announce ${url} as the leader's URL: ${(error as Error).message}`, 'warn'));
  }

  current(): ServedRevision | null {
    return this.served;
  }

  status(): DesiredStatus {
    const record = this.record;
    return {
      revision: record?.revision ?? null,
      lastGoodRevision: this.served?.revision ?? null,
      source: this.source.description,
      sourceRootCommits: [...(record?.sourceRootCommits ?? [])],
      lastSyncAt: record?.lastSyncAt ?? null,
      errors: [...(record?.errors ?? []), ...(this.loadError === null ? [] : [this.loadError])].map((e) => ({ ...e })),
      history: (record?.history ?? []).map((a) => ({ ...a, errors: a.errors.map((e) => ({ ...e })) })),
    };
  }

  /**
   * Asks the leader to read Git now (a write of the sync key) and waits for its answer in the
   * record, and for this reconciler to serve what it accepted.
   */
  async sync(): Promise<ReconcileAttempt> {
    const value = Buffer.from(JSON.stringify({ from: this.options.reconcilerId, at: new Date(this.now()).toISOString() }));
    const response = await callEtcd('sync request', this.callTimeoutMs, (options) => this.client.kv.put({ key: this.syncKey, value }, options));
    const requestRevision = Number(response.header.revision);
    const answered = (): boolean => {
      const record = this.record;
      if (record === null || record.syncedThrough < requestRevision) return false;
      return record.lastGoodRevision === null || this.served?.revision === record.lastGoodRevision || this.loadError !== null;
    };
    if (!(await this.waitUntil(answered, this.syncTimeoutMs))) {
      const leader = this.leader();
      const who = leader === null ? 'no reconciler leads' : `the leader is ${leader.id}${leader.url === null ? '' : ` at ${leader.url}`}`;
      throw new Error(`the leader did not answer within ${Math.round(this.syncTimeoutMs / 1000)} s (${who}); still serving ${this.served?.revision ?? 'nothing'}`);
    }
    if (this.loadError !== null) throw new Error(this.loadError.message);
    const record = this.record as FleetRecord;
    return record.history[0] ?? { revision: record.revision, at: record.lastSyncAt ?? new Date(this.now()).toISOString(), durationMs: 0, result: 'unchanged', errors: record.errors };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private onLeading(leading: boolean): void {
    this.transition = this.transition
      .then(() => (leading ? this.lead() : this.stepDown()))
      .catch((error: unknown) => this.log(`leader change: ${(error as Error).message}`, 'warn'));
  }

  private async lead(): Promise<void> {
    if (!this.election.leading || this.stopped) return;
    this.draft = null;
    this.log('leading the fleet: reading Git and recording the accepted revision in etcd', 'info');
    // Its first read answers every sync request made so far (a leader that died may have left one).
    await this.leaderState.start();
    if (this.election.leading && !this.stopped) this.compactor.start();
  }

  private async stepDown(): Promise<void> {
    await this.compactor.stop();
    await this.leaderState.stop();
    this.draft = null;
  }

  /** The leader's outcome of one read of Git, as the fleet's record. */
  private recordAttempt(attempt: ReconcileAttempt): void {
    if (!this.election.leading || this.stopped) return;
    const base = this.draft ?? this.record;
    const previousGood = base?.lastGoodRevision ?? null;
    const good = attempt.result === 'applied' || attempt.result === 'unchanged';
    // Applied is news to the fleet, not to this reader: a new leader reads the recorded commit again.
    const result = good ? (attempt.revision === previousGood ? 'unchanged' : 'applied') : attempt.result;
    this.draft = {
      revision: attempt.revision ?? base?.revision ?? null,
      lastGoodRevision: good ? attempt.revision : previousGood,
      sourceRootCommits: this.leaderState.status().sourceRootCommits ?? base?.sourceRootCommits ?? [],
      lastSyncAt: attempt.at,
      errors: attempt.errors,
      history: appendAttempt(base?.history ?? [], { ...attempt, result }),
      syncedThrough: Math.max(base?.syncedThrough ?? 0, this.readingThrough),
      acceptedBy: this.options.reconcilerId,
    };
    this.publishes.run();
  }

  private async writeDraft(): Promise<void> {
    const draft = this.draft;
    const fence = this.election.fence();
    if (draft === null || fence === null || this.stopped) return;
    try {
      const value = Buffer.from(JSON.stringify(draft));
      const response = await callEtcd('record the revision', this.callTimeoutMs, (options) =>
        this.client.kv.txn({ compare: [fence], success: [{ request_put: { key: this.revisionKey, value } }], failure: [] }, options),
      );
      if (!response.succeeded) {
        this.log(`not recording ${draft.revision ?? 'the failed read'}: another reconciler leads now`, 'warn');
        return;
      }
      this.applyRecord(draft, Number(response.header.revision));
    } catch (error) {
      // etcd away: the fleet keeps serving the recorded revision, and this one is written when it returns.
      this.log(`cannot record ${draft.revision ?? 'the failed read'} in etcd: ${(error as Error).message}; trying again`, 'warn');
      if (this.retryTimer === null && !this.stopped) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.publishes.run();
        }, RETRY_MS);
        this.retryTimer.unref();
      }
    }
  }

  /** The record and the newest sync request, read together, then watched from the next revision. */
  private async readKeys(): Promise<void> {
    const response = await callEtcd('read the fleet revision', this.callTimeoutMs, (options) =>
      this.client.kv.txn({ compare: [], success: [{ request_range: { key: this.revisionKey } }, { request_range: { key: this.syncKey } }], failure: [] }, options),
    );
    const [recordKv, syncKv] = response.responses.map((r) => r.response_range.kvs[0]);
    if (syncKv !== undefined) this.noteSyncRequest(Number(syncKv.mod_revision));
    if (recordKv !== undefined) this.onRecordKv(recordKv);
    this.watchKeys(Number(response.header.revision));
  }

  private watchKeys(revision: number): void {
    this.stopWatches();
    if (this.stopped) return;
    const generation = ++this.watchGeneration;
    for (const key of [this.revisionKey, this.syncKey]) {
      const watcher = this.client.watch().key(key).startRevision(String(revision + 1)).watcher();
      watcher.on('put', (kv: IKeyValue) => {
        if (generation !== this.watchGeneration) return;
        if (key === this.syncKey) this.noteSyncRequest(Number(kv.mod_revision));
        else this.onRecordKv(kv);
      });
      // Cancelled by etcd (its revision was compacted) or otherwise broken: read both keys again.
      watcher.on('error', (error: Error) => {
        if (generation !== this.watchGeneration || this.stopped) return;
        this.log(`the watch of ${key.toString()} broke (${error.message}); reading it again`, 'warn');
        void this.rewatch(generation);
      });
      this.watchers.push(watcher);
    }
  }

  private async rewatch(generation: number): Promise<void> {
    this.stopWatches();
    for (let delayMs = 100; !this.stopped && generation + 1 === this.watchGeneration; delayMs = Math.min(delayMs * 2, 2000)) {
      try {
        await this.readKeys();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
  }

  private stopWatches(): void {
    this.watchGeneration++;
    for (const watcher of this.watchers.splice(0)) void watcher.cancel().catch(() => {});
  }

  private noteSyncRequest(modRevision: number): void {
    if (modRevision <= this.requested) return;
    this.requested = modRevision;
    if (this.election.leading && !this.stopped) {
      this.leaderState.sync().catch((error: unknown) => this.log(`sync failed: ${(error as Error).message}`, 'warn'));
    }
  }

  private onRecordKv(kv: IKeyValue): void {
    let record: FleetRecord;
    try {
      record = fleetRecordSchema.parse(JSON.parse(kv.value.toString()));
    } catch (error) {
      this.log(`${kv.key.toString()} does not hold a revision record (${(error as Error).message}); ignored`, 'warn');
      return;
    }
    this.applyRecord(record, Number(kv.mod_revision));
  }

  /** A newer record (the watch, or the leader's own write): its commit is loaded and served. */
  private applyRecord(record: FleetRecord, modRevision: number): void {
    if (modRevision <= this.recordModRevision) return;
    const before = this.snapshot();
    this.record = record;
    this.recordModRevision = modRevision;
    if (this.snapshot() !== before) this.notify();
    this.wake();
    this.follows.run();
  }

  private async loadRecorded(): Promise<void> {
    const record = this.record;
    const target = record?.lastGoodRevision ?? null;
    if (target === null || this.stopped || (this.served?.revision === target && this.loadError === null)) return;
    if (this.loadTimer !== null) clearTimeout(this.loadTimer);
    this.loadTimer = null;
    const before = this.snapshot();
    try {
      // The leader parsed it already; anyone else reads the commit from its own mirror.
      const parsed = this.leaderState.current();
      let next: ServedRevision;
      if (parsed !== null && parsed.revision === target) {
        next = parsed;
      } else {
        const candidate = await this.source.readRevision(target);
        const result = loadResources(candidate.files, this.cache, this.served ?? undefined);
        if (!result.ok) {
          const first = result.diagnostics[0];
          throw new Error(`it does not load here (${result.diagnostics.length} errors${first === undefined ? '' : `: ${first.file}:${first.line}:${first.col}: ${first.message}`})`);
        }
        next = { revision: target, llms: result.llms, pools: result.pools };
      }
      const changed = this.served?.revision !== target;
      this.served = next;
      this.loadError = null;
      this.loadRetryMs = RETRY_MS;
      if (changed && record?.acceptedBy !== this.options.reconcilerId) this.log(`serving ${target}, accepted by the leader ${record?.acceptedBy ?? ''}: ${next.llms.length} Llms, ${next.pools.length} pools`, 'info');
    } catch (error) {
      const message = `cannot load ${target}, the revision the leader accepted: ${(error as Error).message}; still serving ${this.served?.revision ?? 'nothing'}`;
      if (this.loadError?.message !== message) this.log(message, 'warn');
      this.loadError = { file: '', line: 0, col: 0, message };
      if (!this.stopped) {
        this.loadTimer = setTimeout(() => {
          this.loadTimer = null;
          this.follows.run();
        }, this.loadRetryMs);
        this.loadTimer.unref();
        this.loadRetryMs = Math.min(this.loadRetryMs * 2, MAX_LOAD_RETRY_MS);
      }
    }
    if (this.snapshot() !== before) this.notify();
    this.wake();
  }

  /** Resolves once this.record/served settle after the start: the first read recorded and its commit served. */
  private async settle(): Promise<void> {
    for (;;) {
      await Promise.all([this.transition, this.publishes.current, this.follows.current]);
      if (this.publishes.current === null && this.follows.current === null) return;
    }
  }

  /** True once `ready` holds (checked after every record and load), false after `timeoutMs`. */
  private waitUntil(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.wakers.delete(check);
        resolve(value);
      };
      const check = (): void => {
        if (ready()) done(true);
        else if (this.stopped) done(false);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.wakers.add(check);
    });
  }

  private wake(): void {
    for (const check of [...this.wakers]) check();
  }

  /** What listeners care about (as DesiredState): the served revision, the newest revision and the errors. */
  private snapshot(): string {
    return JSON.stringify([this.served?.revision ?? null, this.record?.revision ?? null, this.record?.errors ?? [], this.loadError]);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.log(`a desired-state listener failed: ${(error as Error).message}`, 'warn');
      }
    }
  }
}
