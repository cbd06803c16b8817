// The shapes the reconciler serves and its clients read (DESIGN §2, §3): LlmView, members, pools,
// status, and the small answers of /sync and /healthz. zod schemas, so that a client parses an
// answer at its edge instead of trusting it; the reconciler builds values of the inferred types.
// The keys are in the order the reconciler writes them: a parsed answer prints as it was served.
import { z } from 'zod';
import { API_VERSION, LLM_SOURCES, LLM_TYPES } from './llm-values.js';

export const MEMBER_KINDS = ['managed', 'static', 'virtual', 'declared'] as const;
export type MemberKind = (typeof MEMBER_KINDS)[number];
export const PHASES = ['active', 'pending', 'stale', 'unhealthy', 'draining', 'unknown'] as const;
export type Phase = (typeof PHASES)[number];
export const SYNC_STATES = ['Synced', 'OutOfSync', 'Pending'] as const;
export type SyncState = (typeof SYNC_STATES)[number];
export const POOL_HEALTHS = ['Healthy', 'Degraded', 'Unavailable'] as const;
export type PoolHealth = (typeof POOL_HEALTHS)[number];
export const ATTEMPT_RESULTS = ['applied', 'rejected', 'unchanged'] as const;

const stringMapSchema = z.record(z.string(), z.string());

export const driftSchema = z.object({
  path: z.string(),
  declared: z.union([z.string(), z.boolean()]).nullable(),
  live: z.union([z.string(), z.boolean()]).nullable(),
});
export type Drift = z.infer<typeof driftSchema>;

/**
 * A GPU as an agent reports it (agent-protocol's gpuSchema, without its bounds: the reconciler
 * checked them); `null` is a figure the agent could not read.
 */
const gpuViewSchema = z.object({
  index: z.number(),
  name: z.string(),
  memoryTotalMiB: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  utilizationPct: z.number().nullable(),
});

/** An engine's load as views carry it: requests running and waiting, the KV cache in use (0..1). */
const loadViewSchema = z.object({ running: z.number().nullable(), waiting: z.number().nullable(), kvCacheUsage: z.number().nullable() });

export const llmStatusSchema = z.object({
  kind: z.enum(MEMBER_KINDS),
  phase: z.enum(PHASES),
  pool: z.object({ key: z.string(), explicit: z.boolean() }),
  sync: z.enum(SYNC_STATES),
  source: z.object({ file: z.string(), line: z.number(), revision: z.string() }).nullable(),
  /** The agent publishing this Llm; `url` is the endpoint it publishes (an addition to DESIGN's fields). */
  agent: z
    .object({
      id: z.string(),
      host: z.string(),
      lastHeartbeatAt: z.string(),
      gpus: z.array(gpuViewSchema),
      url: z.string(),
      /**
       * The serving engine's load at the agent's last beat that carried it (Prometheus `/metrics`):
       * absent when the engine reports none; each figure null when it exports no such metric.
       * Not part of what /watch reports: it moves on nearly every beat.
       */
      load: loadViewSchema.nullable().optional(),
    })
    .nullable(),
  drift: z.array(driftSchema),
  reason: z.string(),
});
export type LlmStatus = z.infer<typeof llmStatusSchema>;

/** An Llm's metadata and spec as served: the types of resources.ts, without the rules Git files obey. */
const llmMetadataViewSchema = z.object({
  name: z.string(),
  labels: stringMapSchema.optional(),
  annotations: stringMapSchema.optional(),
});

const llmSpecViewSchema = z.object({
  type: z.enum(LLM_TYPES),
  model: z.string(),
  url: z.string().optional(),
  poolName: z.string().optional(),
  source: z.enum(LLM_SOURCES).optional(),
  enabled: z.boolean().optional(),
  apiKeyRef: z.object({ env: z.string() }).optional(),
});

export const llmViewSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Llm'),
  metadata: llmMetadataViewSchema,
  spec: llmSpecViewSchema,
  status: llmStatusSchema,
});
export type LlmView = z.infer<typeof llmViewSchema>;

export const poolStatsSchema = z.object({
  key: z.string(),
  explicit: z.boolean(),
  size: z.number(),
  activeCount: z.number(),
  minActive: z.number(),
  health: z.enum(POOL_HEALTHS),
});
export type PoolStats = z.infer<typeof poolStatsSchema>;

