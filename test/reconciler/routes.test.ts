// The read routes' exact JSON (DESIGN §2, §3, §7): /llms, /llms/:name, /members, /pools,
// /status, /plan, /sync, /healthz, /readyz, /metrics, over a served revision and real leases.
import { afterEach, describe, expect, it } from 'vitest';
import { VERSION } from '../../schema/version.js';
import type { LlmView, MembersAnswer, PoolSummary, StatusAnswer } from '../../schema/views.js';
import type { Plan } from '../../schema/plan.js';
import { closeHarnesses, entry, FLEET_FILES, getJson, postJson, registration, startHarness, TTL_MS, type Harness } from './support/harness.js';

afterEach(closeHarnesses);

/** The DESIGN §2 example: gpu1 serves a pool member, gpu9 joins the legacy `qwen3` by poolName. */
async function startFleet(): Promise<Harness> {
  const h = await startHarness();
  const gpu1 = await postJson(h.app, '/api/v1/agents/register', registration('gpu1', [entry('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking' })]));
  const gpu9 = await postJson(h.app, '/api/v1/agents/register', registration('gpu9', [entry('qwen3-worker-a', { poolName: 'qwen3' })]));
  expect([gpu1.status, gpu9.status]).toEqual([200, 200]);
  return h;
}

function names(views: LlmView[]): string[] {
  return views.map((v) => v.metadata.name);
}

describe('GET /api/v1/llms', () => {
  it('serves every declared and registered Llm as an LlmView, sorted by name', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/llms');
    expect(status).toBe(200);
    const answer = body as { revision: string; items: LlmView[] };
    expect(answer.revision).toBe('rev-1');
    expect(names(answer.items)).toEqual(['openai-gpt4o', 'qwen3', 'qwen3-worker-a', 'vllm-gpu1-qwen3', 'vllm-gpu2-qwen3']);
    await expect(JSON.stringify(body, null, 2) + '\n').toMatchFileSnapshot('../golden/reconciler/llms.json');
  });

  it('?pool=KEY lists only the members of that pool', async () => {
    const h = await startFleet();
    const { body } = await getJson(h.app, '/api/v1/llms?pool=qwen3');
    const answer = body as { revision: string; items: LlmView[] };
    expect(answer.revision).toBe('rev-1');
    expect(names(answer.items)).toEqual(['qwen3', 'qwen3-worker-a']);
    expect((await getJson(h.app, '/api/v1/llms?pool=no-such-pool')).body).toEqual({ revision: 'rev-1', items: [] });
  });

  it('a repeated ?pool= is a 400, not a crash', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/llms?pool=a&pool=b');
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: 'InvalidRequest' } });
    expect((body as { error: { message: string } }).error.message).toContain('pool');
  });
});

describe('GET /api/v1/llms/:name', () => {
  it('answers the LlmView of a managed Llm with its agent', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/llms/vllm-gpu1-qwen3');
    expect(status).toBe(200);
    const view = body as LlmView;
    expect(view.status).toMatchObject({
      kind: 'managed',
      phase: 'active',
      pool: { key: 'user-vllm-qwen3-thinking', explicit: true },
      sync: 'Synced',
      source: { file: 'llms/pool.yaml', line: 9, revision: 'rev-1' },
      agent: { id: 'gpu1', host: 'gpu1.lan', lastHeartbeatAt: '2025-01-01T00:00:00.000Z' },
      drift: [],
      reason: 'heartbeat 0s ago from agent gpu1',
    });
  });

  it('answers 404 LlmNotFound for a name nobody declares or registers', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/llms/nope');
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: 'LlmNotFound', message: 'no Llm named "nope": it is neither declared in the served revision nor registered by an agent' } });
  });

  it("reports ages as of the request, not as of the last change", async () => {
    const h = await startFleet();
    h.clock.advance(12_000);
    const view = (await getJson(h.app, '/api/v1/llms/vllm-gpu1-qwen3')).body as LlmView;
    expect(view.status.reason).toBe('heartbeat 12s ago from agent gpu1');
  });
});

