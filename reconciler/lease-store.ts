// Where agent leases are kept between restarts. The lease rules (leases.ts) sit on top of this
// small interface so that a shared store (etcd with its native TTL leases) can replace the
// state-dir file later without touching routes or pools.
import type { Gpu, Health } from '../schema/agent-protocol.js';
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
}

/** One agent's lease and everything it publishes. */
export interface AgentRecord {
  agentId: string;
  leaseId: string;
  host: string;
  version: string;
  gpus: Gpu[];
  /** Milliseconds since the epoch. */
  lastHeartbeatAt: number;
  llms: StoredLlm[];
}

/**
 * The store owns the records handed to it: callers build a fresh record for every put and never
 * change it afterwards.
 */
export interface LeaseStore {
  /** Every stored agent, as left by the last run. */
  loadAll(): Promise<AgentRecord[]>;
  /** Durable when the promise resolves: an acknowledged registration survives a crash. */
  put(record: AgentRecord): Promise<void>;
  /** May be batched with later writes; a crash may lose it (heartbeat-only changes). */
  putLater(record: AgentRecord): void;
  /** A bare heartbeat: only the timestamp moved. Batched like putLater. */
  touch(agentId: string, lastHeartbeatAt: number): void;
  /** Durable when the promise resolves. */
  delete(agentId: string): Promise<void>;
  /** Writes whatever is batched. */
  flush(): Promise<void>;
  /** Flushes and releases timers. */
  close(): Promise<void>;
}
