// Reconcilers on a real etcd when a part of the fleet dies (DESIGN §9), all as real processes
// (node dist/cli/bin.js; run tsc first): etcd killed with -9 and started again on its data dir
// (503 StoreUnavailable meanwhile, reads keep the last view, /readyz and /status say why, and
// everything resumes without a restart); a reconciler killed under a real agent with `servers:`
// (the agent beats at the other one with the same lease, no member goes stale); and a dead agent
// collected once, not once per reconciler.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3, type IKeyValue } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import type { LlmListAnswer, LlmView, StatusAnswer } from '../../schema/views.js';
import { killAllMcpctl, startMcpctl, waitForServingUrl, type McpctlProcess } from '../agent/mcpctl-process.js';
import { etcdForFile, etcdTool, TestEtcd } from '../support/etcd.js';
import { waitFor } from '../support/wait-for.js';
import { entry, FLEET_FILES, registration } from './support/harness.js';

/** No answer within this is a hang: far above the 2 s bound, so a loaded machine does not fail it. */
const ANSWER_DEADLINE_MS = 10_000;

const etcd = etcdForFile();
let prefixes = 0;
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await killAllMcpctl();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mcpctl-${prefix}-`));
  dirs.push(dir);
  return dir;
}

async function worktree(): Promise<string> {
  const dir = await tempDir('worktree');
  await mkdir(join(dir, 'llms'));
  for (const [path, text] of Object.entries(FLEET_FILES)) await writeFile(join(dir, path), text);
  return dir;
}

interface Reconciler {
  proc: McpctlProcess;
  url: string;
}

async function startReconciler(dir: string, endpoint: string, prefix: string, extra: string[] = []): Promise<Reconciler> {
  const proc = startMcpctl(['reconciler', '--worktree', dir, '--listen', '127.0.0.1:0', '--store', `etcd://${endpoint}`, '--store-prefix', prefix, ...extra]);
  return { proc, url: await waitForServingUrl(proc, 30_000) };
}

interface Answer {
  status: number;
  body: unknown;
  retryAfter: string | null;
}

/** One request that must be answered (whatever the answer) within ANSWER_DEADLINE_MS. */
async function request(method: string, url: string, body?: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method,
    signal: AbortSignal.timeout(ANSWER_DEADLINE_MS),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: await response.json(), retryAfter: response.headers.get('retry-after') };
}

const codeOf = (answer: Answer): string | undefined => (answer.body as { error?: { code?: string } }).error?.code;

