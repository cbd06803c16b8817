// A LeaseStore in etcd, shared by several reconcilers (DESIGN §9). It is an informer over the
// prefix: list at a revision, watch from the next, re-list and diff by key when the watch breaks
// or its revision was compacted. Keys under the prefix:
//   leases/<agentId>            the LeaseRecord (JSON), written only when it really changes (its
//                               heartbeat time and telemetry are those of that write; newer
//                               ones are in beats/, and a list or watch takes the newest)
//   names/<name>                the agentId that holds the name, written in the same
//                               transaction as the record, so that etcd refuses a second holder
//   beats/<reconcilerId>/d<slot>[-<part>]
//                               {agentId: [lastHeartbeatAt, gpus, loads]} of the agents this
//                               reconciler heard from since its last beats write (one txn a
//                               second at most, the slot turning over every DELTA_SLOTS writes)
//   beats/<reconcilerId>/s<n>   the same for every agent it heard from, rewritten every 30 s so
//                               a list finds each agent's newest beat in a snapshot or a delta
//   (both kinds on an etcd lease of this reconciler, so a dead reconciler's keys vanish)
// A heartbeat that changes nothing is no etcd write of its own: it lands in the next beats txn,
// and every store turns a newer time it sees there into a touch event (no change of modRevision).
import { randomBytes } from 'node:crypto';
import { Etcd3, type IKeyValue, type IRequestOp, type ICompare, type Lease, type Watcher, type IWatchResponse } from 'etcd3';
import type { Gpu, Load } from '../schema/agent-protocol.js';
import { connectEtcd, type EtcdTls } from './etcd-client.js';
import { recordSteps } from './lease-steps.js';
import { ALWAYS_AVAILABLE, LeaseWatchGap, StoreUnavailable, touchRecord, type CasResult, type LeaseEvent, type LeaseList, type LeaseRecord, type LeaseStore, type LeaseWatcher, type LoadUpdate, type StoreAvailability, type StoredLlm, type VersionedRecord } from './lease-store.js';

// An etcd call that failed or did not answer in time; declared with the store interface.
export { StoreUnavailable };

export type { EtcdTls } from './etcd-client.js';

export interface EtcdLeaseStoreOptions {
  /** `HOST:PORT` each; https is used when `tls` is given. */
  endpoints: readonly string[];
  /** Every key lives under this; ends with `/`. Default `/mcpctl/`. */
  prefix?: string;
  tls?: EtcdTls;
  /** Bound on every etcd call. Default 2 s. */
  callTimeoutMs?: number;
  /** How long touches wait before they are written to this reconciler's beats keys. Default 1 s. */
  beatBatchMs?: number;
  /** How long putLater writes wait to be sent together. Default 20 ms. */
  putBatchMs?: number;
  /** TTL of the etcd lease the beats keys hang on. Default 30 s. */
  beatsLeaseTtlSeconds?: number;
  /**
   * A touch that comes more than this after the previous beat (an agent back from stale) is also
   * written to the record, so that a takeover decided elsewhere on the stale time loses to it
   * in etcd. Give the lease TTL. Default: never.
   */
  reviveAfterMs?: number;
  /** Names this reconciler's beats keys; random per process by default. */
  reconcilerId?: string;
  /** Reports a failed background write (beats, putLater) or a broken watch, and etcd going away (once). */
  onError?: (error: Error) => void;
  /** Reports etcd answering again after it went away. */
  onRecovered?: (line: string) => void;
}

/** [lastHeartbeatAt, gpus, loads by name] of one agent, as a beats key holds it. */
type BeatValue = [number, Gpu[], Record<string, Load>];

interface PendingPut {
  expected: number;
  record: LeaseRecord;
}

interface RevisionWaiter {
  ready: () => boolean;
  resolve: () => void;
}

/** Snapshot keys per reconciler: agents are spread by hash, so one key stays far below etcd's 1.5 MiB. */
const BEAT_SHARDS = 32;
/** Delta keys per reconciler: a snapshot is written at least every DELTA_SLOTS / 2 writes, so no beat falls out before one holds it. */
const DELTA_SLOTS = 64;
/** How often the snapshot keys are rewritten (with a beats write that is due anyway). */
const SNAPSHOT_MS = 30_000;
/** One delta key's value at most, in bytes; a larger delta is split into parts. */
const DELTA_PART_BYTES = 512 * 1024;
/** Puts of one beats txn, in bytes: etcd refuses requests over 1.5 MiB. */
const TXN_BYTES = 1024 * 1024;
/** How often etcd is tried again while it does not answer. */
const RETRY_MS = 1000;

