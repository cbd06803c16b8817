// The gateway's per-request counter and histograms are its own (no label hash per observation),
// and must read exactly as prom-client's: the same text and JSON for the same observations.
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PoolHistogram, RequestCounter } from '../../gateway/metrics.js';

const BOUNDS = [0.005, 0.01, 0.1, 1, 10];
const observation = fc.record({
  pool: fc.constantFrom('p', 'q', 'pool "quoted"\\'),
  member: fc.constantFrom('a', 'b', ''),
  status: fc.constantFrom('200', '499', '502'),
  seconds: fc.oneof(fc.constantFrom(0, 0.005, 0.01, 10, 11), fc.double({ min: 0, max: 20, noNaN: true })),
});

describe('RequestCounter and PoolHistogram', () => {
  it("read as prom-client's Counter and Histogram given the same observations, as text and as JSON", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 40 }), async (observations) => {
        const ours = new Registry();
        const theirs = new Registry();
        const counter = new RequestCounter('t_requests_total', 'help', ours);
        const histogram = new PoolHistogram('t_seconds', 'help', BOUNDS, ours);
        const promCounter = new Counter({ name: 't_requests_total', help: 'help', labelNames: ['pool', 'member', 'status'], registers: [theirs] });
        const promHistogram = new Histogram({ name: 't_seconds', help: 'help', labelNames: ['pool'], buckets: BOUNDS, registers: [theirs] });
        for (const o of observations) {
          counter.inc(o.pool, o.member, o.status);
          promCounter.inc({ pool: o.pool, member: o.member, status: o.status });
          histogram.observe(o.pool, o.seconds);
          promHistogram.observe({ pool: o.pool }, o.seconds);
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
        // prom-client's JSON also carries each value's exemplar (none here).
        const withoutExemplars = (json: unknown): unknown => JSON.parse(JSON.stringify(json, (key: string, value: unknown) => (key === 'exemplar' ? undefined : value)));
        expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
      }),
      { numRuns: 200 },
    );
  });

  it('start again from nothing when the registry resets them', async () => {
    const registry = new Registry();
    const counter = new RequestCounter('t_requests_total', 'help', registry);
    const histogram = new PoolHistogram('t_seconds', 'help', BOUNDS, registry);
    counter.inc('p', 'a', '200');
    histogram.observe('p', 1);
    registry.resetMetrics();
    expect(await registry.metrics()).toBe('# HELP t_requests_total help\n# TYPE t_requests_total counter\n\n# HELP t_seconds help\n# TYPE t_seconds histogram\n');
  });
});
