// Heartbeat ages on a watcher's screen stay true between changes (the TUI showed ages climbing to
// 10 s while `get llm` said 0-1 s): a heartbeat is no MODIFIED event, so /watch sends HEARTBEAT
// events with each agent's newest beat, and the cache takes them into its views.
import { afterAll, describe, expect, test } from 'vitest';
import { applyHeartbeats, createCache } from '../../client/llm-cache.js';
import { ReconcilerClient } from '../../client/reconciler-client.js';
import type { WatchEvent } from '../../client/watch-stream.js';
import { formatHeartbeatAge } from '../../cli/format/llm-table.js';
import type { LlmView } from '../../schema/views.js';
import { closeHarnesses, entry, GPU, registration, startHarness } from '../reconciler/support/harness.js';
import { waitFor } from '../support/wait-for.js';

afterAll(() => closeHarnesses());

async function post(url: string, body: unknown): Promise<{ leaseId: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return (await response.json()) as { leaseId: string };
}

describe('HEARTBEAT events on /watch', () => {
  test('a beat that changes nothing reaches the watcher as HEARTBEAT, and the cached view then ages from it', async () => {
    const harness = await startHarness();
    const server = await harness.listen();
    const { leaseId } = await post(`${server}/api/v1/agents/register`, registration('gpu1', [entry('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking' })], [GPU]));
    const events: WatchEvent[] = [];
    const controller = new AbortController();
    const watching = new ReconcilerClient({ server }).watch((e) => events.push(e), controller.signal);
    try {
      await waitFor('the opening ADDED events', () => events.some((e) => e.type === 'ADDED' && e.view.metadata.name === 'vllm-gpu1-qwen3'));
      const opened = events.flatMap((e) => (e.type === 'ADDED' ? [e.view] : []));
      let cache = createCache(opened);
      const before = cache.get('vllm-gpu1-qwen3') as LlmView;

      harness.clock.advance(9_000);
      await post(`${server}/api/v1/agents/gpu1/heartbeat`, { leaseId, llms: [] });
      const beat = await waitFor('a HEARTBEAT event for gpu1', () => events.find((e): e is Extract<WatchEvent, { type: 'HEARTBEAT' }> => e.type === 'HEARTBEAT' && e.agents.gpu1 !== undefined));
      expect(beat.agents).toEqual({ gpu1: new Date(harness.clock.nowMs).toISOString() });
      // Nothing changed but the beat: no MODIFIED event for it.
      expect(events.some((e) => e.type === 'MODIFIED' && e.view.metadata.name === 'vllm-gpu1-qwen3')).toBe(false);

      // Without the event the cached age is 9s, under a 6s TTL that reads as expired; with it, 0s.
      expect(formatHeartbeatAge(before, harness.clock.nowMs)).toBe('9s');
      cache = applyHeartbeats(cache, beat.agents);
      expect(formatHeartbeatAge(cache.get('vllm-gpu1-qwen3') as LlmView, harness.clock.nowMs)).toBe('0s');
    } finally {
      controller.abort();
      await watching;
    }
  });
});

describe('load on HEARTBEAT events', () => {
  test('a load-only beat sends no MODIFIED; HEARTBEAT carries the moved load, and the cache takes it', async () => {
    const harness = await startHarness();
    const server = await harness.listen();
    const first = { running: 1, waiting: 0, kvCacheUsage: 0.1 };
    const { leaseId } = await post(`${server}/api/v1/agents/register`, registration('gpu1', [{ ...entry('vllm-gpu1-qwen3'), load: first }], [GPU]));
    const events: WatchEvent[] = [];
    const controller = new AbortController();
    const watching = new ReconcilerClient({ server }).watch((e) => events.push(e), controller.signal);
    try {
      await waitFor('the opening ADDED event', () => events.some((e) => e.type === 'ADDED' && e.view.metadata.name === 'vllm-gpu1-qwen3'));
      let cache = createCache(events.flatMap((e) => (e.type === 'ADDED' ? [e.view] : [])));
      expect(cache.get('vllm-gpu1-qwen3')?.status.agent?.load).toEqual(first);

      const load = { running: 5, waiting: 2, kvCacheUsage: 0.8 };
      await post(`${server}/api/v1/agents/gpu1/heartbeat`, { leaseId, llms: [{ name: 'vllm-gpu1-qwen3', health: 'ok', load }] });
      const beat = await waitFor('a HEARTBEAT event with loads', () => events.find((e): e is Extract<WatchEvent, { type: 'HEARTBEAT' }> => e.type === 'HEARTBEAT' && e.loads !== undefined));
      expect(beat.loads).toEqual({ 'vllm-gpu1-qwen3': load });
      expect(events.some((e) => e.type === 'MODIFIED')).toBe(false);
      cache = applyHeartbeats(cache, beat.agents, beat.loads);
      expect(cache.get('vllm-gpu1-qwen3')?.status.agent?.load).toEqual(load);

      // The engine stops reporting: null in the event, and the cached view has no load.
      await post(`${server}/api/v1/agents/gpu1/heartbeat`, { leaseId, llms: [{ name: 'vllm-gpu1-qwen3', health: 'ok', load: null }] });
      const gone = await waitFor('a HEARTBEAT event with the load gone', () =>
        events.find((e): e is Extract<WatchEvent, { type: 'HEARTBEAT' }> => e.type === 'HEARTBEAT' && e.loads?.['vllm-gpu1-qwen3'] === null),
      );
      cache = applyHeartbeats(cache, gone.agents, gone.loads);
      expect(cache.get('vllm-gpu1-qwen3')?.status.agent).not.toHaveProperty('load');
    } finally {
      controller.abort();
      await watching;
    }
  });
});

describe('applyHeartbeats', () => {
  const view = (name: string, agentId: string | null, at = '2025-01-01T00:00:00.000Z'): LlmView =>
    ({
      apiVersion: 'mcpctl/v1',
      kind: 'Llm',
      metadata: { name },
      spec: { model: 'm', type: 'vllm' },
      status: { kind: 'managed', phase: 'active', pool: { key: name, explicit: false }, sync: 'Synced', source: null, agent: agentId === null ? null : { id: agentId, host: 'h', lastHeartbeatAt: at, gpus: [], url: 'http://h/v1' }, drift: [], reason: '' },
    }) as LlmView;

  test('updates every view of the agents named, and keeps the very same cache when nothing moves', () => {
    const cache = createCache([view('a', 'gpu1'), view('b', 'gpu1'), view('c', 'gpu2'), view('d', null)]);
    const next = applyHeartbeats(cache, { gpu1: '2025-01-01T00:00:05.000Z' });
    expect([...next.values()].map((v) => [v.metadata.name, v.status.agent?.lastHeartbeatAt ?? null])).toEqual([
      ['a', '2025-01-01T00:00:05.000Z'],
      ['b', '2025-01-01T00:00:05.000Z'],
      ['c', '2025-01-01T00:00:00.000Z'],
      ['d', null],
    ]);
    expect(next.get('c')).toBe(cache.get('c'));
    expect(applyHeartbeats(next, { gpu1: '2025-01-01T00:00:05.000Z', gpu9: '2025-01-01T00:00:09.000Z' })).toBe(next);
  });
});
