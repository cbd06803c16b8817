// Small statistics every benchmark shares: timing, medians, percentiles, rounding.

/** Milliseconds `run` takes. */
export function timeMs(run: () => unknown): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * The same, after a full collection when node runs with --expose-gc, so that garbage left by an
 * earlier repetition is not charged to this one. (Not for the parse cache's reload: a forced
 * collection right before it makes the reload slower, not fairer.)
 */
export function timeMsAfterGc(run: () => unknown): number {
  (globalThis as { gc?: () => void }).gc?.();
  return timeMs(run);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The p-quantile (0..1) of values sorted ascending. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

export const round1 = (n: number): number => Math.round(n * 10) / 10;
export const round3 = (n: number): number => Math.round(n * 1000) / 1000;
