// Lease rules across a restart (DESIGN §3): what the store kept comes back stale until the
// agent's next heartbeat, under the same lease; a restored name may be taken over; GC still runs.
import { afterEach, describe, expect, it } from 'vitest';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import type { LlmView } from '../../schema/views.js';
import { MemoryLeaseStore } from '../../reconciler/memory-lease-store.js';
import { closeHarnesses, entry, GC_MS, getJson, postJson, registration, startHarness, type Harness } from './support/harness.js';

afterEach(closeHarnesses);

async function restartWith(store: MemoryLeaseStore, clockMs: number): Promise<Harness> {
  const h = await startHarness({ store });
  h.clock.nowMs = clockMs;
  return h;
}

describe('restore', () => {
  it('restored entries are stale until their next heartbeat, which the old lease still answers', async () => {
    const store = new MemoryLeaseStore();
    const first = await startHarness({ store });
    const { body } = await postJson(first.app, '/api/v1/agents/register', registration('gpu1', [entry('vllm-gpu1-qwen3'), entry('worker-x', { poolName: 'qwen3' })]));
    const { leaseId } = body as RegistrationAnswer;
    await first.close();

    const second = await restartWith(store, first.clock.nowMs + 2_000);
    expect(second.services.leases.live('worker-x')?.restored).toBe(true);
    const view = (await getJson(second.app, '/api/v1/llms/worker-x')).body as LlmView;
    expect(view.status).toMatchObject({
      kind: 'virtual',
      phase: 'stale',
      reason: 'restored after a reconciler restart, no heartbeat since (last 2s ago)',
      agent: { id: 'gpu1', lastHeartbeatAt: '2025-01-01T00:00:00.000Z' },
    });
    expect((await getJson(second.app, '/api/v1/llms/qwen3/members')).body).toMatchObject({ pool: { size: 2, activeCount: 0 } });

    const beat = await postJson(second.app, '/api/v1/agents/gpu1/heartbeat', { leaseId, llms: [] });
    expect(beat.status).toBe(200);
    expect(second.services.leases.live('worker-x')?.restored).toBeUndefined();
    expect(((await getJson(second.app, '/api/v1/llms/worker-x')).body as LlmView).status.phase).toBe('active');
    expect(((await getJson(second.app, '/api/v1/llms/vllm-gpu1-qwen3')).body as LlmView).status.phase).toBe('active');
  });

  it('a restored name may be taken over by another agent, since its lease is stale', async () => {
    const store = new MemoryLeaseStore();
    const first = await startHarness({ store });
    await postJson(first.app, '/api/v1/agents/register', registration('gpu1', [entry('worker-x')]));
    await first.close();
    const second = await restartWith(store, first.clock.nowMs + 1_000);
    const { body } = await postJson(second.app, '/api/v1/agents/register', registration('gpu2', [entry('worker-x')]));
    expect((body as RegistrationAnswer).rejected).toEqual([]);
    expect(((await getJson(second.app, '/api/v1/llms/worker-x')).body as LlmView).status.agent?.id).toBe('gpu2');
  });

  it('restored leases are still collected after --gc without a heartbeat', async () => {
    const store = new MemoryLeaseStore();
    const first = await startHarness({ store });
    await postJson(first.app, '/api/v1/agents/register', registration('gpu1', [entry('worker-x')]));
    await first.close();
    const second = await restartWith(store, first.clock.nowMs + GC_MS + 1);
    expect((await getJson(second.app, '/api/v1/llms/worker-x')).status).toBe(404);
    expect(store.size).toBe(0);
  });

  it('a deregistration is kept too: nothing comes back', async () => {
    const store = new MemoryLeaseStore();
    const first = await startHarness({ store });
    await postJson(first.app, '/api/v1/agents/register', registration('gpu1', [entry('worker-x')]));
    await first.app.inject({ method: 'DELETE', url: '/api/v1/agents/gpu1' });
    await first.close();
    const second = await restartWith(store, first.clock.nowMs);
    expect(second.services.leases.agentCount).toBe(0);
  });
});

describe('the store is the truth', () => {
  it('a second registry over the same store sees what the first writes, through the watch', async () => {
    const store = new MemoryLeaseStore();
    const first = await startHarness({ store });
    const second = await startHarness({ store });
    const { body } = await postJson(first.app, '/api/v1/agents/register', registration('gpu1', [entry('worker-x')]));
    expect(second.services.leases.live('worker-x')?.agentId).toBe('gpu1');
    // The lease the first answered is good at the second: a heartbeat there finds it.
    const beat = await postJson(second.app, '/api/v1/agents/gpu1/heartbeat', { leaseId: (body as RegistrationAnswer).leaseId, llms: [] });
    expect(beat.status).toBe(200);
    // A live holder is refused at either, with the same reason.
    const refused = await postJson(second.app, '/api/v1/agents/register', registration('gpu2', [entry('worker-x')]));
    expect((refused.body as RegistrationAnswer).rejected).toEqual([{ name: 'worker-x', reason: 'held by agent gpu1 under a live lease (last heartbeat 0s ago)' }]);
    await first.app.inject({ method: 'DELETE', url: '/api/v1/agents/gpu1' });
    expect(second.services.leases.live('worker-x')).toBeUndefined();
  });
});
