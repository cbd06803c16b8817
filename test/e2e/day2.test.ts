// Phase 7 end to end, with real processes: a reconciler following a Git remote with an LlmPool
// (minActive 2), real agents in front of stand-in model servers, and a clone where an operator
// drains, breaks and fixes things while `get -w` watches. Run `npx tsc -p tsconfig.json` first.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import type { MembersAnswer, PoolSummary } from '../../schema/views.js';
import { buildTestEnv, describeRunning, getJson, killAll, runGit, runMcpctl, startMcpctl, waitFor, type Child } from './support.js';

const POOL = 'qwen3-pool';

const POOL_FILE = `# The lab's Qwen3 workers; the pool must keep two of them serving.
apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: ${POOL}
spec:
  minActive: 2
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: gpu1-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: ${POOL}
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: gpu2-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: ${POOL}
`;

let tmp: string;
let work: string;
let env: NodeJS.ProcessEnv;
let url: string;
const standins: StandinServer[] = [];
let llmWatch: Child;
let poolWatch: Child;

async function startAgent(agentId: string, name: string): Promise<Child> {
  const standin = await startStandinServer({ model: 'Qwen/Qwen3-8B' });
  standins.push(standin);
  const config = path.join(tmp, `agent-${agentId}.yaml`);
  await writeFile(config, [`server: ${url}`, `agentId: ${agentId}`, 'providers:', `  - name: ${name}`, `    poolName: ${POOL}`, '    type: vllm', '    model: Qwen/Qwen3-8B', `    url: ${standin.url}`, ''].join('\n'));
  return startMcpctl(['agent', '--config', config], { cwd: tmp, env });
}

async function fetchPool(): Promise<PoolSummary | undefined> {
  return (await getJson<{ items: PoolSummary[] }>(`${url}/api/v1/pools`)).items.find((p) => p.key === POOL);
}

function runInClone(args: string[]): ReturnType<typeof runMcpctl> {
  return runMcpctl([...args, '--repo', work], { cwd: tmp, env });
}

/** Lines printed after the first `skip` (the table `get -w` prints before it starts watching). */
function readLinesAfter(child: Child, skip: number): string[] {
  return child.stdout().split('\n').slice(skip).filter((l) => l !== '');
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'mcpctl-e2e-day2-'));
  env = buildTestEnv({ TMPDIR: tmp });
  // A remote (bare, as on a Git server) seeded with the pool, and the operator's clone of it.
  const seed = path.join(tmp, 'seed');
  await mkdir(path.join(seed, 'llms'), { recursive: true });
  await writeFile(path.join(seed, 'llms/pool.yaml'), POOL_FILE);
  await runGit(seed, ['init', '--quiet', '--initial-branch=main'], env);
  await runGit(seed, ['add', '.'], env);
  await runGit(seed, ['commit', '--quiet', '-m', 'Declare the pool'], env);
  const origin = path.join(tmp, 'origin.git');
  await runGit(tmp, ['clone', '--quiet', '--bare', seed, origin], env);
  work = path.join(tmp, 'work');
  await runGit(tmp, ['clone', '--quiet', origin, work], env);

  const reconciler = startMcpctl(
    ['reconciler', '--source', origin, '--listen', '127.0.0.1:0', '--poll', '1h', '--heartbeat-interval', '1s', '--ttl', '10s', '--state-dir', path.join(tmp, 'state')],
    { cwd: tmp, env },
  );
  url = await waitFor('the reconciler to say where it serves', () => {
    if (reconciler.child.exitCode !== null) throw new Error(`the reconciler exited with ${reconciler.child.exitCode}: ${reconciler.stderr()}`);
    return /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(reconciler.stderr() + reconciler.stdout())?.[1];
  });
  env = buildTestEnv({ TMPDIR: tmp, MCPCTL_SERVER: url });
  await startAgent('gpu1', 'gpu1-qwen3');
  await startAgent('gpu2', 'gpu2-qwen3');
  await waitFor('both workers to be active', async () => (await fetchPool())?.activeCount === 2);
});

