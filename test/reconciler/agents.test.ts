// The agent routes and the lease rules behind them (DESIGN §3): register, heartbeat,
// deregister, takeover, TTL → stale → GC, --unmanaged reject, Git wins with drift.
import { afterEach, describe, expect, it } from 'vitest';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import type { LlmView } from '../../schema/views.js';
import { closeHarnesses, entry, FLEET_FILES, GC_MS, getJson, GPU, postJson, registration, startHarness, TTL_MS, type Harness } from './support/harness.js';

afterEach(closeHarnesses);

async function register(h: Harness, body: unknown): Promise<RegistrationAnswer> {
  const { status, body: answer } = await postJson(h.app, '/api/v1/agents/register', body);
  expect(status).toBe(200);
  return answer as RegistrationAnswer;
}

async function beat(h: Harness, agentId: string, body: unknown): Promise<{ status: number; body: unknown }> {
  return postJson(h.app, `/api/v1/agents/${agentId}/heartbeat`, body);
}

async function viewOf(h: Harness, name: string): Promise<LlmView> {
  const { status, body } = await getJson(h.app, `/api/v1/llms/${name}`);
  expect(status).toBe(200);
  return body as LlmView;
}

describe('register', () => {
  it('answers a lease, the timings, the revision and the desired state of each name', async () => {
    const h = await startHarness();
    const answer = await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking' }), entry('scratch')]));
    expect(answer).toEqual({
      leaseId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ttlSeconds: 30,
      heartbeatIntervalSeconds: 10,
      revision: 'rev-1',
      desired: [
        { name: 'scratch', poolName: null, enabled: true, declared: false },
        { name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking', enabled: true, declared: true },
      ],
      rejected: [],
    });
  });

  it('Git wins: the declared spec is served, differences are drift, the answer carries Git poolName and enabled', async () => {
    const h = await startHarness();
    const answer = await register(h, registration('gpu2', [entry('vllm-gpu2-qwen3', { poolName: 'elsewhere', model: 'Qwen/Qwen3-32B' })]));
    expect(answer.desired).toEqual([{ name: 'vllm-gpu2-qwen3', poolName: 'user-vllm-qwen3-thinking', enabled: false, declared: true }]);
    const view = await viewOf(h, 'vllm-gpu2-qwen3');
    expect(view.spec).toEqual({ type: 'vllm', model: 'Qwen/Qwen3-8B', poolName: 'user-vllm-qwen3-thinking', enabled: false });
    expect(view.status).toMatchObject({
      kind: 'managed',
      phase: 'draining',
      pool: { key: 'user-vllm-qwen3-thinking', explicit: true },
      sync: 'OutOfSync',
      drift: [
        { path: 'spec.model', declared: 'Qwen/Qwen3-8B', live: 'Qwen/Qwen3-32B' },
        { path: 'spec.poolName', declared: 'user-vllm-qwen3-thinking', live: 'elsewhere' },
      ],
    });
  });

  it('refuses a name held by another agent under a live lease, and still registers the other entries', async () => {
    const h = await startHarness();
    await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3')]));
    h.clock.advance(5_000);
    const answer = await register(h, registration('gpu7', [entry('vllm-gpu1-qwen3'), entry('gpu7-extra')]));
    expect(answer.rejected).toEqual([{ name: 'vllm-gpu1-qwen3', reason: 'held by agent gpu1 under a live lease (last heartbeat 5s ago)' }]);
    expect(answer.desired.map((d) => d.name)).toEqual(['gpu7-extra']);
    expect((await viewOf(h, 'vllm-gpu1-qwen3')).status.agent?.id).toBe('gpu1');
    expect((await viewOf(h, 'gpu7-extra')).status.agent?.id).toBe('gpu7');
  });

  it('takes a name over from a stale holder', async () => {
    const h = await startHarness();
    await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3'), entry('other')]));
    h.clock.advance(TTL_MS + 1);
    const answer = await register(h, registration('gpu7', [entry('vllm-gpu1-qwen3')]));
    expect(answer.rejected).toEqual([]);
    const view = await viewOf(h, 'vllm-gpu1-qwen3');
    expect(view.status).toMatchObject({ phase: 'active', agent: { id: 'gpu7' } });
    // The loser keeps what it was not asked to give up.
    expect(h.services.leases.namesOf('gpu1')).toEqual(['other']);
  });

  it('rejects a name listed twice in one body', async () => {
    const h = await startHarness();
    const answer = await register(h, registration('gpu1', [entry('a'), entry('a', { model: 'other' })]));
    expect(answer.rejected).toEqual([{ name: 'a', reason: 'listed more than once in this registration' }]);
    expect((await viewOf(h, 'a')).spec.model).toBe('Qwen/Qwen3-8B');
  });

  it('a new registration of the same agent replaces its names: one no longer listed is released', async () => {
    const h = await startHarness();
    const first = await register(h, registration('gpu1', [entry('a'), entry('b')]));
    const second = await register(h, registration('gpu1', [entry('b')]));
    expect(second.leaseId).not.toBe(first.leaseId);
    expect((await getJson(h.app, '/api/v1/llms/a')).status).toBe(404);
    expect((await beat(h, 'gpu1', { leaseId: first.leaseId, llms: [] })).status).toBe(404);
  });

  it('--unmanaged reject refuses names Git does not declare and admits declared ones', async () => {
    const h = await startHarness({ unmanaged: 'reject' });
    const answer = await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3'), entry('stray')]));
    expect(answer.rejected).toEqual([{ name: 'stray', reason: 'not declared in revision rev-1 and the reconciler runs with --unmanaged reject' }]);
    expect(answer.desired.map((d) => d.name)).toEqual(['vllm-gpu1-qwen3']);
    expect((await getJson(h.app, '/api/v1/llms/stray')).status).toBe(404);
  });

  it('refuses a registration whose URL carries a secret with 400, naming the field, and keeps nothing', async () => {
    const h = await startHarness();
    const { status, body } = await postJson(h.app, '/api/v1/agents/register', registration('gpu1', [entry('a', { url: 'http://user:pw@gpu1.lan:8000/v1' })]));
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('llms.0.url: inline secrets are not allowed: the URL carries a password');
    expect(JSON.stringify(body)).not.toContain('pw@');
    expect(h.services.leases.agentCount).toBe(0);
  });

  it('refuses a name Git declares with source: static, saying where, and registers the rest', async () => {
    const h = await startHarness();
    const answer = await register(h, registration('gpu1', [entry('openai-gpt4o'), entry('vllm-gpu1-qwen3')]));
    expect(answer.rejected).toEqual([{ name: 'openai-gpt4o', reason: 'declared with source: static in llms/hosted.yaml:1; a static endpoint is not served by an agent' }]);
    expect(answer.desired.map((d) => d.name)).toEqual(['vllm-gpu1-qwen3']);
    expect((await viewOf(h, 'openai-gpt4o')).status.agent).toBeNull();
  });

  it('a new revision takes away names it no longer lets agents hold; a later beat sending them whole hears why', async () => {
    const h = await startHarness({ unmanaged: 'reject' });
    const first = await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3'), entry('qwen3')]));
    expect(first.rejected).toEqual([]);
    // The next revision no longer declares qwen3, and makes the pool worker static.
    const files = { ...FLEET_FILES };
    delete files['llms/legacy.yaml'];
    files['llms/pool.yaml'] = (files['llms/pool.yaml'] ?? '').replace('  poolName: user-vllm-qwen3-thinking\n', '  poolName: user-vllm-qwen3-thinking\n  url: http://gpu1.lan:8000/v1\n  source: static\n');
    h.desired.serve(files, 'rev-2');
    expect(h.services.leases.namesOf('gpu1')).toEqual([]);
    expect((await viewOf(h, 'vllm-gpu1-qwen3')).status.kind).toBe('static');
    expect((await getJson(h.app, '/api/v1/llms/qwen3')).status).toBe(404);

    const again = await beat(h, 'gpu1', { leaseId: first.leaseId, llms: [entry('vllm-gpu1-qwen3'), entry('qwen3')] });
    expect(again.status).toBe(200);
    expect((again.body as RegistrationAnswer).rejected).toEqual([
      { name: 'vllm-gpu1-qwen3', reason: expect.stringMatching(/^declared with source: static in llms\/pool\.yaml:\d+; a static endpoint is not served by an agent$/) as unknown as string },
      { name: 'qwen3', reason: 'not declared in revision rev-2 and the reconciler runs with --unmanaged reject' },
    ]);
  });

  it('--unmanaged admit keeps an undeclared name published when a revision stops declaring it', async () => {
    const h = await startHarness();
    await register(h, registration('gpu1', [entry('qwen3')]));
    const files = { ...FLEET_FILES };
    delete files['llms/legacy.yaml'];
    h.desired.serve(files, 'rev-2');
    expect(h.services.leases.namesOf('gpu1')).toEqual(['qwen3']);
    expect((await viewOf(h, 'qwen3')).status.kind).toBe('virtual');
  });

  it('--unmanaged reject before any revision is loaded refuses every name', async () => {
    const h = await startHarness({ unmanaged: 'reject', files: null });
    const answer = await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3')]));
    expect(answer.revision).toBeNull();
    expect(answer.rejected).toEqual([{ name: 'vllm-gpu1-qwen3', reason: 'no revision is loaded yet and the reconciler runs with --unmanaged reject' }]);
  });
});

describe('heartbeat', () => {
  it('answers 404 LeaseNotFound for an unknown agent or a leaseId that is not current', async () => {
    const h = await startHarness();
    const unknown = await beat(h, 'ghost', { leaseId: 'x', llms: [] });
    expect(unknown).toEqual({ status: 404, body: { error: { code: 'LeaseNotFound', message: 'no lease "x" for agent "ghost": register again' } } });
    await register(h, registration('gpu1', [entry('a')]));
    const wrong = await beat(h, 'gpu1', { leaseId: 'not-the-lease', llms: [] });
    expect(wrong.status).toBe(404);
    expect(wrong.body).toMatchObject({ error: { code: 'LeaseNotFound' } });
  });

  it('a partial entry updates health; the view says why it is unhealthy', async () => {
    const h = await startHarness();
    const { leaseId } = await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3')]));
    const version = h.services.leases.versionOf('vllm-gpu1-qwen3');
    const answer = await beat(h, 'gpu1', { leaseId, llms: [{ name: 'vllm-gpu1-qwen3', health: 'failing', healthMessage: 'ECONNREFUSED' }] });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ leaseId, rejected: [], desired: [{ name: 'vllm-gpu1-qwen3', declared: true }] });
    expect(h.services.leases.versionOf('vllm-gpu1-qwen3')).toBe(version + 1);
    expect((await viewOf(h, 'vllm-gpu1-qwen3')).status).toMatchObject({ phase: 'unhealthy', reason: 'endpoint failing: ECONNREFUSED' });
  });

  it('a beat that changes nothing moves the clock of the lease but not the version of any name', async () => {
    const h = await startHarness();
    const { leaseId } = await register(h, registration('gpu1', [entry('a')]));
    const version = h.services.leases.versionOf('a');
    h.clock.advance(9_000);
    const answer = await beat(h, 'gpu1', { leaseId, llms: [{ name: 'a', health: 'ok' }], gpus: [{ ...GPU, utilizationPct: 97, memoryUsedMiB: 70_000 }] });
    expect(answer.status).toBe(200);
    expect(h.services.leases.versionOf('a')).toBe(version);
    expect((await viewOf(h, 'a')).status.agent?.lastHeartbeatAt).toBe('2025-01-01T00:00:09.000Z');
  });

  it('GPU figures the agent could not read are null in the view, and a beat turning one unknown is carried', async () => {
    const h = await startHarness();
    const mig = { ...GPU, utilizationPct: null };
    const { leaseId } = await register(h, registration('gpu1', [entry('a')], [mig, { ...GPU, index: 1, memoryTotalMiB: null, memoryUsedMiB: null }]));
    expect((await viewOf(h, 'a')).status.agent?.gpus).toEqual([mig, { ...GPU, index: 1, memoryTotalMiB: null, memoryUsedMiB: null }]);
    // An older agent's numbers, then null again: each is a change the view shows.
    expect((await beat(h, 'gpu1', { leaseId, llms: [{ name: 'a', health: 'ok' }], gpus: [GPU] })).status).toBe(200);
    expect((await viewOf(h, 'a')).status.agent?.gpus).toEqual([GPU]);
    expect((await beat(h, 'gpu1', { leaseId, llms: [{ name: 'a', health: 'ok' }], gpus: [mig] })).status).toBe(200);
    expect((await viewOf(h, 'a')).status.agent?.gpus).toEqual([mig]);
  });

  it('a full entry in a heartbeat publishes a new name under the same lease', async () => {
    const h = await startHarness();
    const { leaseId } = await register(h, registration('gpu1', [entry('a')]));
    const answer = await beat(h, 'gpu1', { leaseId, llms: [entry('b', { poolName: 'a' })] });
    expect((answer.body as RegistrationAnswer).desired.map((d) => d.name)).toEqual(['a', 'b']);
    expect((await getJson(h.app, '/api/v1/llms/a/members')).body).toMatchObject({ pool: { key: 'a', size: 2 } });
  });

  it('a partial entry for a name the lease does not hold is rejected with a reason', async () => {
    const h = await startHarness();
    const { leaseId } = await register(h, registration('gpu1', [entry('a')]));
    const answer = await beat(h, 'gpu1', { leaseId, llms: [{ name: 'zzz', health: 'ok' }] });
    expect((answer.body as RegistrationAnswer).rejected).toEqual([{ name: 'zzz', reason: 'not registered under this lease: send the full entry or register again' }]);
  });
});

