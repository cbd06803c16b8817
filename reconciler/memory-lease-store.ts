// A LeaseStore that lives in memory: the default without --state-dir, and a stand-in for
// "the same store after a restart" in tests (hand one instance to two reconcilers).
import type { Gpu } from '../schema/agent-protocol.js';
import { ALWAYS_AVAILABLE, type CasResult, type LeaseList, type LeaseRecord, type LeaseStore, type LeaseWatcher, type LoadUpdate, type StoreAvailability } from './lease-store.js';
import { LocalLeaseTable } from './local-lease-table.js';

export class MemoryLeaseStore implements LeaseStore {
  readonly kind = 'memory';
  readonly endpoints: readonly string[] = [];
  private readonly table = new LocalLeaseTable();

  availability(): StoreAvailability {
    return ALWAYS_AVAILABLE;
  }

  list(): Promise<LeaseList> {
    return Promise.resolve(this.table.list());
  }

  watch(afterRevision: number, watcher: LeaseWatcher): () => void {
    return this.table.watch(afterRevision, watcher);
  }

  compareAndSet(agentId: string, expectedRevision: number, next: LeaseRecord | null): Promise<CasResult> {
    return Promise.resolve(this.table.compareAndSet(agentId, expectedRevision, next));
  }

  putLater(expectedRevision: number, next: LeaseRecord): CasResult {
    return this.table.compareAndSet(next.agentId, expectedRevision, next);
  }

  touch(agentId: string, lastHeartbeatAt: number, gpus?: Gpu[], loads?: readonly LoadUpdate[]): boolean {
    return this.table.touch(agentId, lastHeartbeatAt, gpus, loads);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  get size(): number {
    return this.table.size;
  }
}
