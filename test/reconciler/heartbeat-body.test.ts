// The hand-checked heartbeat fast path must never disagree with the agent protocol's zod
// schema: whatever it accepts, zod accepts with the same data; whatever it declines goes to
// zod, so refusals keep zod's messages and field paths.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { heartbeatSchema } from '../../schema/agent-protocol.js';
import { commonHeartbeatOf, parseHeartbeatBody } from '../../reconciler/heartbeat-body.js';

const GPU = { index: 0, name: 'NVIDIA H100', memoryTotalMiB: 81559, memoryUsedMiB: 40_000, utilizationPct: 55 };

// Values near every edge the schema draws: lengths, name characters, enum members, numbers.
const nameArb = fc.oneof(
  fc.constantFrom('llm-0', 'a', 'a.b_c-d', '-bad', 'bad-', 'Upper', '', 'x'.repeat(63), 'x'.repeat(64), 'é'),
  fc.stringMatching(/^[a-z0-9._-]{0,70}$/),
);
const healthArb = fc.constantFrom('ok', 'failing', 'unknown', 'OK', '', 'sick');
const numberArb = fc.oneof(fc.constantFrom(0, -0, 1, -1, 0.5, 100, 100.5, 2 ** 53, 1e300, -1e-9), fc.double({ noNaN: true }));
// A GPU figure the agent could not read is null.
const metricArb = fc.oneof(numberArb, fc.constant(null));
const anyArb = fc.oneof(fc.constant(null), fc.boolean(), numberArb, fc.string({ maxLength: 4 }), fc.constant([]), fc.constant({}));
const withJunk = <T extends Record<string, unknown>>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 6, arbitrary: arb },
    // A computed key defines an own property, so `__proto__` survives into the JSON too.
    { weight: 1, arbitrary: fc.tuple(arb, fc.constantFrom('extra', '__proto__', 'type', 'constructor'), anyArb).map(([o, k, v]) => ({ ...o, [k]: v })) },
    { weight: 1, arbitrary: anyArb },
  );
// An engine's load: a figure it does not export is null; the KV cache is a fraction 0..1.
const loadArb = withJunk(
  fc.record(
    { running: metricArb, waiting: metricArb, kvCacheUsage: fc.oneof(metricArb, fc.constantFrom(0, 0.42, 1, 1.01)) },
    { requiredKeys: ['running', 'waiting'] },
  ),
);
const llmArb = withJunk(
  fc.record(
    {
      name: fc.oneof(nameArb, anyArb),
      health: fc.oneof(healthArb, anyArb),
      healthMessage: fc.oneof(fc.string({ maxLength: 600 }), anyArb),
      load: fc.oneof(loadArb, fc.constant(null)),
    },
    { requiredKeys: ['name', 'health'] },
  ),
);
const gpuArb = withJunk(
  fc.record(
    { index: fc.oneof(numberArb, anyArb), name: fc.oneof(fc.string({ maxLength: 300 }), anyArb), memoryTotalMiB: metricArb, memoryUsedMiB: metricArb, utilizationPct: metricArb },
    { requiredKeys: ['index', 'name', 'memoryTotalMiB', 'memoryUsedMiB'] },
  ),
);
const heartbeatArb = withJunk(
  fc.record(
    {
      leaseId: fc.oneof(fc.constantFrom('', 'l'.repeat(128), 'l'.repeat(129)), fc.uuid(), anyArb),
      llms: fc.oneof(fc.array(llmArb, { maxLength: 4 }), anyArb),
      gpus: fc.oneof(fc.array(gpuArb, { maxLength: 3 }), anyArb),
    },
    { requiredKeys: [] },
  ),
);

describe('the heartbeat fast path', () => {
  it('accepts only what zod accepts, with the same data', () => {
    let accepted = 0;
    fc.assert(
      fc.property(heartbeatArb, (raw) => {
        // Bodies arrive through JSON.parse; so do these (own __proto__ keys included).
        const body = JSON.parse(JSON.stringify(raw) ?? 'null') as unknown;
        const fast = commonHeartbeatOf(body);
        const zod = heartbeatSchema.safeParse(body);
        if (fast !== null) {
          accepted++;
          expect(zod.success).toBe(true);
          expect(fast).toStrictEqual(zod.data);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
        }
        expect(parseHeartbeatBody(body)).toStrictEqual(fast === null ? zod : { success: true, data: fast });
      }),
      { numRuns: 3000 },
    );
    // The property is only worth something if the fast path takes a fair share of the cases.
    expect(accepted).toBeGreaterThan(30);
  });

  it('takes the common beat and leaves full entries and refusals to zod', () => {
    const beat = { leaseId: 'lease-1', llms: [{ name: 'llm-0', health: 'ok' }], gpus: [GPU] };
    expect(commonHeartbeatOf(JSON.parse(JSON.stringify(beat)))).toStrictEqual(beat);
    expect(commonHeartbeatOf({ leaseId: 'lease-1' })).toStrictEqual({ leaseId: 'lease-1', llms: [] });
    const loaded = { leaseId: 'lease-1', llms: [{ name: 'llm-0', health: 'ok', load: { running: 3, waiting: 0, kvCacheUsage: 0.42 } }, { name: 'llm-1', health: 'ok', load: null }] };
    expect(commonHeartbeatOf(JSON.parse(JSON.stringify(loaded)))).toStrictEqual(loaded);
    const mig = { leaseId: 'lease-1', llms: [], gpus: [{ ...GPU, utilizationPct: null }, { ...GPU, index: 1, memoryTotalMiB: null, memoryUsedMiB: null }] };
    expect(commonHeartbeatOf(JSON.parse(JSON.stringify(mig)))).toStrictEqual(mig);
    const full = { leaseId: 'l', llms: [{ name: 'llm-0', type: 'vllm', model: 'm', url: 'http://h:1/v1', health: 'ok' }] };
    expect(commonHeartbeatOf(full)).toBeNull();
    expect(parseHeartbeatBody(full).success).toBe(true);
    const bad = parseHeartbeatBody({ leaseId: 'l', llms: [{ name: 'Bad_Name!', health: 'ok' }] });
    expect(bad.success).toBe(false);
    if (!bad.success) expect(bad.error.issues[0]?.path).toEqual(['llms', 0]);
  });
});
