// The records of a store that lives in this process (memory, state-dir file): one map, one
// revision counter, the compare-and-set decision and the watchers. Both local stores keep their
// records here and differ only in what they write to disk.
import type { Gpu } from '../schema/agent-protocol.js';
import { LeaseWatchGap, touchRecord, type CasResult, type LeaseEvent, type LeaseList, type LeaseRecord, type LeaseWatcher, type LoadUpdate, type VersionedRecord } from './lease-store.js';

export class LocalLeaseTable {
  private readonly records = new Map<string, VersionedRecord>();
  private readonly watchers = new Set<LeaseWatcher>();
  private revision = 0;

  get size(): number {
    return this.records.size;
  }

  get currentRevision(): number {
    return this.revision;
  }

  /** Replaces everything with what a file held, without telling watchers (there are none yet). */
  load(records: readonly LeaseRecord[]): void {
    this.records.clear();
    for (const record of records) this.records.set(record.agentId, { record, modRevision: ++this.revision });
  }

  list(): LeaseList {
    return { records: [...this.records.values()], revision: this.revision };
  }

  watch(afterRevision: number, watcher: LeaseWatcher): () => void {
    if (afterRevision !== this.revision) throw new LeaseWatchGap(afterRevision, this.revision);
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  compareAndSet(agentId: string, expectedRevision: number, next: LeaseRecord | null): CasResult {
    const current = this.records.get(agentId);
    if ((current?.modRevision ?? 0) !== expectedRevision) return { ok: false, current: current ?? null };
    if (next === null) {
      if (current === undefined) return { ok: true, modRevision: 0 };
      this.records.delete(agentId);
      this.emit({ type: 'delete', agentId, modRevision: ++this.revision });
      return { ok: true, modRevision: 0 };
    }
    const modRevision = ++this.revision;
    this.records.set(agentId, { record: next, modRevision });
    this.emit({ type: 'put', record: next, modRevision });
    return { ok: true, modRevision };
  }

  touch(agentId: string, lastHeartbeatAt: number, gpus: Gpu[] | undefined, loads?: readonly LoadUpdate[]): boolean {
    const current = this.records.get(agentId);
    if (current === undefined) return false;
    const modRevision = ++this.revision;
    const { record } = current;
    const { previousHeartbeatAt, previousGpus } = touchRecord(record, lastHeartbeatAt, gpus, loads);
    current.modRevision = modRevision;
    this.emit({ type: 'touch', record, modRevision, previousHeartbeatAt, previousGpus });
    return true;
  }

  /** Every record sorted by agentId, for a file. */
  sortedRecords(): LeaseRecord[] {
    return [...this.records.values()].map((v) => v.record).sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
  }

  private emit(event: LeaseEvent): void {
    for (const watcher of this.watchers) watcher(event);
  }
}