afterAll(async () => {
  await killAll();
  for (const s of standins) await s.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('day-2 operations against real processes', () => {
  it('the pool starts Healthy with exactly its floor of active members', async () => {
    onTestFailed(() => console.log(describeRunning()));
    expect(await fetchPool()).toMatchObject({ key: POOL, explicit: true, size: 2, activeCount: 2, minActive: 2, health: 'Healthy', declared: true });
    // Both watches start now, before anything changes: each prints its table first.
    llmWatch = startMcpctl(['get', 'llm', '-w'], { cwd: tmp, env });
    poolWatch = startMcpctl(['get', 'pools', '-w'], { cwd: tmp, env });
    await waitFor('the llm table', () => llmWatch.stdout().split('\n').length >= 4);
    await waitFor('the pool table', () => poolWatch.stdout().split('\n').length >= 3);
    expect(llmWatch.stdout().split('\n')[0]).toMatch(/^EVENT\s+NAME\s+POOL\s+KIND\s+STATUS/);
    expect(poolWatch.stdout().split('\n')[1]).toMatch(new RegExp(`^${POOL}\\s+explicit\\s+2\\s+2\\s+2\\s+Healthy\\s`));
  });

  it('draining a member below the floor is refused with one error line, and nothing is written', async () => {
    const head = (await runGit(work, ['rev-parse', 'HEAD'], env)).trim();
    const result = await runInClone(['drain', 'llm', 'gpu1-qwen3']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mcpctl: error: /);
    // It names the pool, the count after the change and the floor.
    expect(lines[0]).toContain(POOL);
    expect(lines[0]).toMatch(/\b1 active\b/);
    expect(lines[0]).toMatch(/minActive 2\b/);
    expect(lines[0]).toContain('--force');
    expect(await runGit(work, ['status', '--porcelain'], env)).toBe('');
    expect((await runGit(work, ['rev-parse', 'HEAD'], env)).trim()).toBe(head);
  });

  it('--force drains with a one-line commit; once merged the pool is Degraded and `get pools -w` prints it', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const head = (await runGit(work, ['rev-parse', 'HEAD'], env)).trim();
    const result = await runInClone(['drain', 'llm', 'gpu1-qwen3', '--force']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('llm/gpu1-qwen3 drained');
    expect((await runGit(work, ['rev-parse', 'HEAD~1'], env)).trim()).toBe(head);
    expect((await runGit(work, ['show', '--numstat', '--format=%s', 'HEAD'], env)).trim().split('\n')).toEqual(['drain llm gpu1-qwen3', '', '1\t0\tllms/pool.yaml']);
    const added = (await runGit(work, ['show', '--format=', '-U0', 'HEAD'], env)).split('\n').filter((l) => /^[+-](?![+-]{2} )/.test(l));
    expect(added).toEqual(['+  enabled: false']);
    expect(await runGit(work, ['status', '--porcelain'], env)).toBe('');

    await runGit(work, ['push', '--quiet', 'origin', 'main'], env);
    expect((await runInClone(['sync', '--wait'])).code).toBe(0);
    expect(await fetchPool()).toMatchObject({ size: 2, activeCount: 1, minActive: 2, health: 'Degraded' });
    const members = await getJson<MembersAnswer>(`${url}/api/v1/llms/gpu1-qwen3/members`);
    expect(members.members.map((m) => `${m.metadata.name} ${m.status.phase}`)).toEqual(['gpu1-qwen3 draining', 'gpu2-qwen3 active']);
    await waitFor('`get pools -w` to print the Degraded pool', () =>
      readLinesAfter(poolWatch, 2).some((l) => new RegExp(`^${POOL}\\s+explicit\\s+2\\s+1\\s+2\\s+Degraded\\s`).test(l)),
    );
  });

  it('`get llm -w` prints a line when a worker joins, `get pools -w` one when the count rises, and both stop on Ctrl-C with 0', async () => {
    onTestFailed(() => console.log(describeRunning()));
    expect(llmWatch.stdout()).not.toContain('gpu3-qwen3');
    await startAgent('gpu3', 'gpu3-qwen3');
    await waitFor('`get llm -w` to print the new worker', () => readLinesAfter(llmWatch, 3).some((l) => /^ADDED\s+gpu3-qwen3\s+qwen3-pool\s+virtual\s/.test(l)));
    await waitFor('`get pools -w` to print the pool Healthy again', () =>
      readLinesAfter(poolWatch, 2).some((l) => new RegExp(`^${POOL}\\s+explicit\\s+3\\s+2\\s+2\\s+Healthy\\s`).test(l)),
    );
    for (const watch of [llmWatch, poolWatch]) {
      watch.signal('SIGINT');
      expect(await watch.exited).toEqual({ code: 0, signal: null });
      expect(watch.stderr()).toBe('');
    }
  });

  it('a rejected revision makes `mcpctl status` exit 1 with file:line:col; a fix brings it back to 0', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const served = (await runGit(work, ['rev-parse', 'HEAD'], env)).trim();
    expect((await runInClone(['status'])).code).toBe(0);
    const broken = ['apiVersion: mcpctl/v1', 'kind: Llm', 'metadata:', '  name: gpu9-qwen3', 'spec:', '  type: vllm', '  model: Qwen/Qwen3-8B', '  colour: blue', ''];
    await writeFile(path.join(work, 'llms/gpu9.yaml'), broken.join('\n'));
    await runGit(work, ['add', '.'], env);
    await runGit(work, ['commit', '--quiet', '-m', 'Add gpu9 (with a typo)'], env);
    const rejected = (await runGit(work, ['rev-parse', 'HEAD'], env)).trim();
    await runGit(work, ['push', '--quiet', 'origin', 'main'], env);
    const sync = await runInClone(['sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain('llms/gpu9.yaml:8:3:');

    const status = await runInClone(['status']);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(rejected.slice(0, 7));
    expect(status.stdout).toContain(served.slice(0, 7));
    expect(status.stdout).toMatch(/^ {2}llms\/gpu9\.yaml:8:3: .*colour/m);
    expect(status.stdout).toMatch(/rejected/);
    // The last good revision keeps serving: the pool is as it was.
    expect(await fetchPool()).toMatchObject({ size: 3, activeCount: 2 });

    await writeFile(path.join(work, 'llms/gpu9.yaml'), broken.filter((l) => !l.includes('colour')).join('\n'));
    await runGit(work, ['commit', '--quiet', '-am', 'Fix the typo'], env);
    const fixed = (await runGit(work, ['rev-parse', 'HEAD'], env)).trim();
    await runGit(work, ['push', '--quiet', 'origin', 'main'], env);
    const synced = await runInClone(['sync', '--wait']);
    expect(synced.code).toBe(0);
    expect(synced.stdout).toContain(fixed);
    const healthy = await runInClone(['status']);
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).not.toMatch(/gpu9\.yaml:\d+:\d+/);
    const json = JSON.parse((await runInClone(['status', '-o', 'json'])).stdout) as { revision: string; lastGoodRevision: string; history: { revision: string; result: string }[] };
    expect(json.revision).toBe(fixed);
    expect(json.lastGoodRevision).toBe(fixed);
    expect(json.history[0]?.revision).toBe(fixed);
    // The rejected attempt stays in the history, newest first, after the fix.
    expect(json.history.find((h) => h.result === 'rejected')?.revision).toBe(rejected);
    expect(json.history.findIndex((h) => h.revision === fixed && h.result === 'applied')).toBeLessThan(json.history.findIndex((h) => h.result === 'rejected'));
  });
});