async function view(url: string, name: string): Promise<LlmView> {
  const answer = await request('GET', `${url}/api/v1/llms/${name}`);
  if (answer.status !== 200) throw new Error(`GET ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as LlmView;
}

/** Every key event under `prefix`, from a client of the test's own. */
async function watchKeys(endpoint: string, prefix: string): Promise<{ events: { type: string; key: string }[] }> {
  const client = new Etcd3({ hosts: `http://${endpoint}` });
  const watcher = await client.watch().prefix(prefix).create();
  const seen = { events: [] as { type: string; key: string }[] };
  watcher.on('put', (kv: IKeyValue) => seen.events.push({ type: 'put', key: kv.key.toString().slice(prefix.length) }));
  watcher.on('delete', (kv: IKeyValue) => seen.events.push({ type: 'delete', key: kv.key.toString().slice(prefix.length) }));
  cleanups.push(async () => {
    await watcher.cancel();
    client.close();
  });
  return seen;
}

async function readRecord(endpoint: string, key: string): Promise<{ leaseId: string; modRevision: string } | null> {
  const client = new Etcd3({ hosts: `http://${endpoint}` });
  try {
    const response = await client.get(key).exec();
    const kv = response.kvs[0];
    if (kv === undefined) return null;
    return { leaseId: (JSON.parse(kv.value.toString()) as { leaseId: string }).leaseId, modRevision: kv.mod_revision };
  } finally {
    client.close();
  }
}

describe.sequential(`reconcilers on etcd when a part dies${etcdTool.skipNote}`, () => {
  const it_ = etcdTool.available ? it : it.skip;

  it_('etcd killed -9: register, heartbeat and deregister answer 503 StoreUnavailable, reads keep the last view, /readyz and /status say why; after a restart on its data dir beats succeed again, nothing lost, same process', async () => {
    const own = await TestEtcd.start();
    cleanups.push(() => own.stop());
    const r = await startReconciler(await worktree(), own.endpoint, '/outage/');
    const first = await request('POST', `${r.url}/api/v1/agents/register`, registration('gpu1', [entry('vllm-gpu1-a')]));
    expect(first.status).toBe(200);
    const { leaseId } = first.body as RegistrationAnswer;
    const beat = (): Promise<Answer> => request('POST', `${r.url}/api/v1/agents/gpu1/heartbeat`, { leaseId, llms: [], gpus: [] });
    expect((await beat()).status).toBe(200);
    // Names, and the agent's phase (a static Llm's phase follows its own probe, etcd or not).
    const served = (answer: Answer): unknown[] => (answer.body as LlmListAnswer).items.map((v) => (v.status.agent === null ? v.metadata.name : [v.metadata.name, v.status.phase]));
    const before = served(await request('GET', `${r.url}/api/v1/llms`));
    expect(before).toContainEqual(['vllm-gpu1-a', 'active']);

    await own.kill();
    // A beat taken just before the store noticed is batched; within a call bound every beat is refused.
    const refused = await waitFor('a heartbeat refused with 503', async () => {
      const answer = await beat();
      return answer.status === 503 ? answer : undefined;
    }, 30_000);
    expect(codeOf(refused)).toBe('StoreUnavailable');
    expect(refused.retryAfter).toBe('1');
    expect((refused.body as { error: { message: string } }).error.message).toMatch(/^etcd is unavailable \(.+\): this reconciler serves reads only until it answers; retry in a moment, or at another reconciler$/);
    const register = await request('POST', `${r.url}/api/v1/agents/register`, registration('gpu2', [entry('vllm-gpu2-a')]));
    expect([register.status, codeOf(register)]).toEqual([503, 'StoreUnavailable']);
    const deregister = await request('DELETE', `${r.url}/api/v1/agents/gpu1?leaseId=${leaseId}`);
    expect([deregister.status, codeOf(deregister)]).toEqual([503, 'StoreUnavailable']);

    // Reads: the last view, as before the outage.
    const during = await request('GET', `${r.url}/api/v1/llms`);
    expect(during.status).toBe(200);
    expect(served(during)).toEqual(before);
    const ready = await request('GET', `${r.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((ready.body as { store: string }).store).toMatch(/^unavailable since \S+: etcd is unavailable \(.+\); read-only: register and heartbeat answer 503 StoreUnavailable, reads serve the last view$/);
    const status = (await request('GET', `${r.url}/api/v1/status`)).body as StatusAnswer;
    expect(status.store).toMatchObject({ kind: 'etcd', endpoints: [own.endpoint], leader: null, unavailable: { since: expect.any(String), reason: expect.stringMatching(/^etcd is unavailable/) } });
    expect(r.proc.output()).toContain('registrations and heartbeats answer 503 StoreUnavailable and reads serve the last view');

    await own.run();
    await waitFor('a heartbeat accepted again', async () => (await beat()).status === 200, 30_000);
    expect((await request('POST', `${r.url}/api/v1/agents/register`, registration('gpu2', [entry('vllm-gpu2-a')]))).status).toBe(200);
    expect((await view(r.url, 'vllm-gpu1-a')).status).toMatchObject({ phase: 'active', agent: { id: 'gpu1' } });
    // Acknowledged once etcd has it; right after a restart the view follows when the etcd client's
    // re-opened watch brings it (a second or two here), not within the call bound.
    await waitFor('the new registration in the view', async () => (await request('GET', `${r.url}/api/v1/llms/vllm-gpu2-a`)).status === 200, 30_000);
    expect((await view(r.url, 'vllm-gpu2-a')).status).toMatchObject({ phase: 'active', agent: { id: 'gpu2' } });
    expect((await readRecord(own.endpoint, '/outage/leases/gpu1'))?.leaseId).toBe(leaseId);
    const after = (await request('GET', `${r.url}/api/v1/status`)).body as StatusAnswer;
    expect(after.store).toEqual({ kind: 'etcd', endpoints: [own.endpoint], leader: null });
    expect(after.counts.agents).toBe(2);
    expect(((await request('GET', `${r.url}/readyz`)).body as { store: string }).store).toBe('available');
    expect(r.proc.output()).toMatch(/etcd answers again after \d+s/);
    expect(r.proc.child.exitCode).toBeNull();
  }, 120_000);

  it_('reconciler A killed -9 under a real agent with servers [A, B]: it beats at B with the same lease and no member goes stale', async () => {
    const prefix = `/failover-${++prefixes}/`;
    const dir = await worktree();
    // A short TTL: a failover that took longer than a few beats would show as stale.
    const flags = ['--heartbeat-interval', '500ms', '--ttl', '5s'];
    const a = await startReconciler(dir, etcd().endpoint, prefix, flags);
    const b = await startReconciler(dir, etcd().endpoint, prefix, flags);
    const standin: StandinServer = await startStandinServer({ model: 'Qwen/Qwen3-8B' });
    cleanups.push(() => standin.close());
    const config = join(await tempDir('agent'), 'agent.yaml');
    await writeFile(config, `servers:\n  - ${a.url}\n  - ${b.url}\nagentId: gpu1\nproviders:\n  - name: vllm-gpu1-qwen3\n    poolName: qwen3-pool\n    type: vllm\n    model: Qwen/Qwen3-8B\n    url: ${standin.url}\n`);
    const agent = startMcpctl(['agent', '--config', config]);

    const beatAt = async (): Promise<number> => Date.parse((await view(b.url, 'vllm-gpu1-qwen3')).status.agent?.lastHeartbeatAt ?? '');
    await waitFor('B to see the agent active', async () => (await view(b.url, 'vllm-gpu1-qwen3')).status.phase === 'active', 30_000);
    // Settled first: on a loaded machine a slow first answer makes the agent register once more,
    // which is right, but is not what this test is about.
    let held = await readRecord(etcd().endpoint, `${prefix}leases/gpu1`);
    let stableSince = Date.now();
    await waitFor('the lease record to settle', async () => {
      const now = await readRecord(etcd().endpoint, `${prefix}leases/gpu1`);
      if (JSON.stringify(now) !== JSON.stringify(held)) {
        held = now;
        stableSince = Date.now();
      }
      return held !== null && Date.now() - stableSince > 2_000;
    }, 30_000);
    const loggedBefore = agent.output().length;

    a.proc.kill('SIGKILL');
    await a.proc.exited;
    await waitFor('the agent to move to B', () => agent.output().includes(`trying ${b.url}`), 30_000);
    // Beats keep arriving through B for longer than one TTL, and B never sees the member stale.
    const phases = new Set<string>();
    const since = await beatAt();
    await waitFor('beats through B for longer than the TTL', async () => {
      const seen = await view(b.url, 'vllm-gpu1-qwen3');
      phases.add(seen.status.phase);
      return Date.parse(seen.status.agent?.lastHeartbeatAt ?? '') - since > 6_000;
    }, 60_000);
    expect([...phases]).toEqual(['active']);
    // The same lease: not registered again, its record not rewritten.
    expect(await readRecord(etcd().endpoint, `${prefix}leases/gpu1`)).toEqual(held);
    expect(agent.output().slice(loggedBefore)).not.toContain('LeaseNotFound');
  }, 120_000);

  it_('a dead agent is collected once, by one reconciler: one delete of its record and of its claim', async () => {
    const prefix = `/gc-${++prefixes}/`;
    const seen = await watchKeys(etcd().endpoint, prefix);
    const dir = await worktree();
    const flags = ['--heartbeat-interval', '500ms', '--ttl', '1s', '--gc', '2s'];
    const [a, b] = [await startReconciler(dir, etcd().endpoint, prefix, flags), await startReconciler(dir, etcd().endpoint, prefix, flags)];
    const gone = (url: string, name: string) => async (): Promise<boolean> => (await request('GET', `${url}/api/v1/llms/${name}`)).status === 404;

    // Registered, then never heard from again: stale after 1 s, collected after 2 s.
    expect((await request('POST', `${a.url}/api/v1/agents/register`, registration('dead1', [entry('vllm-dead1')]))).status).toBe(200);
    await waitFor('dead1 collected on both reconcilers', async () => (await gone(a.url, 'vllm-dead1')()) && (await gone(b.url, 'vllm-dead1')()), 30_000);
    // A second one, through the other reconciler: both keep sweeping past the first collection meanwhile.
    expect((await request('POST', `${b.url}/api/v1/agents/register`, registration('dead2', [entry('vllm-dead2')]))).status).toBe(200);
    await waitFor('dead2 collected on both reconcilers', async () => (await gone(a.url, 'vllm-dead2')()) && (await gone(b.url, 'vllm-dead2')()), 30_000);

    const deletes = (key: string): number => seen.events.filter((e) => e.type === 'delete' && e.key === key).length;
    await waitFor('the watch to deliver the deletes', () => deletes('leases/dead2') >= 1, 10_000);
    expect([deletes('leases/dead1'), deletes('names/vllm-dead1'), deletes('leases/dead2'), deletes('names/vllm-dead2')]).toEqual([1, 1, 1, 1]);
    expect(seen.events.filter((e) => e.key.startsWith('leases/')).map((e) => `${e.type} ${e.key}`)).toEqual(['put leases/dead1', 'delete leases/dead1', 'put leases/dead2', 'delete leases/dead2']);
  }, 120_000);
});
