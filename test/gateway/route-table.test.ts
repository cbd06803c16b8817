// What a `model` names: a pool key first, then an Llm name; only active members with a URL route.
import { describe, expect, it } from 'vitest';
import { buildRouteTable, routeMemberOf } from '../../gateway/route-table.js';
import { fleet, llm } from '../builders.js';

const POOL = 'qwen3';

function qwenFleet() {
  return fleet()
    .declare('llms/pool.yaml', llm('qwen3-a', { poolName: POOL, model: 'Qwen/Qwen3-8B' }), llm('qwen3-b', { poolName: POOL, model: 'Qwen/Qwen3-8B', enabled: false }))
    .agent('gpu1')
    .llm('qwen3-a', { poolName: POOL, url: 'http://gpu1:8000/v1/' })
    .agent('gpu2')
    .llm('qwen3-b', { poolName: POOL })
    .llm('qwen3-c', { poolName: POOL, model: 'Qwen/Qwen3-8B-AWQ' })
    .llm('sick', { health: 'failing', healthMessage: 'HTTP 503' })
    .agent('gpu3')
    .llm('solo', { heartbeatAgoMs: 60_000 });
}

describe('the route table', () => {
  const views = qwenFleet().views();
  const table = buildRouteTable(views);

  it('routes a pool key to its active members only (not draining, stale or unhealthy)', () => {
    const target = table.lookup(POOL);
    expect(target?.kind).toBe('pool');
    expect(target?.routable.map((m) => m.name)).toEqual(['qwen3-a', 'qwen3-c']);
    expect(target?.size).toBe(3);
  });

  it("routes an Llm name to that one member, with its own spec.model", () => {
    const target = table.lookup('qwen3-c');
    expect(target).toMatchObject({ kind: 'llm', key: 'qwen3-c', size: 1 });
    expect(target?.routable.map((m) => [m.name, m.model])).toEqual([['qwen3-c', 'Qwen/Qwen3-8B-AWQ']]);
  });

  it('knows an Llm that cannot take requests now: no routable member, size 1', () => {
    expect(table.lookup('qwen3-b')).toMatchObject({ kind: 'llm', routable: [], size: 1 });
    expect(table.lookup('solo')).toMatchObject({ routable: [], size: 1 });
  });

  it('gives null for a name that is neither a pool key nor an Llm', () => {
    expect(table.lookup('nope')).toBeNull();
  });

  it('lists for /v1/models only the pool keys and Llm names that have a routable member, each once', () => {
    expect(table.modelIds()).toEqual(['qwen3', 'qwen3-a', 'qwen3-c']);
  });

  it('looks a name up as a pool key before an Llm name (the anchor of a legacy solo pool)', () => {
    const legacy = fleet().declare('llms/a.yaml', llm('llama')).agent('g1').llm('llama').agent('g2').llm('llama-gpu2', { poolName: 'llama' }).views();
    const target = buildRouteTable(legacy).lookup('llama');
    expect(target?.kind).toBe('pool');
    expect(target?.routable.map((m) => m.name)).toEqual(['llama', 'llama-gpu2']);
    expect(buildRouteTable(legacy).modelIds()).toEqual(['llama', 'llama-gpu2']);
  });

  it('knows a pool that only an LlmPool names: a target with no member', () => {
    const empty = buildRouteTable([], ['reserved']);
    expect(empty.lookup('reserved')).toEqual({ kind: 'pool', key: 'reserved', routable: [], size: 0 });
    expect(empty.modelIds()).toEqual([]);
  });

  it('tells the pool of any member, routable or not, and the routable size of a pool', () => {
    expect(table.poolOf('qwen3-b')).toBe(POOL);
    expect(table.poolOf('solo')).toBe('solo');
    expect(table.poolSize(POOL)).toBe(2);
    expect(table.poolSize('solo')).toBe(0);
  });
});

describe('a route member', () => {
  const views = qwenFleet().views();
  const view = (name: string) => views.find((v) => v.metadata.name === name)!;

  it("takes the agent's URL without a trailing slash, the spec's model and the reported queue", () => {
    const base = view('qwen3-a');
    const withLoad = { ...base, status: { ...base.status, agent: { ...base.status.agent!, load: { running: 2, waiting: 4, kvCacheUsage: 0.5 } } } };
    expect(routeMemberOf(withLoad)).toEqual({ name: 'qwen3-a', pool: POOL, model: 'Qwen/Qwen3-8B', url: 'http://gpu1:8000/v1', apiKeyEnv: null, waiting: 4 });
  });

  it('carries spec.apiKeyRef.env', () => {
    const base = view('qwen3-c');
    expect(routeMemberOf({ ...base, spec: { ...base.spec, apiKeyRef: { env: 'QWEN_KEY' } } })?.apiKeyEnv).toBe('QWEN_KEY');
  });

  it('is null for a member that is not active, or has no URL', () => {
    expect(routeMemberOf(view('qwen3-b'))).toBeNull();
    expect(routeMemberOf(view('sick'))).toBeNull();
    const base = view('qwen3-c');
    expect(routeMemberOf({ ...base, spec: { ...base.spec, url: '' }, status: { ...base.status, agent: null } })).toBeNull();
  });
});
