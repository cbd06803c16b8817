// GET /api/v1/watch over a real HTTP connection (DESIGN §3): the initial list as ADDED, then
// real changes only; a no-op heartbeat wakes nobody; STATUS on a new revision; cleanup on close.
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreAvailability } from '../../reconciler/lease-store.js';
import { MemoryLeaseStore } from '../../reconciler/memory-lease-store.js';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import type { LlmView, StatusAnswer } from '../../schema/views.js';
import { closeHarnesses, entry, FLEET_FILES, postJson, registration, startHarness, TTL_MS, type Harness } from './support/harness.js';
import { nameOf, openSse, type SseStream } from './support/sse.js';

/** A memory store whose availability the test sets, as an etcd store's would change. */
class SwitchableStore extends MemoryLeaseStore {
  down: StoreAvailability | null = null;

  override availability(): StoreAvailability {
    return this.down ?? super.availability();
  }
}

const streams: SseStream[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await closeHarnesses();
});

async function watch(h: Harness): Promise<{ stream: SseStream; url: string }> {
  const url = await h.listen();
  const stream = await openSse(`${url}/api/v1/watch`);
  streams.push(stream);
  return { stream, url };
}

async function waitFor(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function register(h: Harness, agentId: string, names: string[]): Promise<string> {
  const { body } = await postJson(h.app, '/api/v1/agents/register', registration(agentId, names.map((n) => entry(n))));
  return (body as RegistrationAnswer).leaseId;
}

describe('GET /api/v1/watch', () => {
  it('starts with every current Llm as ADDED, in name order', async () => {
    const h = await startHarness();
    await register(h, 'gpu9', ['qwen3-worker-a']);
    const { stream } = await watch(h);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await stream.next((e) => nameOf(e) === 'vllm-gpu2-qwen3');
    expect(stream.events.map((e) => [e.event, nameOf(e)])).toEqual([
      ['ADDED', 'openai-gpt4o'],
      ['ADDED', 'qwen3'],
      ['ADDED', 'qwen3-worker-a'],
      ['ADDED', 'vllm-gpu1-qwen3'],
      ['ADDED', 'vllm-gpu2-qwen3'],
    ]);
    expect((stream.events[2]?.data as LlmView).status).toMatchObject({ kind: 'virtual', phase: 'active' });
  });

  it('sends MODIFIED on a health change, nothing on a heartbeat that changes nothing, DELETED on deregister', async () => {
    const h = await startHarness();
    const leaseA = await register(h, 'gpu1', ['worker-a']);
    const leaseB = await register(h, 'gpu2', ['worker-b']);
    const { stream } = await watch(h);
    await stream.next((e) => nameOf(e) === 'worker-b');
    const listed = stream.events.length;

    // A beat with the same health: the lease's clock moves, no event.
    h.clock.advance(5_000);
    expect((await postJson(h.app, '/api/v1/agents/gpu1/heartbeat', { leaseId: leaseA, llms: [{ name: 'worker-a', health: 'ok' }] })).status).toBe(200);
    // A real change on another name is the fence: it must be the very next event.
    await postJson(h.app, '/api/v1/agents/gpu2/heartbeat', { leaseId: leaseB, llms: [{ name: 'worker-b', health: 'failing', healthMessage: 'HTTP 503 from /models' }] });
    const modified = await stream.next((e) => e.event === 'MODIFIED', listed);
    expect(stream.events.slice(listed).map((e) => [e.event, nameOf(e)])).toEqual([['MODIFIED', 'worker-b']]);
    expect((modified.data as LlmView).status).toMatchObject({ phase: 'unhealthy', reason: 'endpoint failing: HTTP 503 from /models' });

    await h.app.inject({ method: 'DELETE', url: '/api/v1/agents/gpu1' });
    const deleted = await stream.next((e) => e.event === 'DELETED', listed);
    expect(nameOf(deleted)).toBe('worker-a');
  });

  it('sends nothing for a beat whose only change is the engine load, while views and /members show the new figures', async () => {
    const h = await startHarness();
    const { body } = await postJson(h.app, '/api/v1/agents/register', registration('gpu1', [{ ...entry('worker-a', { poolName: 'load-pool' }), load: { running: 1, waiting: 0, kvCacheUsage: 0.1 } }]));
    const leaseA = (body as RegistrationAnswer).leaseId;
    const leaseB = await register(h, 'gpu2', ['worker-b']);
    const { stream, url } = await watch(h);
    await stream.next((e) => nameOf(e) === 'worker-b');
    const listed = stream.events.length;
    const added = stream.events.find((e) => nameOf(e) === 'worker-a');
    expect((added?.data as LlmView).status.agent?.load).toEqual({ running: 1, waiting: 0, kvCacheUsage: 0.1 });
    const membersBefore = (await (await fetch(`${url}/api/v1/llms/worker-a/members`)).json()) as { members: LlmView[] };
    expect(membersBefore.members[0]?.status.agent?.load).toEqual({ running: 1, waiting: 0, kvCacheUsage: 0.1 });

    const load = { running: 4, waiting: 2, kvCacheUsage: 0.73 };
    h.clock.advance(5_000);
    expect((await postJson(h.app, '/api/v1/agents/gpu1/heartbeat', { leaseId: leaseA, llms: [{ name: 'worker-a', health: 'ok', load }] })).status).toBe(200);
    // The fence: a real change on another name must be the very next event.
    await postJson(h.app, '/api/v1/agents/gpu2/heartbeat', { leaseId: leaseB, llms: [{ name: 'worker-b', health: 'failing', healthMessage: 'HTTP 503' }] });
    await stream.next((e) => e.event === 'MODIFIED', listed);
    expect(stream.events.slice(listed).map((e) => [e.event, nameOf(e)])).toEqual([['MODIFIED', 'worker-b']]);

    const view = (await (await fetch(`${url}/api/v1/llms/worker-a`)).json()) as LlmView;
    expect(view.status.agent?.load).toEqual(load);
    // The /members byte cache serves the new figures too (a fresh live entry is a new input).
    h.clock.advance(1_000);
    const members = (await (await fetch(`${url}/api/v1/llms/worker-a/members`)).json()) as { members: LlmView[] };
    expect(members.members[0]?.status.agent?.load).toEqual(load);

    // The engine stops reporting: load: null drops the figures, still without an event.
    await postJson(h.app, '/api/v1/agents/gpu1/heartbeat', { leaseId: leaseA, llms: [{ name: 'worker-a', health: 'ok', load: null }] });
    await postJson(h.app, '/api/v1/agents/gpu2/heartbeat', { leaseId: leaseB, llms: [{ name: 'worker-b', health: 'ok' }] });
    await stream.next((e) => e.event === 'MODIFIED' && nameOf(e) === 'worker-b' && (e.data as LlmView).status.phase === 'active', listed + 1);
    expect(stream.events.slice(listed).map((e) => [e.event, nameOf(e)])).toEqual([['MODIFIED', 'worker-b'], ['MODIFIED', 'worker-b']]);
    const after = (await (await fetch(`${url}/api/v1/llms/worker-a`)).json()) as LlmView;
    expect(after.status.agent?.load).toBeUndefined();
  });

  it('sends ADDED for a new registration and MODIFIED when a declared Llm gets its agent', async () => {
    const h = await startHarness();
    const { stream } = await watch(h);
    await stream.next((e) => nameOf(e) === 'vllm-gpu2-qwen3');
    const listed = stream.events.length;
    await register(h, 'gpu1', ['vllm-gpu1-qwen3', 'fresh']);
    await stream.next((e) => nameOf(e) === 'fresh', listed);
    await stream.next((e) => nameOf(e) === 'vllm-gpu1-qwen3', listed);
    const changes = stream.events.slice(listed).map((e) => [e.event, nameOf(e), (e.data as LlmView).status.phase]);
    expect(changes).toHaveLength(2);
    expect(changes).toContainEqual(['ADDED', 'fresh', 'active']);
    expect(changes).toContainEqual(['MODIFIED', 'vllm-gpu1-qwen3', 'active']);
  });

  it('sends MODIFIED when a lease turns stale with time', async () => {
    const h = await startHarness();
    await register(h, 'gpu1', ['worker-a']);
    const { stream } = await watch(h);
    await stream.next((e) => nameOf(e) === 'worker-a');
    h.clock.advance(TTL_MS + 1);
    const stale = await stream.next((e) => e.event === 'MODIFIED');
    expect((stale.data as LlmView).status).toMatchObject({ phase: 'stale', reason: 'no heartbeat for 30s' });
  });

  it('sends STATUS with the /status body when the revision changes', async () => {
    const h = await startHarness();
    const { stream } = await watch(h);
    await stream.next((e) => nameOf(e) === 'vllm-gpu2-qwen3');
    const listed = stream.events.length;
    const files = { ...FLEET_FILES };
    delete files['llms/legacy.yaml'];
    h.desired.serve(files, 'rev-2');
    const status = await stream.next((e) => e.event === 'STATUS', listed);
    expect(status.data as StatusAnswer).toMatchObject({ revision: 'rev-2', lastGoodRevision: 'rev-2', errors: [], counts: { llms: 3 } });
    // The Llm that left Git is DELETED before the STATUS that announces the revision.
    const changes = stream.events.slice(listed).map((e) => e.event === 'STATUS' ? ['STATUS'] : [e.event, nameOf(e)]);
    expect(changes).toEqual([['DELETED', 'qwen3'], ['STATUS']]);
  });

  it('sends STATUS when the lease store becomes unavailable and when it comes back, with no revision change', async () => {
    const store = new SwitchableStore();
    const h = await startHarness({ store });
    const { stream } = await watch(h);
    await stream.next((e) => nameOf(e) === 'vllm-gpu2-qwen3');
    const listed = stream.events.length;
    store.down = { available: false, reason: 'etcd unreachable: connect ECONNREFUSED', sinceMs: Date.parse('2026-12-07T10:00:00Z') };
    const away = await stream.next((e) => e.event === 'STATUS', listed);
    expect(away.data as StatusAnswer).toMatchObject({ revision: 'rev-1', store: { kind: 'memory', unavailable: { since: '2026-12-07T10:00:00.000Z', reason: 'etcd unreachable: connect ECONNREFUSED' } } });
    const awayAt = stream.events.length;
    store.down = null;
    const back = await stream.next((e) => e.event === 'STATUS', awayAt);
    expect((back.data as StatusAnswer).store).not.toHaveProperty('unavailable');
    // One STATUS for each change, none for the seconds in between.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stream.events.slice(listed).map((e) => e.event)).toEqual(['STATUS', 'STATUS']);
  });

  it('sends STATUS when a new revision is rejected, with its errors', async () => {
    const h = await startHarness();
    const { stream } = await watch(h);
    await stream.next((e) => nameOf(e) === 'vllm-gpu2-qwen3');
    h.desired.serve({ 'llms/x.yaml': 'kind: Llm\n' }, 'rev-2');
    const status = await stream.next((e) => e.event === 'STATUS');
    expect((status.data as StatusAnswer).errors).toHaveLength(1);
    expect(status.data as StatusAnswer).toMatchObject({ revision: 'rev-2', lastGoodRevision: 'rev-1' });
  });

  it('writes a keep-alive comment on its interval', async () => {
    const h = await startHarness({ watchKeepAliveMs: 30 });
    const { stream } = await watch(h);
    await waitFor(() => stream.comments.includes('keep-alive'));
  });

  it('unsubscribes when the client goes away', async () => {
    const h = await startHarness();
    const { stream } = await watch(h);
    await stream.next((e) => nameOf(e) === 'qwen3');
    expect(h.services.state.subscriberCount).toBe(1);
    stream.close();
    await waitFor(() => h.services.state.subscriberCount === 0);
  });

  it('ends open streams when the server closes', async () => {
    const h = await startHarness();
    const { stream } = await watch(h);
    await stream.next((e) => nameOf(e) === 'qwen3');
    await h.close();
    await stream.ended;
    expect(h.services.state.subscriberCount).toBe(0);
  });
});
