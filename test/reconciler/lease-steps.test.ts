// The steps an agent's record is written in when one etcd txn cannot claim and release all its
// names: each step within the limit, each a whole record, the last the record asked for.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordSteps } from '../../reconciler/lease-steps.js';
import type { LeaseRecord, StoredLlm } from '../../reconciler/lease-store.js';
import { leaseRecord } from './support/lease-record.js';

const namesOf = (record: LeaseRecord | null): string[] => record?.llms.map((e) => e.name) ?? [];

/** Names claimed plus names released from one step to the next. */
function changes(from: readonly string[], to: readonly string[]): number {
  const a = new Set(from);
  const b = new Set(to);
  return [...b].filter((n) => !a.has(n)).length + [...a].filter((n) => !b.has(n)).length;
}

describe('recordSteps', () => {
  it('is the record itself when its changes fit one txn', () => {
    const next = leaseRecord('x', ['a', 'b', 'c']);
    expect(recordSteps(leaseRecord('x', ['a']), leaseRecord('x', ['a']).llms, next, 2)).toEqual([next]);
    expect(recordSteps(leaseRecord('x', ['a', 'b']), leaseRecord('x', ['a', 'b']).llms, null, 2)).toEqual([null]);
  });

  it('releases first, then claims, a chunk per step', () => {
    const current = leaseRecord('x', ['a', 'b', 'c']);
    const next = leaseRecord('x', ['c', 'd', 'e', 'f']);
    const steps = recordSteps(current, current.llms, next, 2);
    expect(steps.map(namesOf)).toEqual([['c'], ['c', 'd', 'e'], ['c', 'd', 'e', 'f']]);
    // Kept and claimed names carry the new entries; the step is the new record otherwise.
    expect(steps[1]).toEqual({ ...next, llms: next.llms.slice(0, 3) });
  });

  it('deletes a record in steps that drop its names, with its own fields, and ends in null', () => {
    const current = leaseRecord('x', ['a', 'b', 'c', 'd', 'e']);
    const steps = recordSteps(current, current.llms, null, 2);
    expect(steps.map(namesOf)).toEqual([['c', 'd', 'e'], ['e'], []]);
    expect(steps[0]).toEqual({ ...current, llms: current.llms.slice(2) });
    expect(steps.at(-1)).toBeNull();
  });

  it('keeps the stored entry of a name still to be released', () => {
    const stored: StoredLlm[] = [...leaseRecord('x', ['p', 'q']).llms, { name: 'old', type: 'vllm', model: 'stored-model', url: 'http://old:1/v1', health: 'ok' }];
    const steps = recordSteps(null, stored, leaseRecord('x', ['n1', 'n2']), 2);
    expect(steps[0]?.llms.find((e) => e.name === 'old')?.model).toBe('stored-model');
  });

  it('any records and limit: each step within the limit, only names of either side, the last the record asked for', () => {
    const names = fc.uniqueArray(fc.constantFrom(...Array.from({ length: 30 }, (_, i) => `n${i}`)), { maxLength: 30 });
    fc.assert(
      fc.property(names, fc.option(names, { nil: null }), fc.integer({ min: 1, max: 8 }), (before, after, max) => {
        const current = leaseRecord('x', before);
        const next = after === null ? null : leaseRecord('x', after, 2_000);
        const steps = recordSteps(current, current.llms, next, max);
        expect(steps.at(-1)).toBe(next);
        let previous = before;
        for (const step of steps) {
          expect(changes(previous, namesOf(step))).toBeLessThanOrEqual(max);
          for (const name of namesOf(step)) expect(before.includes(name) || (after ?? []).includes(name)).toBe(true);
          expect(new Set(namesOf(step)).size).toBe(namesOf(step).length);
          previous = namesOf(step);
        }
        if (changes(before, after ?? []) <= max) expect(steps).toHaveLength(1);
      }),
      { numRuns: 500 },
    );
  });
});
