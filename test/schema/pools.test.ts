// Pool rules (DESIGN §2, §7): keys, membership, explicit/implicit, counts, minActive and health.
import { describe, expect, it } from 'vitest';
import {
  countActive,
  groupPools,
  isExplicit,
  isSolo,
  membersOf,
  poolHealthOf,
  poolKeyOf,
  policiesByKey,
  summarizePools,
  type PoolEntry,
  type PoolPolicy,
} from '../../schema/pools.js';
import type { LlmPool } from '../../schema/resources.js';
import type { LlmView, Phase, PoolHealth } from '../../schema/views.js';

// --- builders ----------------------------------------------------------------------------------

/** A minimal effective view: only name, poolName and phase matter to the pool rules. */
function view(name: string, options: { poolName?: string; phase?: Phase } = {}): LlmView {
  const spec: LlmView['spec'] = { type: 'vllm', model: 'Qwen/Qwen3-8B' };
  if (options.poolName !== undefined) spec.poolName = options.poolName;
  return {
    apiVersion: 'mcpctl/v1',
    kind: 'Llm',
    metadata: { name },
    spec,
    status: {
      kind: 'managed',
      phase: options.phase ?? 'active',
      pool: { key: options.poolName ?? name, explicit: options.poolName !== undefined },
      sync: 'Synced',
      source: null,
      agent: null,
      drift: [],
      reason: '',
    },
  };
}

function llmPool(name: string, minActive?: number, description?: string): LlmPool {
  const spec: LlmPool['spec'] = {};
  if (minActive !== undefined) spec.minActive = minActive;
  if (description !== undefined) spec.description = description;
  return { apiVersion: 'mcpctl/v1', kind: 'LlmPool', metadata: { name }, spec };
}

const policies = (...pools: LlmPool[]): Map<string, PoolPolicy> => policiesByKey(pools);

// --- keys --------------------------------------------------------------------------------------