describe('GET /api/v1/llms/:name/members', () => {
  it('a legacy Llm joined by a worker: its own key is implicit, the pool has both', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/llms/qwen3/members');
    expect(status).toBe(200);
    const answer = body as MembersAnswer;
    expect(answer.anchor).toBe('qwen3');
    expect(answer.pool).toEqual({ key: 'qwen3', explicit: false, size: 2, activeCount: 1, minActive: 0, health: 'Healthy' });
    expect(names(answer.members)).toEqual(['qwen3', 'qwen3-worker-a']);
    expect(answer.members.map((m) => [m.status.kind, m.status.phase])).toEqual([
      ['declared', 'pending'],
      ['virtual', 'active'],
    ]);
  });

  it("the worker's own answer says explicit: true for the same pool", async () => {
    const h = await startFleet();
    const answer = (await getJson(h.app, '/api/v1/llms/qwen3-worker-a/members')).body as MembersAnswer;
    expect(answer.anchor).toBe('qwen3-worker-a');
    expect(answer.pool).toEqual({ key: 'qwen3', explicit: true, size: 2, activeCount: 1, minActive: 0, health: 'Healthy' });
  });

  it('a declared pool carries its LlmPool floor: a drained member counts in size, not in active', async () => {
    const h = await startFleet();
    const answer = (await getJson(h.app, '/api/v1/llms/vllm-gpu2-qwen3/members')).body as MembersAnswer;
    expect(answer.pool).toEqual({ key: 'user-vllm-qwen3-thinking', explicit: true, size: 2, activeCount: 1, minActive: 2, health: 'Degraded' });
    expect(answer.members.map((m) => [m.metadata.name, m.status.phase])).toEqual([
      ['vllm-gpu1-qwen3', 'active'],
      ['vllm-gpu2-qwen3', 'draining'],
    ]);
    await expect(JSON.stringify(answer, null, 2) + '\n').toMatchFileSnapshot('../golden/reconciler/members-declared-pool.json');
  });

  it('a solo Llm is a pool of one with an implicit key', async () => {
    const h = await startFleet();
    const answer = (await getJson(h.app, '/api/v1/llms/openai-gpt4o/members')).body as MembersAnswer;
    expect(answer.pool).toEqual({ key: 'openai-gpt4o', explicit: false, size: 1, activeCount: 0, minActive: 0, health: 'Unavailable' });
  });

  it('answers 404 LlmNotFound for an unknown anchor', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/llms/ghost/members');
    expect(status).toBe(404);
    expect(body).toMatchObject({ error: { code: 'LlmNotFound' } });
  });

  it('a stale member stops counting as active once its lease expires', async () => {
    const h = await startFleet();
    h.clock.advance(TTL_MS + 1000);
    const answer = (await getJson(h.app, '/api/v1/llms/qwen3/members')).body as MembersAnswer;
    expect(answer.pool.activeCount).toBe(0);
    expect(answer.members[1]?.status).toMatchObject({ phase: 'stale', reason: 'no heartbeat for 31s' });
  });
});

describe('GET /api/v1/pools', () => {
  it('lists every pool with size, active count, floor and health; a pool is explicit when any member sets poolName', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/pools');
    expect(status).toBe(200);
    const items = (body as { items: PoolSummary[] }).items;
    expect(items).toEqual([
      { key: 'openai-gpt4o', explicit: false, size: 1, activeCount: 0, minActive: 0, health: 'Unavailable', declared: false, members: ['openai-gpt4o'] },
      { key: 'qwen3', explicit: true, size: 2, activeCount: 1, minActive: 0, health: 'Healthy', declared: false, members: ['qwen3', 'qwen3-worker-a'] },
      {
        key: 'user-vllm-qwen3-thinking',
        explicit: true,
        size: 2,
        activeCount: 1,
        minActive: 2,
        health: 'Degraded',
        declared: true,
        members: ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3'],
        description: 'Qwen3 thinking workers',
      },
    ]);
  });

  it('an LlmPool without members is listed with size 0', async () => {
    const h = await startHarness({
      files: { ...FLEET_FILES, 'llms/spare.yaml': 'apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: spare-pool\nspec:\n  minActive: 1\n' },
    });
    const items = ((await getJson(h.app, '/api/v1/pools')).body as { items: PoolSummary[] }).items;
    expect(items.find((p) => p.key === 'spare-pool')).toEqual({ key: 'spare-pool', explicit: false, size: 0, activeCount: 0, minActive: 1, health: 'Degraded', declared: true, members: [] });
  });
});

