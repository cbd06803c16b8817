// Bodies exchanged between agents and the reconciler (DESIGN §3): registration, heartbeat, answers.
import { z } from 'zod';
import { nameSchema } from './names.js';
import { llmTypeSchema, urlSchema } from './resources.js';

export const HEALTH_VALUES = ['ok', 'failing', 'unknown'] as const;
export const healthSchema = z.enum(HEALTH_VALUES);
export type Health = z.infer<typeof healthSchema>;

/**
 * A GPU and how busy it is. A figure `nvidia-smi` cannot give (`[N/A]`, `[Not Supported]`: the
 * utilisation of a MIG device, the memory of some boards) is `null`, unknown rather than idle;
 * agents before that addition always send numbers.
 */
export const gpuSchema = z.strictObject({
  index: z.number().int().min(0),
  name: z.string().max(256),
  memoryTotalMiB: z.number().min(0).nullable(),
  memoryUsedMiB: z.number().min(0).nullable(),
  utilizationPct: z.number().min(0).max(100).nullable(),
});
export type Gpu = z.infer<typeof gpuSchema>;

const healthMessageSchema = z.string().max(512).optional();

/**
 * How busy the serving engine says it is, read from its Prometheus `/metrics` on each probe:
 * requests running, requests waiting, and the KV cache in use (0..1). A figure the engine does
 * not export is `null`. In a registration an absent `load` means none is known; in a heartbeat's
 * partial entry it means unchanged, and `null` that the figures are gone.
 */
export const loadSchema = z.strictObject({
  running: z.number().min(0).nullable(),
  waiting: z.number().min(0).nullable(),
  kvCacheUsage: z.number().min(0).max(1).nullable(),
});
export type Load = z.infer<typeof loadSchema>;

/** Whether two load reports say the same (absent equals only absent). */
export function isSameLoad(a: Load | undefined, b: Load | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return a.running === b.running && a.waiting === b.waiting && a.kvCacheUsage === b.kvCacheUsage;
}

export const registeredLlmSchema = z.strictObject({
  name: nameSchema,
  poolName: nameSchema.optional(),
  type: llmTypeSchema,
  model: z.string().min(1).max(256),
  url: urlSchema,
  health: healthSchema,
  healthMessage: healthMessageSchema,
  load: loadSchema.nullable().optional(),
});
export type RegisteredLlm = z.infer<typeof registeredLlmSchema>;

const agentIdSchema = nameSchema;

export const registrationSchema = z.strictObject({
  agentId: agentIdSchema,
  host: z.string().min(1).max(253),
  version: z.string().max(64),
  llms: z.array(registeredLlmSchema).max(1024),
  gpus: z.array(gpuSchema).max(64).default([]),
});
export type Registration = z.infer<typeof registrationSchema>;

/** A heartbeat names only what changed; a full registration entry is accepted too. */
export const heartbeatLlmSchema = z.union([
  // The partial entry first: it is what nearly every beat sends.
  z.strictObject({ name: nameSchema, health: healthSchema, healthMessage: healthMessageSchema, load: loadSchema.nullable().optional() }),
  registeredLlmSchema,
]);
export type HeartbeatLlm = z.infer<typeof heartbeatLlmSchema>;

export const heartbeatSchema = z.strictObject({
  leaseId: z.string().min(1).max(128),
  llms: z.array(heartbeatLlmSchema).max(1024).default([]),
  gpus: z.array(gpuSchema).max(64).optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export interface DesiredForAgent {
  name: string;
  poolName: string | null;
  enabled: boolean;
  declared: boolean;
}

export interface RegistrationAnswer {
  leaseId: string;
  ttlSeconds: number;
  heartbeatIntervalSeconds: number;
  revision: string | null;
  desired: DesiredForAgent[];
  rejected: { name: string; reason: string }[];
}