describe('pool key', () => {
  it.each<[string, PoolEntry, string, boolean]>([
    ['poolName when set (explicit)', { name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking' }, 'user-vllm-qwen3-thinking', true],
    ["the Llm's own name otherwise (implicit)", { name: 'llama3-70b' }, 'llama3-70b', false],
    ['poolName equal to the own name is still explicit', { name: 'qwen3', poolName: 'qwen3' }, 'qwen3', true],
    ['an explicitly undefined poolName is implicit', { name: 'a', poolName: undefined }, 'a', false],
  ])('%s', (_label, entry, key, explicit) => {
    expect(poolKeyOf(entry)).toBe(key);
    expect(isExplicit(entry)).toBe(explicit);
  });
});

// --- grouping ----------------------------------------------------------------------------------

describe('groupPools', () => {
  it.each<[string, PoolEntry[], { key: string; explicit: boolean; members: string[]; solo: boolean }[]]>([
    [
      'explicit pool: every member sets poolName',
      [{ name: 'vllm-gpu2-qwen3', poolName: 'p' }, { name: 'vllm-gpu1-qwen3', poolName: 'p' }],
      [{ key: 'p', explicit: true, members: ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3'], solo: false }],
    ],
    ['implicit pool of one is solo', [{ name: 'llama3-70b' }], [{ key: 'llama3-70b', explicit: false, members: ['llama3-70b'], solo: true }]],
    [
      'an explicit pool of one is not solo',
      [{ name: 'a', poolName: 'p' }],
      [{ key: 'p', explicit: true, members: ['a'], solo: false }],
    ],
    [
      'legacy join: a worker naming the legacy Llm makes the pool explicit',
      [{ name: 'vllm-gpu9-qwen3', poolName: 'qwen3' }, { name: 'qwen3' }],
      [{ key: 'qwen3', explicit: true, members: ['qwen3', 'vllm-gpu9-qwen3'], solo: false }],
    ],
    [
      'collision: Llm p lives in pool q, pool p holds only the Llm that names it',
      [{ name: 'p', poolName: 'q' }, { name: 'r', poolName: 'p' }],
      [
        { key: 'p', explicit: true, members: ['r'], solo: false },
        { key: 'q', explicit: true, members: ['p'], solo: false },
      ],
    ],
    [
      'pools and members sorted by code point, whatever the input order',
      [{ name: 'b' }, { name: 'a.b', poolName: 'z' }, { name: 'a-b', poolName: 'z' }, { name: 'a0', poolName: 'z' }, { name: 'a' }],
      [
        { key: 'a', explicit: false, members: ['a'], solo: true },
        { key: 'b', explicit: false, members: ['b'], solo: true },
        { key: 'z', explicit: true, members: ['a-b', 'a.b', 'a0'], solo: false },
      ],
    ],
    ['no entries, no pools', [], []],
  ])('%s', (_label, entries, expected) => {
    const groups = groupPools(entries);
    expect(groups.map((g) => ({ key: g.key, explicit: g.explicit, members: g.members.map((m) => m.name), solo: isSolo(g) }))).toEqual(expected);
  });

  it('does not reorder its input', () => {
    const entries = [{ name: 'b' }, { name: 'a' }];
    groupPools(entries);
    expect(entries.map((e) => e.name)).toEqual(['b', 'a']);
  });
});

// --- counts and health -------------------------------------------------------------------------

describe('activeCount and health', () => {
  it.each<[Phase, number]>([
    ['active', 1],
    ['pending', 0],
    ['stale', 0],
    ['unhealthy', 0],
    ['draining', 0],
    ['unknown', 0],
  ])('a %s member counts %i', (phase, count) => {
    expect(countActive([{ name: 'a', phase }])).toBe(count);
  });

  it('an entry without a phase does not count as active', () => {
    expect(countActive([{ name: 'a' }])).toBe(0);
  });

  it.each<[number, number, number, PoolHealth]>([
    [0, 0, 0, 'Healthy'],
    [2, 2, 3, 'Healthy'],
    [3, 2, 3, 'Healthy'],
    [1, 2, 3, 'Degraded'],
    [0, 1, 0, 'Degraded'],
    [0, 0, 1, 'Unavailable'],
    [0, 2, 3, 'Unavailable'],
  ])('%i active against minActive %i with %i members is %s', (active, min, size, health) => {
    expect(poolHealthOf(active, min, size)).toBe(health);
  });

  it('policiesByKey defaults minActive to 0 and keeps the description', () => {
    expect([...policiesByKey([llmPool('a'), llmPool('b', 2, 'two at least')])]).toEqual([
      ['a', { minActive: 0 }],
      ['b', { minActive: 2, description: 'two at least' }],
    ]);
  });
});

// --- summarizePools ----------------------------------------------------------------------------

describe('summarizePools', () => {
  it('summarises every pool: key, explicit, size, active, minActive, health, members', () => {
    const views = [
      view('vllm-gpu1-qwen3', { poolName: 'qwen3-pool', phase: 'active' }),
      view('vllm-gpu2-qwen3', { poolName: 'qwen3-pool', phase: 'stale' }),
      view('vllm-gpu3-qwen3', { poolName: 'qwen3-pool', phase: 'draining' }),
      view('llama3-70b', { phase: 'pending' }),
    ];
    expect(summarizePools(views, policies(llmPool('qwen3-pool', 2, 'Qwen3 workers')))).toEqual([
      { key: 'llama3-70b', explicit: false, size: 1, activeCount: 0, minActive: 0, health: 'Unavailable', declared: false, members: ['llama3-70b'] },
      {
        key: 'qwen3-pool',
        explicit: true,
        size: 3,
        activeCount: 1,
        minActive: 2,
        health: 'Degraded',
        declared: true,
        members: ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3', 'vllm-gpu3-qwen3'],
        description: 'Qwen3 workers',
      },
    ]);
  });

  it('legacy join: the pool is explicit because a member sets poolName to its key', () => {
    const [summary] = summarizePools([view('qwen3'), view('vllm-gpu9-qwen3', { poolName: 'qwen3' })]);
    expect(summary).toMatchObject({ key: 'qwen3', explicit: true, size: 2, activeCount: 2, declared: false, members: ['qwen3', 'vllm-gpu9-qwen3'] });
  });

  it('an LlmPool naming a pool with no members gives a pool of size 0', () => {
    const summaries = summarizePools([view('a')], policies(llmPool('future', 1), llmPool('empty')));
    expect(summaries).toEqual([
      { key: 'a', explicit: false, size: 1, activeCount: 1, minActive: 0, health: 'Healthy', declared: false, members: ['a'] },
      { key: 'empty', explicit: false, size: 0, activeCount: 0, minActive: 0, health: 'Healthy', declared: true, members: [] },
      { key: 'future', explicit: false, size: 0, activeCount: 0, minActive: 1, health: 'Degraded', declared: true, members: [] },
    ]);
  });

  it("an LlmPool may describe a legacy Llm's implicit pool", () => {
    const [summary] = summarizePools([view('llama3-70b', { phase: 'stale' })], policies(llmPool('llama3-70b', 1)));
    expect(summary).toMatchObject({ key: 'llama3-70b', explicit: false, size: 1, activeCount: 0, minActive: 1, health: 'Unavailable', declared: true });
  });

  it('collision: pool p holds r, not the Llm named p', () => {
    const summaries = summarizePools([view('p', { poolName: 'q' }), view('r', { poolName: 'p' })]);
    expect(summaries.map((s) => [s.key, s.members])).toEqual([
      ['p', ['r']],
      ['q', ['p']],
    ]);
  });

  it('nothing declared or live: only the LlmPools, or nothing', () => {
    expect(summarizePools([])).toEqual([]);
  });
});

// --- membersOf ---------------------------------------------------------------------------------

describe('membersOf', () => {
  it.each<[string, LlmView[], string, { key: string; explicit: boolean; size: number; activeCount: number; members: string[] }]>([
    [
      'explicit pool: explicit, every member listed',
      [view('b', { poolName: 'p', phase: 'stale' }), view('a', { poolName: 'p' }), view('c')],
      'b',
      { key: 'p', explicit: true, size: 2, activeCount: 1, members: ['a', 'b'] },
    ],
    ['solo: implicit, size 1', [view('solo'), view('other', { poolName: 'p' })], 'solo', { key: 'solo', explicit: false, size: 1, activeCount: 1, members: ['solo'] }],
    [
      "legacy join, asked of the legacy Llm: its own key is implicit",
      [view('qwen3'), view('vllm-gpu9-qwen3', { poolName: 'qwen3' })],
      'qwen3',
      { key: 'qwen3', explicit: false, size: 2, activeCount: 2, members: ['qwen3', 'vllm-gpu9-qwen3'] },
    ],
    [
      'legacy join, asked of the worker: its key is explicit',
      [view('qwen3'), view('vllm-gpu9-qwen3', { poolName: 'qwen3' })],
      'vllm-gpu9-qwen3',
      { key: 'qwen3', explicit: true, size: 2, activeCount: 2, members: ['qwen3', 'vllm-gpu9-qwen3'] },
    ],
    [
      "collision, asked of p: p's own pool is q",
      [view('p', { poolName: 'q' }), view('r', { poolName: 'p' })],
      'p',
      { key: 'q', explicit: true, size: 1, activeCount: 1, members: ['p'] },
    ],
    [
      'collision, asked of r: pool p does not contain Llm p',
      [view('p', { poolName: 'q' }), view('r', { poolName: 'p' })],
      'r',
      { key: 'p', explicit: true, size: 1, activeCount: 1, members: ['r'] },
    ],
    [
      'only active members count',
      (['active', 'pending', 'stale', 'unhealthy', 'draining', 'unknown'] as const).map((phase, i) => view(`m${i}`, { poolName: 'p', phase })),
      'm0',
      { key: 'p', explicit: true, size: 6, activeCount: 1, members: ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'] },
    ],
  ])('%s', (_label, views, anchor, expected) => {
    const answer = membersOf(views, anchor);
    expect(answer?.anchor).toBe(anchor);
    const { members, ...pool } = expected;
    expect(answer?.pool).toEqual({ ...pool, minActive: 0, health: 'Healthy' });
    expect(answer?.members.map((m) => m.metadata.name)).toEqual(members);
  });

  it('carries minActive and health from the pool policy', () => {
    const views = [view('a', { poolName: 'p' }), view('b', { poolName: 'p', phase: 'unhealthy' })];
    expect(membersOf(views, 'a', policies(llmPool('p', 2)))?.pool).toEqual({ key: 'p', explicit: true, size: 2, activeCount: 1, minActive: 2, health: 'Degraded' });
    expect(membersOf(views, 'a', policies(llmPool('p', 1)))?.pool.health).toBe('Healthy');
  });

  it('answers null for a name that is neither declared nor live', () => {
    expect(membersOf([view('a')], 'missing')).toBeNull();
  });

  it('returns the full views of the members, not copies of names', () => {
    const views = [view('a', { poolName: 'p' }), view('b', { poolName: 'p' })];
    expect(membersOf(views, 'b')?.members).toEqual([views[0], views[1]]);
  });
});