describe('GET /api/v1/status', () => {
  it('answers the source, revisions, errors, counts, history and the lease store', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/status');
    expect(status).toBe(200);
    expect(body as StatusAnswer).toEqual({
      revision: 'rev-1',
      lastGoodRevision: 'rev-1',
      source: 'static test source',
      sourceRootCommits: [],
      lastSyncAt: '2025-01-01T00:00:00.000Z',
      errors: [],
      counts: {
        llms: 5,
        pools: 3,
        agents: 2,
        byPhase: { active: 2, pending: 1, stale: 0, unhealthy: 0, draining: 1, unknown: 1 },
        byKind: { managed: 1, static: 1, virtual: 1, declared: 2 },
      },
      history: [{ revision: 'rev-1', at: '2025-01-01T00:00:00.000Z', durationMs: 3, result: 'applied', errors: [] }],
      store: { kind: 'memory', endpoints: [], leader: null },
    });
  });

  it('a rejected revision keeps the last good one serving and lists its errors with file:line:col', async () => {
    const h = await startFleet();
    h.desired.serve({ ...FLEET_FILES, 'llms/bad.yaml': 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: Bad_Name\nspec:\n  type: vllm\n  model: m\n' }, 'rev-2');
    const answer = (await getJson(h.app, '/api/v1/status')).body as StatusAnswer;
    expect(answer.revision).toBe('rev-2');
    expect(answer.lastGoodRevision).toBe('rev-1');
    expect(answer.errors).toEqual([{ file: 'llms/bad.yaml', line: 4, col: 9, message: expect.stringContaining('metadata.name: invalid name') }]);
    expect(answer.history.map((a) => [a.revision, a.result])).toEqual([
      ['rev-2', 'rejected'],
      ['rev-1', 'applied'],
    ]);
    const llms = (await getJson(h.app, '/api/v1/llms')).body as { revision: string; items: LlmView[] };
    expect(llms.revision).toBe('rev-1');
  });
});

describe('GET /api/v1/plan', () => {
  it('is the served revision against live state: no changes, only live findings and the policy check', async () => {
    const h = await startFleet();
    const { status, body } = await getJson(h.app, '/api/v1/plan');
    expect(status).toBe(200);
    const plan = body as Plan;
    expect(plan.summary).toEqual({ add: 0, change: 0, remove: 0 });
    expect(plan.empty).toBe(true);
    expect(plan.offline).toBe(false);
    expect(plan.base).toEqual({ label: 'reconciler revision rev-1', revision: 'rev-1' });
    expect(plan.findings.map((f) => [f.type, f.name])).toEqual([
      ['pending', 'qwen3'],
      ['unmanaged', 'qwen3-worker-a'],
    ]);
    await expect(JSON.stringify(plan, null, 2) + '\n').toMatchFileSnapshot('../golden/reconciler/plan.json');
  });

  it('reports drift when an agent publishes something other than Git declares', async () => {
    const h = await startHarness();
    await postJson(h.app, '/api/v1/agents/register', registration('gpu1', [entry('vllm-gpu1-qwen3', { model: 'Qwen/Qwen3-32B', poolName: 'user-vllm-qwen3-thinking' })]));
    const plan = (await getJson(h.app, '/api/v1/plan')).body as Plan;
    expect(plan.findings.filter((f) => f.type === 'drift')).toEqual([
      expect.objectContaining({ name: 'vllm-gpu1-qwen3', path: 'spec.model', file: 'llms/pool.yaml' }),
    ]);
  });
});

describe('POST /api/v1/sync', () => {
  it('reads the source now and answers the revision it then serves', async () => {
    const h = await startFleet();
    h.desired.stage({ ...FLEET_FILES, 'llms/new.yaml': 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: added\nspec:\n  type: ollama\n  model: qwen3:8b\n' }, 'rev-2');
    const { status, body } = await postJson(h.app, '/api/v1/sync', {});
    expect(status).toBe(200);
    expect(body).toEqual({ revision: 'rev-2', result: 'applied', errors: [] });
    expect(h.desired.syncCount).toBe(1);
    const view = (await getJson(h.app, '/api/v1/llms/added')).body as LlmView;
    expect(view.status).toMatchObject({ kind: 'declared', phase: 'pending', source: { file: 'llms/new.yaml', revision: 'rev-2' } });
  });

  it('accepts a POST without a body', async () => {
    const h = await startFleet();
    const response = await h.app.inject({ method: 'POST', url: '/api/v1/sync' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ revision: 'rev-1', result: 'unchanged', errors: [] });
  });

  it('answers a rejected revision with its errors, and keeps the old one', async () => {
    const h = await startFleet();
    h.desired.stage({ 'llms/x.yaml': 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: x\nspec:\n  type: nope\n  model: m\n' }, 'rev-3');
    const { body } = await postJson(h.app, '/api/v1/sync', {});
    expect(body).toEqual({ revision: 'rev-1', result: 'rejected', errors: [{ file: 'llms/x.yaml', line: 6, col: 9, message: expect.stringContaining('spec.type') }] });
  });
});

describe('health, readiness, metrics', () => {
  it('/readyz is 503 NotReady until a good revision is loaded; /healthz is always 200', async () => {
    const h = await startHarness({ files: null });
    expect(await getJson(h.app, '/healthz')).toEqual({ status: 200, body: { status: 'ok', version: VERSION } });
    expect(await getJson(h.app, '/readyz')).toEqual({
      status: 503,
      body: { error: { code: 'NotReady', message: 'no good revision loaded: the first revision has not been read yet' } },
    });
    h.desired.serve(FLEET_FILES, 'rev-1');
    expect(await getJson(h.app, '/readyz')).toEqual({ status: 200, body: { status: 'ready', revision: 'rev-1', store: 'available' } });
  });

  it('/metrics serves Prometheus text with phase, pool and lease figures', async () => {
    const h = await startFleet();
    await postJson(h.app, '/api/v1/agents/register', registration('gpu2', [entry('qwen3-worker-a')]));
    const response = await h.app.inject('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    expect(text).toContain('mcpctl_llms{phase="active",kind="managed"} 1');
    expect(text).toContain('mcpctl_llms{phase="draining",kind="declared"} 1');
    expect(text).toContain('mcpctl_pool_members{pool="user-vllm-qwen3-thinking"} 2');
    expect(text).toContain('mcpctl_pool_min_active{pool="user-vllm-qwen3-thinking"} 2');
    expect(text).toContain('mcpctl_pool_healthy{pool="user-vllm-qwen3-thinking"} 0');
    expect(text).toContain('mcpctl_pool_health{pool="user-vllm-qwen3-thinking",health="Degraded"} 1');
    expect(text).toContain('mcpctl_pool_health{pool="user-vllm-qwen3-thinking",health="Healthy"} 0');
    expect(text).toContain('mcpctl_pool_health{pool="user-vllm-qwen3-thinking",health="Unavailable"} 0');
    expect(text).toContain('mcpctl_pool_health{pool="openai-gpt4o",health="Unavailable"} 1');
    expect(text).toContain('mcpctl_agents 3');
    expect(text).toContain('mcpctl_registrations_total 3');
    expect(text).toContain('mcpctl_registration_rejections_total 1');
    expect(text).toContain('mcpctl_source_errors 0');
    expect(text).toContain('mcpctl_reconcile_duration_seconds_count{result="applied"} 1');
  });
});
