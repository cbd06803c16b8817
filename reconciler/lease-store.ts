// Where agent leases live: the truth the reconciler's lease cache (leases.ts) is fed from. The
// store has the informer's shape — list at a revision, then watch the changes after it — and
// decides every conflicting write itself with compare-and-set, so that a shared store (etcd,
// with its mod revisions) is one more file implementing this interface.
import type { Gpu, Health, Load } from '../schema/agent-protocol.js';
import type { LlmType } from '../schema/resources.js';

/** One name an agent publishes, as stored (no clock-derived state). */
export interface StoredLlm {
  name: string;
  poolName?: string;
  type: LlmType;
  model: string;
  url: string;
  health: Health;
  healthMessage?: string;
  /** The engine's own load figures at the last beat that carried them: telemetry, no change of the entry. */
  load?: Load;
}

/** A new load for one entry of a lease (undefined: the engine reports none now). */
export interface LoadUpdate {
  name: string;
  load: Load | undefined;
}

/**
 * One agent's lease and everything it publishes: the one shape the store keeps, the rules
 * (lease-rules.ts) transform and the cache serves. Records are values: a change is a new record.
 */
export interface LeaseRecord {
  agentId: string;
  leaseId: string;
  host: string;
  /** The agent's own version string. */
  version: string;
  gpus: Gpu[];
  /** Milliseconds since the epoch. */
  lastHeartbeatAt: number;
  llms: StoredLlm[];
}

/** A record with the store revision of its last write (etcd's mod_revision). */
export interface VersionedRecord {
  record: LeaseRecord;
  /** Greater than 0; the store revision at which this record was last written. */
  modRevision: number;
}

export interface LeaseList {
  records: VersionedRecord[];
  /** The store revision the list was taken at: watch from here. */
  revision: number;
  /**
   * True when other reconcilers keep these records' heartbeat times current (etcd): a record is
   * then as live as its time says, not "restored" until its agent is heard from again.
   */
  shared?: boolean;
}

/**
 * A change after a list: `put` a new record (registration, takeover, changed entries), `touch`
 * only the heartbeat time (and GPU telemetry) moved, `delete` the lease is gone. Every event
 * carries the key's modRevision after it: the revision a put or delete made; for a touch, a new
 * revision in a local store (a touch is one of its writes) and the record's own in etcd (beats
 * are not writes of the record).
 */
export type LeaseEvent =
  | { type: 'put'; record: LeaseRecord; modRevision: number }
  | { type: 'touch'; record: LeaseRecord; modRevision: number; previousHeartbeatAt: number; previousGpus: Gpu[] }
  | { type: 'delete'; agentId: string; modRevision: number };

export type LeaseWatcher = (event: LeaseEvent) => void;

/** The outcome of compareAndSet: the new modRevision, or the key as it stands (null: absent). */
export type CasResult = { ok: true; modRevision: number } | { ok: false; current: VersionedRecord | null };

/**
 * A shared store that did not answer (etcd down or out of reach, or no answer within its bound).
 * The routes answer it with 503 StoreUnavailable; what the cache holds keeps being served.
 */
export class StoreUnavailable extends Error {
  /**
   * `what` failed for `cause`; without a cause, `what` is the whole message (a reason known before).
   * One line: a TLS failure's cause spans lines (OpenSSL's error string ends in a newline).
   */
  constructor(what: string, cause?: unknown) {
    const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\s*\n\s*/g, ' ');
    super(cause === undefined ? what : `etcd is unavailable (${what}: ${reason})`);
    this.name = 'StoreUnavailable';
  }
}

export type StoreKind = 'file' | 'memory' | 'etcd';

/** Whether the store takes writes now; when not, why and since when (ms since the epoch). */
export type StoreAvailability = { available: true } | { available: false; reason: string; sinceMs: number };

export const ALWAYS_AVAILABLE: StoreAvailability = Object.freeze({ available: true });

/** Raised by watch when the revision asked for is not the store's: list again. */
export class LeaseWatchGap extends Error {
  constructor(asked: number, current: number) {
    super(`lease store is at revision ${current}, a watch from ${asked} would miss changes: list again`);
  }
}

/**
 * The store owns the records handed to it: callers build a fresh record for every write and
 * never change it afterwards, and watchers never change the records they are given. The one
 * exception is the store's own: a touch sets the heartbeat time and GPUs on the stored record
 * in place (its event says what they were), since a copy per beat costs the collector dearly.
 */
export interface LeaseStore {
  /** What kind of store this is; `endpoints` are etcd's (empty for a local store). */
  readonly kind: StoreKind;
  readonly endpoints: readonly string[];
  /** A local store always is; a shared one is not while its last call failed (until a probe answers). */
  availability(): StoreAvailability;
  /** Every stored lease at one revision (on the first call: as left by the last run). */
  list(): Promise<LeaseList>;
  /**
   * Delivers every change after `afterRevision`, in order, until the returned function is
   * called. Throws LeaseWatchGap when changes after that revision can no longer be delivered.
   */
  watch(afterRevision: number, watcher: LeaseWatcher): () => void;
  /**
   * Writes `next` (null: deletes the key) only if the key's modRevision is `expectedRevision`
   * (0: the key must be absent). The decision is the store's, taken atomically; durable when
   * the promise resolves with ok (an acknowledged registration or takeover survives a crash).
   * A local store decides and tells its watchers before it returns; the promise waits for disk.
   */
  compareAndSet(agentId: string, expectedRevision: number, next: LeaseRecord | null): Promise<CasResult>;
  /**
   * Like compareAndSet but batched: a crash may lose it (entries that changed health, names a
   * new revision took away). Answers synchronously whether the key was still at `expectedRevision`.
   * A shared store (etcd) shows the record at once at its old revision and lets etcd decide when
   * the batch is sent; if refused, the record that won replaces it.
   */
  putLater(expectedRevision: number, next: LeaseRecord): CasResult;
  /**
   * A heartbeat that changes no entry: only the time (and GPU and load telemetry, when given)
   * moved. Not a write of the whole record: batched, and cheap; set on the stored record (and
   * its entries, for loads) in place. False when the key is absent.
   */
  touch(agentId: string, lastHeartbeatAt: number, gpus?: Gpu[], loads?: readonly LoadUpdate[]): boolean;
  /** Writes whatever is batched. */
  flush(): Promise<void>;
  /** Flushes and releases timers. */
  close(): Promise<void>;
}

/**
 * Sets a beat's time and telemetry on a stored record in place: the one change of a record the
 * LeaseStore contract allows, done by every store the same way. Answers what the time and GPUs
 * were, for the touch event. In place, not a fresh record: a copy per beat would outlive the young
 * generation (it lives until the agent's next beat) and make every beat old-space garbage.
 */
export function touchRecord(record: LeaseRecord, lastHeartbeatAt: number, gpus: Gpu[] | undefined, loads: readonly LoadUpdate[] | undefined): { previousHeartbeatAt: number; previousGpus: Gpu[] } {
  const previous = { previousHeartbeatAt: record.lastHeartbeatAt, previousGpus: record.gpus };
  record.lastHeartbeatAt = lastHeartbeatAt;
  if (gpus !== undefined) record.gpus = gpus;
  // Telemetry too, on the entries the cache shares: a view built after this reads the new load.
  if (loads !== undefined) {
    for (const update of loads) {
      const entry = record.llms.find((e) => e.name === update.name);
      if (entry === undefined) continue;
      if (update.load === undefined) delete entry.load;
      else entry.load = update.load;
    }
  }
  return previous;
}
