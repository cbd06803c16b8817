// Live views brought onto a declared base (schema/projection.ts): what the pool policy check of
// one change counts as active where, when the reconciler serves a revision behind the base.
import { describe, expect, it } from 'vitest';
import { projectLiveOntoBase } from '../../schema/projection.js';
import { declare, fleet, llm } from '../builders.js';

/** gpu1 serves a and b in pool p, c alone, and an undeclared x; the reconciler declares a, b, c. */
function served() {
  return fleet()
    .declare('llms/p.yaml', llm('a', { poolName: 'p' }), llm('b', { poolName: 'p' }), llm('c'))
    .agent('gpu1')
    .llm('a', { poolName: 'p' })
    .llm('b', { poolName: 'p' })
    .llm('c')
    .llm('x', { poolName: 'p' })
    .views();
}

function phasesAndPools(views: ReturnType<typeof served>): Record<string, string> {
  return Object.fromEntries(views.map((v) => [v.metadata.name, `${v.status.phase} ${v.status.pool.key}`]));
}

describe('projectLiveOntoBase', () => {
  it('leaves every view as it is when the base declares what the reconciler serves', () => {
    const live = served();
    const base = declare({ 'llms/p.yaml': [llm('a', { poolName: 'p' }), llm('b', { poolName: 'p' }), llm('c')] });
    expect(projectLiveOntoBase(live, base)).toEqual(live);
  });

  it('an Llm disabled in the base no longer counts as active', () => {
    const base = declare({ 'llms/p.yaml': [llm('a', { poolName: 'p', enabled: false }), llm('b', { poolName: 'p' }), llm('c')] });
    expect(phasesAndPools(projectLiveOntoBase(served(), base))).toMatchObject({ a: 'draining p', b: 'active p' });
  });

  it('an Llm the base deleted leaves its pool; one published and never declared stays', () => {
    const base = declare({ 'llms/p.yaml': [llm('a', { poolName: 'p' }), llm('c')] });
    expect(phasesAndPools(projectLiveOntoBase(served(), base))).toMatchObject({ b: 'draining p', x: 'active p' });
  });

  it('an Llm the base moves counts in its new pool, explicit or not', () => {
    const base = declare({ 'llms/p.yaml': [llm('a', { poolName: 'q' }), llm('b', { poolName: 'p' }), llm('c', { poolName: 'p' })] });
    const projected = projectLiveOntoBase(served(), base);
    expect(phasesAndPools(projected)).toMatchObject({ a: 'active q', c: 'active p' });
    expect(projected.find((v) => v.metadata.name === 'a')?.status.pool.explicit).toBe(true);
  });

  it('a view that is not active is never changed', () => {
    const live = fleet().declare('llms/p.yaml', llm('a', { poolName: 'p' })).agent('gpu1').llm('a', { poolName: 'p', heartbeatAgoMs: 60_000 }).views();
    expect(live[0]?.status.phase).toBe('stale');
    expect(projectLiveOntoBase(live, declare({}))).toEqual(live);
  });
});