describe('lease expiry', () => {
  it('no heartbeat within the TTL makes a member stale; a heartbeat brings it back', async () => {
    const h = await startHarness();
    const { leaseId } = await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3')]));
    h.clock.advance(TTL_MS);
    expect((await viewOf(h, 'vllm-gpu1-qwen3')).status.phase).toBe('active');
    h.clock.advance(12_000);
    expect((await viewOf(h, 'vllm-gpu1-qwen3')).status).toMatchObject({ phase: 'stale', reason: 'no heartbeat for 42s' });
    expect((await beat(h, 'gpu1', { leaseId, llms: [] })).status).toBe(200);
    expect((await viewOf(h, 'vllm-gpu1-qwen3')).status.phase).toBe('active');
  });

  it('a stale lease is removed after --gc: a virtual Llm disappears, a declared one is pending again', async () => {
    const h = await startHarness();
    const { leaseId } = await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3'), entry('virtual-one')]));
    h.clock.advance(GC_MS);
    expect((await viewOf(h, 'virtual-one')).status.phase).toBe('stale');
    h.clock.advance(1);
    expect((await getJson(h.app, '/api/v1/llms/virtual-one')).status).toBe(404);
    expect((await viewOf(h, 'vllm-gpu1-qwen3')).status).toMatchObject({ kind: 'declared', phase: 'pending' });
    expect(h.services.leases.agentCount).toBe(0);
    expect((await beat(h, 'gpu1', { leaseId, llms: [] })).status).toBe(404);
  });
});

