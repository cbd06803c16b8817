// A LeaseStore that lives in memory: the default without --state-dir, and a stand-in for
// "the same store after a restart" in tests (hand one instance to two Leases).
import type { AgentRecord, LeaseStore } from './lease-store.js';

export class MemoryLeaseStore implements LeaseStore {
  private readonly records = new Map<string, AgentRecord>();

  loadAll(): Promise<AgentRecord[]> {
    return Promise.resolve([...this.records.values()].map((record) => structuredClone(record)));
  }

  put(record: AgentRecord): Promise<void> {
    this.records.set(record.agentId, record);
    return Promise.resolve();
  }

  putLater(record: AgentRecord): void {
    this.records.set(record.agentId, record);
  }

  touch(agentId: string, lastHeartbeatAt: number): void {
    const record = this.records.get(agentId);
    if (record !== undefined) record.lastHeartbeatAt = lastHeartbeatAt;
  }

  delete(agentId: string): Promise<void> {
    this.records.delete(agentId);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  get size(): number {
    return this.records.size;
  }
}