export const poolSummarySchema = poolStatsSchema.extend({
  /** Whether an LlmPool document declares this pool's policy (an addition to DESIGN's fields). */
  declared: z.boolean(),
  members: z.array(z.string()),
  description: z.string().optional(),
  /** The LlmPool document's labels and annotations, when it has any (additions to DESIGN's fields). */
  labels: stringMapSchema.optional(),
  annotations: stringMapSchema.optional(),
});
export type PoolSummary = z.infer<typeof poolSummarySchema>;

export const membersAnswerSchema = z.object({
  anchor: z.string(),
  pool: poolStatsSchema,
  members: z.array(llmViewSchema),
});
export type MembersAnswer = z.infer<typeof membersAnswerSchema>;

export const sourceErrorSchema = z.object({
  file: z.string(),
  line: z.number(),
  col: z.number(),
  message: z.string(),
});
export type SourceError = z.infer<typeof sourceErrorSchema>;

export const reconcileAttemptSchema = z.object({
  revision: z.string().nullable(),
  at: z.string(),
  durationMs: z.number(),
  result: z.enum(ATTEMPT_RESULTS),
  errors: z.array(sourceErrorSchema),
});
export type ReconcileAttempt = z.infer<typeof reconcileAttemptSchema>;

/**
 * A /watch HEARTBEAT event: the agents that beat since the last one, with their newest beat, and
 * (when any moved) the Llms whose engine load moved, by name: the new load, `null` when gone (an
 * addition: load alone is no MODIFIED).
 */
export const heartbeatEventSchema = z.object({ agents: z.record(z.string(), z.string()), loads: z.record(z.string(), loadViewSchema.nullable()).optional() });

export const STORE_KINDS = ['file', 'memory', 'etcd'] as const;

/** Which lease store serves the fleet (DESIGN §9), where, and which reconciler reads Git. */
export const storeStatusSchema = z.object({
  kind: z.enum(STORE_KINDS),
  /** etcd's endpoints (`HOST:PORT`); empty for a local store. */
  endpoints: z.array(z.string()),
  /** The reconciler that reads Git for the fleet (its id or URL); null when none is known. */
  leader: z.string().nullable(),
  /** Present while the store does not answer: register and heartbeat then answer 503 StoreUnavailable. */
  unavailable: z.object({ since: z.string(), reason: z.string() }).optional(),
});
export type StoreStatus = z.infer<typeof storeStatusSchema>;

export const statusAnswerSchema = z.object({
  revision: z.string().nullable(),
  lastGoodRevision: z.string().nullable(),
  source: z.string(),
  /** The root commits of the followed history (empty: not known; absent: an older reconciler). */
  sourceRootCommits: z.array(z.string()).optional(),
  lastSyncAt: z.string().nullable(),
  errors: z.array(sourceErrorSchema),
  counts: z.object({
    llms: z.number(),
    pools: z.number(),
    agents: z.number(),
    byPhase: z.record(z.enum(PHASES), z.number()),
    byKind: z.record(z.enum(MEMBER_KINDS), z.number()),
  }),
  history: z.array(reconcileAttemptSchema),
  /** Absent from an older reconciler. */
  store: storeStatusSchema.optional(),
});
export type StatusAnswer = z.infer<typeof statusAnswerSchema>;

/** GET /api/v1/llms (and ?pool=KEY). */
export const llmListAnswerSchema = z.object({
  revision: z.string().nullable(),
  items: z.array(llmViewSchema),
});
export type LlmListAnswer = z.infer<typeof llmListAnswerSchema>;

/** GET /api/v1/pools. */
export const poolListAnswerSchema = z.object({ items: z.array(poolSummarySchema) });
export type PoolListAnswer = z.infer<typeof poolListAnswerSchema>;

/** POST /api/v1/sync: the revision served afterwards, and what the read did. */
export const syncAnswerSchema = z.object({
  revision: z.string().nullable(),
  result: z.enum(ATTEMPT_RESULTS),
  errors: z.array(sourceErrorSchema),
});
export type SyncAnswer = z.infer<typeof syncAnswerSchema>;

/** GET /healthz. */
export const healthAnswerSchema = z.object({ status: z.string(), version: z.string().optional() });
export type HealthAnswer = z.infer<typeof healthAnswerSchema>;

/** Every error answer: `{"error":{"code","message"}}` (DESIGN §3). */
export const errorAnswerSchema = z.object({ error: z.object({ code: z.string().optional(), message: z.string().optional() }) });