describe('a dead agent with a drained member (defect 5)', () => {
  it('its drained member goes stale with its sibling, and the reason says both', async () => {
    const h = await startHarness();
    const base = await h.listen();
    const get = async (path: string): Promise<unknown> => {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(200);
      return response.json();
    };
    // One agent serves both members of the declared pool; Git drains vllm-gpu2-qwen3.
    const answer = await fetch(`${base}/api/v1/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(registration('gpu1', [entry('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking' }), entry('vllm-gpu2-qwen3', { poolName: 'user-vllm-qwen3-thinking' })])),
    });
    expect(answer.status).toBe(200);
    expect(((await get('/api/v1/llms/vllm-gpu2-qwen3')) as LlmView).status).toMatchObject({ kind: 'managed', phase: 'draining' });

    h.clock.advance(TTL_MS + 1_000);
    const drained = ((await get('/api/v1/llms/vllm-gpu2-qwen3')) as LlmView).status;
    const sibling = ((await get('/api/v1/llms/vllm-gpu1-qwen3')) as LlmView).status;
    expect(sibling).toMatchObject({ kind: 'managed', phase: 'stale', reason: 'no heartbeat for 31s' });
    expect(drained).toMatchObject({ kind: 'managed', phase: 'stale', reason: 'no heartbeat for 31s; drained in Git (enabled: false in llms/pool.yaml:27)' });
    const members = (await get('/api/v1/llms/vllm-gpu2-qwen3/members')) as { members: LlmView[] };
    expect(members.members.map((m) => `${m.metadata.name} ${m.status.kind}/${m.status.phase}`)).toEqual(['vllm-gpu1-qwen3 managed/stale', 'vllm-gpu2-qwen3 managed/stale']);
  });
});

describe('deregister', () => {
  it('DELETE drops every name of the agent at once', async () => {
    const h = await startHarness();
    await register(h, registration('gpu1', [entry('vllm-gpu1-qwen3'), entry('virtual-one')]));
    const response = await h.app.inject({ method: 'DELETE', url: '/api/v1/agents/gpu1' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ agentId: 'gpu1', released: ['virtual-one', 'vllm-gpu1-qwen3'] });
    expect((await getJson(h.app, '/api/v1/llms/virtual-one')).status).toBe(404);
    expect((await viewOf(h, 'vllm-gpu1-qwen3')).status.phase).toBe('pending');
  });

  it('DELETE of an unknown agent, or with a leaseId that is not current, is 404 LeaseNotFound', async () => {
    const h = await startHarness();
    expect((await h.app.inject({ method: 'DELETE', url: '/api/v1/agents/ghost' })).json()).toEqual({
      error: { code: 'LeaseNotFound', message: 'no lease for agent "ghost"' },
    });
    await register(h, registration('gpu1', [entry('a')]));
    const response = await h.app.inject({ method: 'DELETE', url: '/api/v1/agents/gpu1?leaseId=old' });
    expect(response.statusCode).toBe(404);
    expect(h.services.leases.agentCount).toBe(1);
  });
});