export class EtcdLeaseStore implements LeaseStore {
  readonly kind = 'etcd';
  readonly endpoints: readonly string[];
  readonly reconcilerId: string;
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly callTimeoutMs: number;
  private readonly beatBatchMs: number;
  private readonly putBatchMs: number;
  /** The records as of `revision`, plus this process's touches and putLater writes. */
  private readonly mirror = new Map<string, VersionedRecord>();
  /**
   * The entries of each record as etcd holds it, at its modRevision: their names are the claims it
   * has. The record's own array, not a copy: a record's list of entries is never changed in place
   * (the lease rules write a new record), only an entry's load.
   */
  private readonly stored = new Map<string, { modRevision: number; llms: StoredLlm[] }>();
  private revision = 0;
  private readonly watchers = new Set<LeaseWatcher>();
  private etcdWatcher: Watcher | null = null;
  /** Bumped on every (re)start of the etcd watch: responses of an older one are dropped. */
  private watchGeneration = 0;
  private waiters: RevisionWaiter[] = [];
  /** Agents this reconciler heard from, by beats shard. */
  private readonly heard = new Map<number, Set<string>>();
  /** Agents touched since the last beats write. */
  private readonly touched = new Set<string>();
  private beatWrites = 0;
  private lastSnapshotAt = Number.NEGATIVE_INFINITY;
  private lastSnapshotWrite = 0;
  private beatTimer: NodeJS.Timeout | null = null;
  private beatsLease: Lease | null = null;
  private beatsLeaseId: string | null = null;
  private beatWrite: Promise<void> | null = null;
  private readonly pending = new Map<string, PendingPut>();
  private putTimer: NodeJS.Timeout | null = null;
  private putWrite: Promise<void> | null = null;
  private closed = false;
  /** Set while etcd does not answer (the last call failed); a probe clears it once it does. */
  private unavailable: StoreUnavailable | null = null;
  private unavailableSinceMs = 0;
  private probeTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: EtcdLeaseStoreOptions) {
    this.endpoints = [...options.endpoints];
    this.prefix = options.prefix ?? '/mcpctl/';
    this.callTimeoutMs = options.callTimeoutMs ?? 2000;
    this.beatBatchMs = options.beatBatchMs ?? 1000;
    this.putBatchMs = options.putBatchMs ?? 20;
    this.reconcilerId = options.reconcilerId ?? randomBytes(8).toString('hex');
    this.client = connectEtcd({ endpoints: options.endpoints, ...(options.tls === undefined ? {} : { tls: options.tls }), callTimeoutMs: this.callTimeoutMs });
  }

  availability(): StoreAvailability {
    const unavailable = this.unavailable;
    // Asked on every agent request: no new object while etcd answers.
    return unavailable === null ? ALWAYS_AVAILABLE : { available: false, reason: unavailable.message, sinceMs: this.unavailableSinceMs };
  }

  /** etcd's revision as of the last list or watched change under the prefix. */
  get currentRevision(): number {
    return this.revision;
  }

  /** One range over the prefix: records with the newest beat any reconciler wrote for them. */
  async list(): Promise<LeaseList> {
    const { kvs, revision } = await this.range();
    this.replaceMirror(kvs, revision, false);
    this.startWatch(revision);
    return { records: [...this.mirror.values()], revision: this.revision, shared: true };
  }

  watch(afterRevision: number, watcher: LeaseWatcher): () => void {
    if (afterRevision !== this.revision) throw new LeaseWatchGap(afterRevision, this.revision);
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /**
   * Settles within the call bound (one deadline for each txn and the wait for its watch event),
   * and at once while etcd is known not to answer: no caller waits on a store that is away. A
   * write that claims and releases more names than one txn takes is made in steps
   * (lease-steps.ts), each a compare-and-set over the one before: refused at any step, it answers
   * what etcd holds then, as a refusal at the first would.
   */
  async compareAndSet(agentId: string, expectedRevision: number, next: LeaseRecord | null): Promise<CasResult> {
    if (this.closed) throw new StoreUnavailable('compare-and-set', new Error('the store is closed'));
    if (this.unavailable !== null) throw this.unavailable;
    const current = this.mirror.get(agentId);
    // The cache the caller read is fed from the mirror, so a mirror that moved on is a refusal
    // etcd would give too; only a write the mirror agrees with goes to etcd to be decided.
    if ((current?.modRevision ?? 0) !== expectedRevision) return { ok: false, current: current ?? null };
    // A batched put not yet sent was made from the same revision: this write supersedes it.
    if (this.pending.get(agentId)?.expected === expectedRevision) this.pending.delete(agentId);
    let result: CasResult = { ok: true, modRevision: expectedRevision };
    for (const step of recordSteps(current?.record ?? null, this.storedLlms(agentId, expectedRevision), next)) {
      result = await this.compareAndSetOnce(agentId, result.modRevision, step);
      if (!result.ok) return result;
    }
    return result;
  }

  /** One compare-and-set txn: `next` over the record etcd holds at `expectedRevision`. */
  private async compareAndSetOnce(agentId: string, expectedRevision: number, next: LeaseRecord | null): Promise<CasResult> {
    const deadlineMs = Date.now() + this.callTimeoutMs;
    const txn = this.casTxn(agentId, expectedRevision, next);
    const response = await this.call('compare-and-set', (options) => this.client.kv.txn(txn.request, options), deadlineMs);
    const headerRevision = Number(response.header.revision);
    if (response.succeeded) {
      await this.waitUntil(() => this.revision >= headerRevision, deadlineMs);
      return { ok: true, modRevision: next === null ? 0 : headerRevision };
    }
    // Refused: answer once the watch has delivered the winner, so the caller's retry sees it.
    const [recordRange, ...claimRanges] = response.responses.map((r) => r.response_range.kvs);
    const recordKv = recordRange?.[0];
    const recordRevision = recordKv === undefined ? 0 : Number(recordKv.mod_revision);
    if (recordRevision !== expectedRevision) {
      await this.waitUntil(() => (this.mirror.get(agentId)?.modRevision ?? 0) === recordRevision || this.revision >= headerRevision, deadlineMs);
    } else {
      let claimRevision = 0;
      for (const kvs of claimRanges) for (const kv of kvs) claimRevision = Math.max(claimRevision, Number(kv.mod_revision));
      await this.waitUntil(() => this.revision >= claimRevision, deadlineMs);
      await this.releaseOrphanClaims(claimRanges.flat(), deadlineMs);
    }
    const now = this.mirror.get(agentId);
    if (now !== undefined && now.modRevision === recordRevision) return { ok: false, current: now };
    const parsed = recordKv === undefined ? null : this.parseRecord(recordKv);
    return { ok: false, current: parsed === null ? null : { record: parsed, modRevision: recordRevision } };
  }

  /**
   * Decided against the mirror at once and applied to it (watchers see the record at its old
   * modRevision), then sent with the next batch as a compare-and-set; when etcd refuses it the
   * watch brings the record that won, which replaces it.
   */
  putLater(expectedRevision: number, next: LeaseRecord): CasResult {
    const current = this.mirror.get(next.agentId);
    if ((current?.modRevision ?? 0) !== expectedRevision) return { ok: false, current: current ?? null };
    this.pending.set(next.agentId, { expected: expectedRevision, record: next });
    this.mirror.set(next.agentId, { record: next, modRevision: expectedRevision });
    this.emit({ type: 'put', record: next, modRevision: expectedRevision });
    this.schedulePuts();
    return { ok: true, modRevision: expectedRevision };
  }

  /**
   * Throws StoreUnavailable while etcd does not answer: the beat would reach no other
   * reconciler, and the agent is better told to retry (503) than to believe it counted.
   */
  touch(agentId: string, lastHeartbeatAt: number, gpus?: Gpu[], loads?: readonly LoadUpdate[]): boolean {
    if (this.unavailable !== null) throw this.unavailable;
    const current = this.mirror.get(agentId);
    if (current === undefined) return false;
    const { record } = current;
    const { previousHeartbeatAt, previousGpus } = touchRecord(record, lastHeartbeatAt, gpus, loads);
    const reviveAfterMs = this.options.reviveAfterMs;
    if (reviveAfterMs !== undefined && lastHeartbeatAt - previousHeartbeatAt > reviveAfterMs) {
      this.pending.set(agentId, { expected: current.modRevision, record });
      this.schedulePuts();
    }
    const shard = shardOf(agentId);
    let agents = this.heard.get(shard);
    if (agents === undefined) this.heard.set(shard, (agents = new Set()));
    agents.add(agentId);
    this.touched.add(agentId);
    this.scheduleBeats();
    this.emit({ type: 'touch', record, modRevision: current.modRevision, previousHeartbeatAt, previousGpus });
    return true;
  }

  async flush(): Promise<void> {
    this.clearTimers();
    await this.writePuts();
    await this.writeBeats();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } catch (error) {
      // What was batched is lost with etcd away; the next beats write it again elsewhere.
      this.options.onError?.(error as Error);
    } finally {
      this.closed = true;
      this.clearTimers();
      if (this.probeTimer !== null) clearInterval(this.probeTimer);
      this.probeTimer = null;
      this.stopWatch();
      this.watchers.clear();
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
      const lease = this.beatsLease;
      this.beatsLease = null;
      // Revoked, not left to expire: the others stop counting this reconciler's beats at once.
      if (lease !== null) await bounded(lease.revoke({ deadline: Date.now() + this.callTimeoutMs }), this.callTimeoutMs).catch(() => lease.release());
      this.client.close();
    }
  }

  /** The entries of the record etcd holds for the agent at `modRevision`: [] when it holds none (or another). */
  private storedLlms(agentId: string, modRevision: number): readonly StoredLlm[] {
    const stored = this.stored.get(agentId);
    return stored !== undefined && stored.modRevision === modRevision ? stored.llms : [];
  }

  /**
   * The txn that writes `next` over the record etcd holds at `expectedRevision`, with its claims:
   * the names to claim and release are those of the record as etcd holds it (not of a batched
   * put shown in the mirror but maybe not written).
   */
  private casTxn(agentId: string, expectedRevision: number, next: LeaseRecord | null): { request: { compare: ICompare[]; success: IRequestOp[]; failure: IRequestOp[] } } {
    const recordKey = this.key(`leases/${agentId}`);
    const before = new Set(this.storedLlms(agentId, expectedRevision).map((e) => e.name));
    const after = new Set(next === null ? [] : next.llms.map((e) => e.name));
    const compare: ICompare[] = [{ key: recordKey, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }];
    const success: IRequestOp[] = [];
    const failure: IRequestOp[] = [{ request_range: { key: recordKey } }];
    if (next === null) success.push({ request_delete_range: { key: recordKey } });
    else success.push({ request_put: { key: recordKey, value: Buffer.from(JSON.stringify(next)) } });
    for (const name of after) {
      if (before.has(name)) continue;
      // A claim exists only while its holder's record lists the name (both are written in one
      // txn), so a name new to this record must be unclaimed.
      const claimKey = this.key(`names/${name}`);
      compare.push({ key: claimKey, target: 'Create', result: 'Equal', create_revision: 0 });
      success.push({ request_put: { key: claimKey, value: Buffer.from(agentId) } });
      failure.push({ request_range: { key: claimKey } });
    }
    for (const name of before) if (!after.has(name)) success.push({ request_delete_range: { key: this.key(`names/${name}`) } });
    return { request: { compare, success, failure } };
  }

  /**
   * Claims whose holder's record (as the watch has it now) no longer lists the name: left by a
   * write this store cannot have made, but they would refuse the name to everyone for good.
   * Each is deleted only if neither it nor its holder's record moved since.
   */
  private async releaseOrphanClaims(claims: readonly IKeyValue[], deadlineMs: number): Promise<void> {
    for (const claim of claims) {
      const name = claim.key.toString().slice(this.prefix.length + 'names/'.length);
      const holder = claim.value.toString();
      const stored = this.stored.get(holder);
      if (stored !== undefined && stored.llms.some((e) => e.name === name)) continue;
      const request = {
        compare: [
          { key: claim.key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: claim.mod_revision },
          { key: this.key(`leases/${holder}`), target: 'Mod' as const, result: 'Equal' as const, mod_revision: stored?.modRevision ?? 0 },
        ],
        success: [{ request_delete_range: { key: claim.key } }],
        failure: [],
      };
      await this.call('orphan claim', (options) => this.client.kv.txn(request, options), deadlineMs);
      this.options.onError?.(new Error(`released the claim on ${name} of agent ${holder}, whose record does not list it`));
    }
  }

  private schedulePuts(delayMs = this.putBatchMs): void {
    if (this.putTimer !== null || this.closed) return;
    this.putTimer = setTimeout(() => {
      this.putTimer = null;
      void this.writePuts();
    }, delayMs);
    this.putTimer.unref();
  }

  /** Sends every pending put, each its own compare-and-set (sent together, decided apart). */
  private async writePuts(): Promise<void> {
    while (this.putWrite !== null) await this.putWrite;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    this.putWrite = Promise.all(
      batch.map(async ([agentId, put]) => {
        const txn = this.casTxn(agentId, put.expected, put.record);
        try {
          const response = await this.call('batched put', (options) => this.client.kv.txn(txn.request, options));
          if (!response.succeeded) await this.undoPut(agentId, put.record, response.responses[0]?.response_range.kvs[0]);
        } catch (error) {
          // Not decided: sent again with a later batch, unless a newer write took its place.
          this.options.onError?.(error as Error);
          if (!this.pending.has(agentId) && this.mirror.get(agentId)?.record === put.record) this.pending.set(agentId, put);
        }
      }),
    ).then(() => {
      this.putWrite = null;
      if (this.pending.size > 0) this.schedulePuts(this.unavailable === null ? this.putBatchMs : RETRY_MS);
    });
    await this.putWrite;
  }

  /** A batched put etcd refused: the mirror goes back to what etcd holds, unless the watch did it. */
  private async undoPut(agentId: string, record: LeaseRecord, kv: IKeyValue | undefined): Promise<void> {
    const held = this.mirror.get(agentId);
    if (held?.record !== record) return;
    let actual = kv;
    if (actual === undefined) actual = (await this.call('read back', (options) => this.client.kv.range({ key: this.key(`leases/${agentId}`) }, options))).kvs[0];
    if (this.mirror.get(agentId)?.record !== record) return;
    if (actual === undefined) {
      this.mirror.delete(agentId);
      this.stored.delete(agentId);
      this.emit({ type: 'delete', agentId, modRevision: this.revision });
      return;
    }
    const parsed = this.parseRecord(actual);
    if (parsed === null) return;
    this.mergeBeat(parsed, record);
    const modRevision = Number(actual.mod_revision);
    this.stored.set(agentId, { modRevision, llms: parsed.llms });
    this.mirror.set(agentId, { record: parsed, modRevision });
    this.emit({ type: 'put', record: parsed, modRevision });
  }

  private scheduleBeats(): void {
    if (this.beatTimer !== null || this.closed) return;
    this.beatTimer = setTimeout(() => {
      this.beatTimer = null;
      this.writeBeats().catch((error: unknown) => this.options.onError?.(error as Error));
    }, this.beatBatchMs);
    this.beatTimer.unref();
  }

  /**
   * The beats since the last write as one delta key (in parts if large), with the snapshot
   * keys when they are due, in as few txns as fit, on this reconciler's etcd lease.
   */
  private async writeBeats(): Promise<void> {
    while (this.beatWrite !== null) await this.beatWrite;
    if (this.touched.size === 0) return;
    const touched = [...this.touched];
    this.touched.clear();
    const now = Date.now();
    // Due by time, or before the delta slots turn over (flushes and short batches write faster).
    const snapshot = now - this.lastSnapshotAt >= SNAPSHOT_MS || this.beatWrites - this.lastSnapshotWrite >= DELTA_SLOTS / 2;
    const writeNumber = this.beatWrites;
    const values: [string, Buffer][] = [];
    if (snapshot) for (const shard of this.heard.keys()) values.push([`s${shard}`, Buffer.from(JSON.stringify(this.beatsOf(this.heard.get(shard) ?? new Set())))]);
    const slot = this.beatWrites++ % DELTA_SLOTS;
    const delta = Buffer.from(JSON.stringify(this.beatsOf(new Set(touched))));
    const parts = Math.ceil(delta.length / DELTA_PART_BYTES);
    if (parts <= 1) values.push([`d${slot}`, delta]);
    else {
      // Split by agents, not bytes: each part is a JSON object of its own.
      for (let part = 0; part < parts; part++) {
        const agents = new Set(touched.filter((_agentId, i) => i % parts === part));
        values.push([`d${slot}-${part}`, Buffer.from(JSON.stringify(this.beatsOf(agents)))]);
      }
    }
    const write = async (): Promise<void> => {
      const leaseId = await this.ensureBeatsLease();
      let ops: IRequestOp[] = [];
      let bytes = 0;
      const send = async (): Promise<void> => {
        const request = { compare: [], success: ops, failure: [] };
        ops = [];
        bytes = 0;
        await this.call('beats', (options) => this.client.kv.txn(request, options));
      };
      for (const [name, value] of values) {
        if (bytes > 0 && bytes + value.length > TXN_BYTES) await send();
        ops.push({ request_put: { key: this.key(`beats/${this.reconcilerId}/${name}`), value, lease: leaseId } });
        bytes += value.length;
      }
      if (ops.length > 0) await send();
    };
    this.beatWrite = write().then(
      () => {
        this.beatWrite = null;
        if (snapshot) {
          this.lastSnapshotAt = now;
          this.lastSnapshotWrite = writeNumber;
        }
      },
      (error: unknown) => {
        this.beatWrite = null;
        for (const agentId of touched) this.touched.add(agentId);
        this.scheduleBeats();
        throw error;
      },
    );
    await this.beatWrite;
  }

  /** The beats of `agents` as a key holds them; agents whose record is gone are forgotten. */
  private beatsOf(agents: Set<string>): Record<string, BeatValue> {
    const out: Record<string, BeatValue> = {};
    for (const agentId of agents) {
      const held = this.mirror.get(agentId);
      if (held === undefined) {
        agents.delete(agentId);
        continue;
      }
      const loads: Record<string, Load> = {};
      for (const entry of held.record.llms) if (entry.load !== undefined) loads[entry.name] = entry.load;
      out[agentId] = [held.record.lastHeartbeatAt, held.record.gpus, loads];
    }
    return out;
  }

  private async ensureBeatsLease(): Promise<string> {
    if (this.beatsLease !== null && this.beatsLeaseId !== null) return this.beatsLeaseId;
    const lease = this.client.lease(this.options.beatsLeaseTtlSeconds ?? 30);
    lease.on('lost', () => {
      // Its keys are gone: grant a new lease and write every beat again on it.
      if (this.beatsLease !== lease) return;
      this.beatsLease = null;
      this.beatsLeaseId = null;
      this.lastSnapshotAt = Number.NEGATIVE_INFINITY;
      for (const agents of this.heard.values()) for (const agentId of agents) this.touched.add(agentId);
      this.scheduleBeats();
    });
    try {
      const id = await bounded(lease.grant(), this.callTimeoutMs);
      this.beatsLease = lease;
      this.beatsLeaseId = id;
      return id;
    } catch (error) {
      lease.release();
      const unavailable = new StoreUnavailable('lease grant', error);
      this.markUnavailable(unavailable);
      throw unavailable;
    }
  }

  private async range(): Promise<{ kvs: IKeyValue[]; revision: number }> {
    const start = Buffer.from(this.prefix);
    const response = await this.call('list', (options) => this.client.kv.range({ key: start, range_end: prefixEnd(start) }, options));
    return { kvs: response.kvs, revision: Number(response.header.revision) };
  }

  /**
   * The mirror becomes what a range read at `revision`. On a re-list (`diff`), watchers get a
   * put for each record whose modRevision moved, a delete for each one gone and a touch for a
   * newer beat, so nothing is missed or applied twice.
   */
  private replaceMirror(kvs: readonly IKeyValue[], revision: number, diff: boolean): void {
    const records = new Map<string, VersionedRecord>();
    const beats = new Map<string, BeatValue>();
    for (const kv of kvs) {
      const key = kv.key.toString().slice(this.prefix.length);
      if (key.startsWith('leases/')) {
        const record = this.parseRecord(kv);
        if (record !== null) records.set(record.agentId, { record, modRevision: Number(kv.mod_revision) });
      } else if (key.startsWith('beats/')) {
        for (const [agentId, beat] of this.parseBeats(kv)) {
          const seen = beats.get(agentId);
          if (seen === undefined || seen[0] < beat[0]) beats.set(agentId, beat);
        }
      }
    }
    this.stored.clear();
    for (const [agentId, { record, modRevision }] of records) this.stored.set(agentId, { modRevision, llms: record.llms });
    if (!diff) {
      // Records that did not change stay the objects watchers were given (touches land on them).
      const kept = new Map(this.mirror);
      this.mirror.clear();
      for (const [agentId, versioned] of records) {
        const beat = beats.get(agentId);
        const held = kept.get(agentId);
        const next = held !== undefined && held.modRevision === versioned.modRevision ? held : versioned;
        if (beat !== undefined) applyBeat(next.record, beat);
        this.mirror.set(agentId, next);
      }
      this.revision = revision;
      return;
    }
    for (const [agentId, held] of [...this.mirror]) {
      if (records.has(agentId)) continue;
      this.mirror.delete(agentId);
      this.emit({ type: 'delete', agentId, modRevision: revision });
    }
    for (const [agentId, versioned] of records) {
      const held = this.mirror.get(agentId);
      const beat = beats.get(agentId);
      if (held !== undefined && held.modRevision === versioned.modRevision) {
        if (beat !== undefined) this.touchFromBeat(held, beat);
        continue;
      }
      if (held !== undefined) this.mergeBeat(versioned.record, held.record);
      if (beat !== undefined) applyBeat(versioned.record, beat);
      this.mirror.set(agentId, versioned);
      this.emit({ type: 'put', record: versioned.record, modRevision: versioned.modRevision });
    }
    this.revision = Math.max(this.revision, revision);
  }

  private startWatch(revision: number): void {
    this.stopWatch();
    if (this.closed) return;
    const generation = ++this.watchGeneration;
    const watcher = this.client.watch().prefix(this.prefix).startRevision(String(revision + 1)).watcher();
    this.etcdWatcher = watcher;
    watcher.on('data', (response: IWatchResponse) => {
      if (generation === this.watchGeneration) this.applyWatch(response);
    });
    // Canceled by etcd (its revision was compacted) or otherwise broken: list again and diff.
    watcher.on('error', (error: Error) => {
      if (generation !== this.watchGeneration || this.closed) return;
      this.options.onError?.(new Error(`the etcd watch broke (${error.message}); listing again`));
      void this.relist(generation);
    });
  }

  private stopWatch(): void {
    this.watchGeneration++;
    const watcher = this.etcdWatcher;
    this.etcdWatcher = null;
    if (watcher !== null) void watcher.cancel().catch(() => {});
  }

  private async relist(generation: number): Promise<void> {
    for (let delayMs = 100; !this.closed && generation === this.watchGeneration; delayMs = Math.min(delayMs * 2, 2000)) {
      try {
        const { kvs, revision } = await this.range();
        if (generation !== this.watchGeneration) return;
        this.replaceMirror(kvs, revision, true);
        this.startWatch(revision);
        this.checkWaiters();
        return;
      } catch (error) {
        this.options.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
  }

  private applyWatch(response: IWatchResponse): void {
    for (const event of response.events) {
      const { kv } = event;
      const modRevision = Number(kv.mod_revision);
      const key = kv.key.toString().slice(this.prefix.length);
      if (key.startsWith('leases/')) {
        const agentId = key.slice('leases/'.length);
        const held = this.mirror.get(agentId);
        if (event.type === 'Delete') {
          this.stored.delete(agentId);
          if (held !== undefined) {
            this.mirror.delete(agentId);
            this.emit({ type: 'delete', agentId, modRevision });
          }
        } else if (held === undefined || held.modRevision < modRevision) {
          const record = this.parseRecord(kv);
          if (record !== null) {
            this.stored.set(agentId, { modRevision, llms: record.llms });
            if (held !== undefined) this.mergeBeat(record, held.record);
            this.mirror.set(agentId, { record, modRevision });
            this.emit({ type: 'put', record, modRevision });
          }
        }
      } else if (key.startsWith('beats/') && event.type === 'Put' && !key.startsWith(`beats/${this.reconcilerId}/`)) {
        for (const [agentId, beat] of this.parseBeats(kv)) {
          const held = this.mirror.get(agentId);
          if (held !== undefined) this.touchFromBeat(held, beat);
        }
      }
      this.revision = Math.max(this.revision, modRevision);
    }
    this.checkWaiters();
  }

  /** Another reconciler heard from the agent later than this one knows: a touch. */
  private touchFromBeat(held: VersionedRecord, beat: BeatValue): void {
    const { record } = held;
    if (beat[0] <= record.lastHeartbeatAt) return;
    const previousHeartbeatAt = record.lastHeartbeatAt;
    const previousGpus = record.gpus;
    applyBeat(record, beat);
    this.emit({ type: 'touch', record, modRevision: held.modRevision, previousHeartbeatAt, previousGpus });
  }

  /** A record written before the newest beat keeps the beat's time and telemetry. */
  private mergeBeat(record: LeaseRecord, known: LeaseRecord): void {
    if (known.lastHeartbeatAt <= record.lastHeartbeatAt) return;
    record.lastHeartbeatAt = known.lastHeartbeatAt;
    record.gpus = known.gpus;
    const loads = new Map(known.llms.map((e) => [e.name, e.load]));
    for (const entry of record.llms) {
      const load = loads.get(entry.name);
      if (load === undefined) delete entry.load;
      else entry.load = load;
    }
  }

  private parseRecord(kv: IKeyValue): LeaseRecord | null {
    try {
      const record = JSON.parse(kv.value.toString()) as LeaseRecord;
      if (typeof record.agentId !== 'string' || !Array.isArray(record.llms) || typeof record.lastHeartbeatAt !== 'number') throw new Error('not a lease record');
      return record;
    } catch (error) {
      this.options.onError?.(new Error(`${kv.key.toString()}: ${(error as Error).message}; ignored`));
      return null;
    }
  }

  private parseBeats(kv: IKeyValue): [string, BeatValue][] {
    try {
      const value = JSON.parse(kv.value.toString()) as Record<string, BeatValue>;
      return Object.entries(value).filter(([, beat]) => Array.isArray(beat) && typeof beat[0] === 'number');
    } catch (error) {
      this.options.onError?.(new Error(`${kv.key.toString()}: ${(error as Error).message}; ignored`));
      return [];
    }
  }

  /** Resolves when `ready` holds (checked on every watched change), or at the deadline. */
  private waitUntil(ready: () => boolean, deadlineMs: number): Promise<void> {
    if (this.etcdWatcher === null || ready()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      }, Math.max(0, deadlineMs - Date.now()));
      timer.unref();
      const waiter: RevisionWaiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  private checkWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: RevisionWaiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.ready()) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  private emit(event: LeaseEvent): void {
    for (const watcher of this.watchers) watcher(event);
  }

  private key(suffix: string): Buffer {
    return Buffer.from(this.prefix + suffix);
  }

  private clearTimers(): void {
    if (this.beatTimer !== null) clearTimeout(this.beatTimer);
    if (this.putTimer !== null) clearTimeout(this.putTimer);
    this.beatTimer = null;
    this.putTimer = null;
  }

  /** One etcd call with a deadline (the call bound from now by default); whatever goes wrong is StoreUnavailable. */
  private async call<T>(what: string, run: (options: { deadline: number }) => Promise<T>, deadlineMs = Date.now() + this.callTimeoutMs): Promise<T> {
    if (this.closed) throw new StoreUnavailable(what, new Error('the store is closed'));
    try {
      const result = await bounded(run({ deadline: deadlineMs }), Math.max(0, deadlineMs - Date.now()));
      this.markAvailable();
      return result;
    } catch (error) {
      const unavailable = error instanceof StoreUnavailable ? error : new StoreUnavailable(what, error);
      this.markUnavailable(unavailable);
      throw unavailable;
    }
  }

  private markAvailable(): void {
    if (this.unavailable !== null) {
      const seconds = Math.round((Date.now() - this.unavailableSinceMs) / 1000);
      this.options.onRecovered?.(`etcd answers again after ${seconds}s; registrations and heartbeats are taken again`);
    }
    this.unavailable = null;
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  /** Until a call succeeds again: touches are refused, and etcd is probed every RETRY_MS. */
  private markUnavailable(error: StoreUnavailable): void {
    if (this.unavailable === null) {
      this.unavailableSinceMs = Date.now();
      // Before the first list nothing is served yet: the start fails with its own line.
      if (this.revision > 0) this.options.onError?.(new Error(`${error.message}; until it answers, registrations and heartbeats answer 503 StoreUnavailable and reads serve the last view`));
    }
    this.unavailable = error;
    if (this.probeTimer !== null || this.closed) return;
    let probing = false;
    this.probeTimer = setInterval(() => {
      // One probe at a time: a probe may take the whole call bound.
      if (probing) return;
      probing = true;
      const start = Buffer.from(this.prefix);
      this.call('probe', (options) => this.client.kv.range({ key: start, range_end: prefixEnd(start), limit: 1, keys_only: true }, options))
        .catch(() => {})
        .finally(() => (probing = false));
    }, RETRY_MS);
    this.probeTimer.unref();
  }
}

function applyBeat(record: LeaseRecord, beat: BeatValue): void {
  if (beat[0] <= record.lastHeartbeatAt) return;
  record.lastHeartbeatAt = beat[0];
  if (Array.isArray(beat[1])) record.gpus = beat[1];
  const loads = beat[2] ?? {};
  for (const entry of record.llms) {
    const load = loads[entry.name];
    if (load === undefined) delete entry.load;
    else entry.load = load;
  }
}

function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The end of etcd's range for every key starting with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** FNV-1a, so one agent always lands in the same beats key of a reconciler. */
function shardOf(agentId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < agentId.length; i++) hash = Math.imul(hash ^ agentId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % BEAT_SHARDS;
}
