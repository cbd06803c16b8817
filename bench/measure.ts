// What every benchmark shares: timing, medians, percentiles, rounding, a pool of concurrent
// tasks, and sizes read from the environment.

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
export const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Runs task(0) … task(count - 1), at most `concurrency` at a time. */
export async function runPool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** A whole number above 0 from the environment variable `name` (quick runs, profiles), else `fallback`. */
export function positiveIntFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}: expected a whole number above 0, found ${JSON.stringify(text)}`);
  return value;
}
