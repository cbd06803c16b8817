// The shapes the reconciler serves and the CLI reads (DESIGN §2, §3): LlmView, members, pools, status.
import type { Gpu } from './agent-protocol.js';
import type { LlmMetadata, LlmSpec } from './resources.js';

export const MEMBER_KINDS = ['managed', 'static', 'virtual', 'declared'] as const;
export type MemberKind = (typeof MEMBER_KINDS)[number];
export const PHASES = ['active', 'pending', 'stale', 'unhealthy', 'draining', 'unknown'] as const;
export type Phase = (typeof PHASES)[number];
export type SyncState = 'Synced' | 'OutOfSync' | 'Pending';
export const POOL_HEALTHS = ['Healthy', 'Degraded', 'Unavailable'] as const;
export type PoolHealth = (typeof POOL_HEALTHS)[number];

export interface Drift {
  path: string;
  declared: string | boolean | null;
  live: string | boolean | null;
}

export interface LlmStatus {
  kind: MemberKind;
  phase: Phase;
  pool: { key: string; explicit: boolean };
  sync: SyncState;
  source: { file: string; line: number; revision: string } | null;
  /** The agent publishing this Llm; `url` is the endpoint it publishes (an addition to DESIGN's fields). */
  agent: { id: string; host: string; lastHeartbeatAt: string; gpus: Gpu[]; url: string } | null;
  drift: Drift[];
  reason: string;
}

export interface LlmView {
  apiVersion: 'mcpctl/v1';
  kind: 'Llm';
  metadata: LlmMetadata;
  spec: LlmSpec;
  status: LlmStatus;
}

export interface PoolStats {
  key: string;
  explicit: boolean;
  size: number;
  activeCount: number;
  minActive: number;
  health: PoolHealth;
}

export interface PoolSummary extends PoolStats {
  /** Whether an LlmPool document declares this pool's policy (an addition to DESIGN's fields). */
  declared: boolean;
  description?: string;
  /** The LlmPool document's labels and annotations, when it has any (additions to DESIGN's fields). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  members: string[];
}

export interface MembersAnswer {
  anchor: string;
  pool: PoolStats;
  members: LlmView[];
}

export interface SourceError {
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface ReconcileAttempt {
  revision: string | null;
  at: string;
  durationMs: number;
  result: 'applied' | 'rejected' | 'unchanged';
  errors: SourceError[];
}

export interface StatusAnswer {
  revision: string | null;
  lastGoodRevision: string | null;
  source: string;
  lastSyncAt: string | null;
  errors: SourceError[];
  counts: { llms: number; pools: number; agents: number; byPhase: Record<Phase, number>; byKind: Record<MemberKind, number> };
  history: ReconcileAttempt[];
}
