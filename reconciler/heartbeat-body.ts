// Validates a heartbeat body. Nearly every beat has one shape — `{leaseId, llms: [{name,
// health}], gpus}` — and checking that shape by hand costs a small fraction of running the zod
// schema, which dominated the route's own CPU time at fleet scale. The hand check only ever
// accepts: whatever it cannot vouch for (full entries, unknown keys, any doubt) goes to
// heartbeatSchema, so refusals keep zod's exact messages and field paths.
import type { z } from 'zod';
import { HEALTH_VALUES, heartbeatSchema, type Gpu, type Health, type Heartbeat, type HeartbeatLlm, type Load } from '../schema/agent-protocol.js';
import { NAME_MAX_LENGTH, NAME_PATTERN } from '../schema/names.js';

export type HeartbeatParse = { success: true; data: Heartbeat } | { success: false; error: z.ZodError };

/** What heartbeatSchema.safeParse answers, computed without zod for the common shape. */
export function parseHeartbeatBody(body: unknown): HeartbeatParse {
  const fast = commonHeartbeatOf(body);
  if (fast !== null) return { success: true, data: fast };
  return heartbeatSchema.safeParse(body);
}

/**
 * The heartbeat when `body` is a common one that heartbeatSchema accepts, as fresh objects
 * with the keys in the schema's order (what zod would return); null for anything else.
 */
export function commonHeartbeatOf(body: unknown): Heartbeat | null {
  if (!isPlainObject(body)) return null;
  let keys = 0;
  for (const key of Object.keys(body)) {
    if (key !== 'leaseId' && key !== 'llms' && key !== 'gpus') return null;
    keys++;
  }
  const { leaseId, llms, gpus } = body;
  if (typeof leaseId !== 'string' || leaseId.length < 1 || leaseId.length > 128) return null;
  // `llms` may be left out (the schema's default), `gpus` too (optional); JSON has no undefined.
  if (keys !== 1 + (llms === undefined ? 0 : 1) + (gpus === undefined ? 0 : 1)) return null;
  const outLlms: HeartbeatLlm[] = [];
  if (llms !== undefined) {
    if (!Array.isArray(llms) || llms.length > 1024) return null;
    for (const entry of llms as unknown[]) {
      const llm = partialLlmOf(entry);
      if (llm === null) return null;
      outLlms.push(llm);
    }
  }
  const out: Heartbeat = { leaseId, llms: outLlms };
  if (gpus !== undefined) {
    if (!Array.isArray(gpus) || gpus.length > 64) return null;
    const outGpus: Gpu[] = [];
    for (const entry of gpus as unknown[]) {
      const gpu = gpuOf(entry);
      if (gpu === null) return null;
      outGpus.push(gpu);
    }
    out.gpus = outGpus;
  }
  return out;
}

function partialLlmOf(entry: unknown): HeartbeatLlm | null {
  if (!isPlainObject(entry)) return null;
  let keys = 0;
  for (const key of Object.keys(entry)) {
    if (key !== 'name' && key !== 'health' && key !== 'healthMessage' && key !== 'load') return null;
    keys++;
  }
  const { name, health, healthMessage, load } = entry;
  if (typeof name !== 'string' || name.length > NAME_MAX_LENGTH || !NAME_PATTERN.test(name)) return null;
  if (typeof health !== 'string' || !(HEALTH_VALUES as readonly string[]).includes(health)) return null;
  if (keys !== 2 + (healthMessage === undefined ? 0 : 1) + (load === undefined ? 0 : 1)) return null;
  const out: HeartbeatLlm = { name, health: health as Health };
  if (healthMessage !== undefined) {
    if (typeof healthMessage !== 'string' || healthMessage.length > 512) return null;
    out.healthMessage = healthMessage;
  }
  if (load !== undefined) {
    const read = load === null ? null : loadOf(load);
    if (read === undefined) return null;
    out.load = read;
  }
  return out;
}

/** A load entry as loadSchema reads it; undefined when it is not one. */
function loadOf(entry: unknown): Load | undefined {
  if (!isPlainObject(entry)) return undefined;
  let keys = 0;
  for (const key of Object.keys(entry)) {
    if (key !== 'running' && key !== 'waiting' && key !== 'kvCacheUsage') return undefined;
    keys++;
  }
  const { running, waiting, kvCacheUsage } = entry;
  if (keys !== 3 || !isUnknownOrFiniteAtLeastZero(running) || !isUnknownOrFiniteAtLeastZero(waiting) || !isUnknownOrFiniteAtLeastZero(kvCacheUsage)) return undefined;
  if (kvCacheUsage !== null && kvCacheUsage > 1) return undefined;
  return { running, waiting, kvCacheUsage };
}

function gpuOf(entry: unknown): Gpu | null {
  if (!isPlainObject(entry)) return null;
  let keys = 0;
  for (const key of Object.keys(entry)) {
    if (key !== 'index' && key !== 'name' && key !== 'memoryTotalMiB' && key !== 'memoryUsedMiB' && key !== 'utilizationPct') return null;
    keys++;
  }
  const { index, name, memoryTotalMiB, memoryUsedMiB, utilizationPct } = entry;
  if (keys !== 5) return null;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) return null;
  if (typeof name !== 'string' || name.length > 256) return null;
  if (!isUnknownOrFiniteAtLeastZero(memoryTotalMiB) || !isUnknownOrFiniteAtLeastZero(memoryUsedMiB)) return null;
  if (!isUnknownOrFiniteAtLeastZero(utilizationPct) || (utilizationPct !== null && utilizationPct > 100)) return null;
  return { index, name, memoryTotalMiB, memoryUsedMiB, utilizationPct };
}

/** A GPU figure: a finite number from 0 up, or null for one the agent could not read. */
function isUnknownOrFiniteAtLeastZero(value: unknown): value is number | null {
  return value === null || isFiniteAtLeastZero(value);
}

function isFiniteAtLeastZero(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** An object as JSON.parse makes them (no arrays, no class instances, no null prototype tricks). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
