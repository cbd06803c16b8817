// Retry timing for whatever talks to a reconciler (the agent, the informer): exponential backoff
// while it is unreachable, and jitter so that a fleet of agents does not beat (or retry) in lockstep.
// Each caller names its own policy.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** Delay before retry number `failures` (1 = after the first failure): initial, doubling, capped. */
export function computeBackoffMs(failures: number, policy: BackoffPolicy): number {
  if (failures <= 0) return 0;
  // Cap the exponent too, so that a long outage cannot overflow to Infinity.
  const exponent = Math.min(failures - 1, 30);
  return Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
}

/** Spreads `baseMs` uniformly over ±fraction (default ±10%); `random` returns [0, 1). */
export function applyJitterMs(baseMs: number, random: () => number, fraction = 0.1): number {
  const factor = 1 - fraction + 2 * fraction * random();
  return Math.max(0, Math.round(baseMs * factor));
}
