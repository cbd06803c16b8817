// The one backoff, as the agent and the informer use it with their own policies.
import { describe, expect, it } from 'vitest';
import { applyJitterMs, computeBackoffMs } from '../../client/backoff.js';
import { AGENT_BACKOFF } from '../../agent/agent.js';
import { INFORMER_BACKOFF } from '../../client/informer.js';

describe('computeBackoffMs', () => {
  it("the agent's starts at 1 s, doubles, and stops at 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => computeBackoffMs(n, AGENT_BACKOFF))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it.each([
    [0, 0],
    [1, 500],
    [2, 1000],
    [3, 2000],
    [5, 8000],
    [6, 10_000],
    [60, 10_000],
  ])("the informer's waits, after %i failures, %i ms", (failures, ms) => {
    expect(computeBackoffMs(failures, INFORMER_BACKOFF)).toBe(ms);
  });

  it('waits nothing before the first failure', () => {
    expect(computeBackoffMs(0, AGENT_BACKOFF)).toBe(0);
  });

  it('stays finite after a very long outage', () => {
    expect(computeBackoffMs(10_000, AGENT_BACKOFF)).toBe(30_000);
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
