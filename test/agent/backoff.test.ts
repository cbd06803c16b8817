import { describe, expect, it } from 'vitest';
import { applyJitterMs, computeBackoffMs } from '../../agent/backoff.js';

describe('computeBackoffMs', () => {
  it('starts at 1 s, doubles, and stops at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => computeBackoffMs(n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('waits nothing before the first failure', () => {
    expect(computeBackoffMs(0)).toBe(0);
  });

  it('stays finite after a very long outage', () => {
    expect(computeBackoffMs(10_000)).toBe(30_000);
  });

  it('follows a custom policy', () => {
    expect([1, 2, 3, 4].map((n) => computeBackoffMs(n, { initialMs: 50, maxMs: 150 }))).toEqual([50, 100, 150, 150]);
  });
});

describe('applyJitterMs', () => {
  it('spreads over ±10%', () => {
    expect(applyJitterMs(10_000, () => 0)).toBe(9000);
    expect(applyJitterMs(10_000, () => 0.5)).toBe(10_000);
    expect(applyJitterMs(10_000, () => 0.999999)).toBe(11_000);
  });
});
