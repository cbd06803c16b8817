import { describe, expect, test } from 'vitest';
import { applyCacheEvent, cachedViews, createCache, policiesOfPools, relistCache } from '../../client/llm-cache.js';
import { buildTuiFleet, degradedFiles, liveLlm, buildRealisticLive } from '../tui/support/tui-fleet.js';

const fleet = buildTuiFleet();
const worker = buildTuiFleet({ live: [...buildRealisticLive(), liveLlm({ name: 'vllm-gpu9-qwen3', poolName: 'user-vllm-qwen3-thinking', agentId: 'gpu9' })] }).view('vllm-gpu9-qwen3');

describe('the informer cache', () => {
  test('a list replaces the cache, keyed by name', () => {
    const cache = createCache(fleet.views);
    expect([...cache.keys()]).toEqual(fleet.views.map((v) => v.metadata.name));
  });

  test('ADDED inserts and MODIFIED replaces', () => {
    const cache = createCache(fleet.views);
    const added = applyCacheEvent(cache, { type: 'ADDED', view: worker });
    expect(added.get('vllm-gpu9-qwen3')).toEqual(worker);
    const stale = { ...worker, status: { ...worker.status, phase: 'stale' as const } };
    expect(applyCacheEvent(added, { type: 'MODIFIED', view: stale }).get('vllm-gpu9-qwen3')?.status.phase).toBe('stale');
  });

  test('ADDED of what the list already holds (the watch re-sends everything on connect) changes nothing', () => {
    const cache = createCache(fleet.views);
    const view = fleet.view('vllm-gpu1-qwen3');
    expect(applyCacheEvent(cache, { type: 'ADDED', view: structuredClone(view) })).toBe(cache);
  });

  test('DELETED removes; deleting what is not there returns the same cache', () => {
    const cache = createCache(fleet.views);
    const next = applyCacheEvent(cache, { type: 'DELETED', view: fleet.view('ollama-laptop') });
    expect(next.has('ollama-laptop')).toBe(false);
    expect(next.size).toBe(cache.size - 1);
    expect(applyCacheEvent(next, { type: 'DELETED', view: fleet.view('ollama-laptop') })).toBe(next);
  });

  test('updates never mutate the map they were given', () => {
    const cache = createCache(fleet.views);
    const before = cachedViews(cache);
    applyCacheEvent(cache, { type: 'ADDED', view: worker });
    applyCacheEvent(cache, { type: 'DELETED', view: fleet.view('ollama-laptop') });
    expect(cachedViews(cache)).toEqual(before);
  });
});

describe('relistCache', () => {
  test('the same fleet listed again is the same map: a quiet resync renders nothing', () => {
    const cache = createCache(fleet.views);
    expect(relistCache(cache, structuredClone(fleet.views))).toBe(cache);
  });

  test('a newer heartbeat replaces that view only; the others are shared', () => {
    const cache = createCache(fleet.views);
    const fresher = fleet.views.map((v) =>
      v.metadata.name === 'vllm-gpu1-qwen3' && v.status.agent !== null ? { ...v, status: { ...v.status, agent: { ...v.status.agent, lastHeartbeatAt: 'later' } } } : structuredClone(v),
    );
    const next = relistCache(cache, fresher);
    expect(next).not.toBe(cache);
    expect(next.get('vllm-gpu1-qwen3')?.status.agent?.lastHeartbeatAt).toBe('later');
    expect(next.get('vllm-gpu2-qwen3')).toBe(cache.get('vllm-gpu2-qwen3'));
  });

  test('a list without an Llm drops it', () => {
    const cache = createCache(fleet.views);
    const next = relistCache(cache, fleet.views.filter((v) => v.metadata.name !== 'ollama-laptop'));
    expect([...next.keys()]).not.toContain('ollama-laptop');
    expect(next.size).toBe(cache.size - 1);
  });
});

describe('policiesOfPools', () => {
  test('keeps floors, descriptions and member-less LlmPools; drops plain pools whose counts come from the cache', () => {
    const files = { ...degradedFiles(), 'llms/empty.yaml': 'apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: future-pool\n' };
    const pools = buildTuiFleet({ files }).pools;
    const policies = policiesOfPools(pools);
    expect([...policies.keys()].sort()).toEqual(['future-pool', 'user-vllm-qwen3-thinking']);
    expect(policies.get('user-vllm-qwen3-thinking')).toEqual({ minActive: 2, description: 'Qwen3 thinking workers on the lab GPUs' });
    expect(policies.get('future-pool')).toEqual({ minActive: 0 });
  });
});
