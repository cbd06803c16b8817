// The TUI's real data source against a real reconciler process following a real Git repository:
// list, watch (a worker registering shows up as an event), plan the working tree, and apply it
// through every step until the reconciler serves the commit.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { afterEach, describe, expect, test } from 'vitest';
import { ReconcilerClient } from '../../client/reconciler-client.js';
import type { WatchEvent } from '../../client/watch-stream.js';
import type { CommandContext } from '../../cli/context.js';
import type { StepProgress } from '../../cli/tui/data-source.js';
import { createReconcilerSource } from '../../cli/tui/reconciler-source.js';

const ROOT = resolve(import.meta.dirname, '../..');
const POOL_YAML = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu1-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu2-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
`;
const GPU3_YAML = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu3-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
`;

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mcpctl-tui-source-${prefix}-`));
  dirs.push(dir);
  return dir;
}

async function until<T>(what: string, probe: () => T | null | undefined | Promise<T | null | undefined>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A repository on main with `files` as its first commit. */
async function createRepo(files: Record<string, string>, message: string): Promise<{ dir: string; git: SimpleGit }> {
  const dir = await tempDir('repo');
  const git = simpleGit(dir);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'mcpctl test');
  await git.addConfig('user.email', 'test@mcpctl.invalid');
  await git.addConfig('commit.gpgsign', 'false');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  await git.add('.');
  await git.commit(message);
  return { dir, git };
}

/** A reconciler process following `repo`; resolves to its URL. */
async function startReconciler(repo: string): Promise<string> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/bin.js'), 'reconciler', '--source', repo, '--poll', '1h', '--listen', '127.0.0.1:0', '--state-dir', await tempDir('state')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return until('the reconciler to serve', () => /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]);
}

function contextFor(server: string, repo: string): CommandContext {
  return {
    global: { server, token: undefined, gateways: [], repo, path: 'llms', debug: false },
    out: () => {},
    err: () => {},
    color: false,
    now: () => Date.now(),
    client: () => new ReconcilerClient({ server }),
    gateways: () => [],
    readStdin: async () => '',
    interactive: false,
    confirm: async () => false,
  };
}

describe('createReconcilerSource against a real reconciler', () => {
  test('lists, watches a worker register, plans the working tree and applies it until it is served', async () => {
    const { dir: repo, git } = await createRepo({ 'llms/pool.yaml': POOL_YAML }, 'two workers');
    const server = await startReconciler(repo);

    const source = createReconcilerSource(contextFor(server, repo));
    const snapshot = await source.list();
    expect(snapshot.llms.map((v) => `${v.metadata.name} ${v.status.kind}/${v.status.phase}`)).toEqual(['vllm-gpu1-qwen3 declared/pending', 'vllm-gpu2-qwen3 declared/pending']);
    expect(snapshot.status.errors).toEqual([]);

    const events: WatchEvent[] = [];
    const watching = new AbortController();
    const watched = source.watch((e) => events.push(e), watching.signal);
    await until('the initial ADDED events', () => (events.length >= 2 ? true : null));
    const register = await fetch(`${server}/api/v1/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        agentId: 'gpu1',
        host: 'gpu1.lan',
        version: 'test',
        llms: [{ name: 'vllm-gpu1-qwen3', poolName: 'qwen3', type: 'vllm', model: 'Qwen/Qwen3-8B', url: 'http://gpu1.lan:8000/v1', health: 'ok' }],
        gpus: [],
      }),
    });
    expect(register.status).toBe(200);
    const joined = await until('the worker to show up', () =>
      events.find((e) => e.type === 'MODIFIED' && e.view.metadata.name === 'vllm-gpu1-qwen3' && e.view.status.phase === 'active'),
    );
    expect(joined.type === 'MODIFIED' && joined.view.status.kind).toBe('managed');

    await writeFile(join(repo, 'llms/gpu3.yaml'), GPU3_YAML);
    const planned = await source.plan();
    expect(planned.plan.summary).toEqual({ add: 1, change: 0, remove: 0 });
    expect(planned.diffs.map((d) => `${d.action} ${d.name}`)).toEqual(['create vllm-gpu3-qwen3']);
    expect(planned.plan.pools).toEqual([
      { key: 'qwen3', sizeBefore: 2, sizeAfter: 3, added: ['vllm-gpu3-qwen3'], removed: [], reason: 'vllm-gpu3-qwen3 added (llms/gpu3.yaml:1)', file: 'llms/gpu3.yaml', line: 1 },
    ]);

    const steps: StepProgress[] = [];
    const outcome = await source.apply(planned, (s) => steps.push(s));
    expect(outcome).toEqual({ ok: true, message: 'Applied: Plan: 1 to add, 0 to change, 0 to remove.' });
    const head = (await git.revparse(['HEAD'])).trim();
    expect(steps.filter((s) => s.state !== 'running').map((s) => `${s.step}:${s.state}`)).toEqual(['write:done', 'commit:done', 'push:skipped', 'sync:done', 'converged:done']);
    expect((await git.log({ maxCount: 1 })).latest?.message).toBe('apply vllm-gpu3-qwen3');
    const status = await new ReconcilerClient({ server }).status();
    expect(status.lastGoodRevision).toBe(head);
    await until('the new Llm as a watch event', () => events.find((e) => e.type === 'ADDED' && e.view.metadata.name === 'vllm-gpu3-qwen3'));
    expect((await source.plan()).plan.empty).toBe(true);

    watching.abort();
    await watched;
  });

  test('plans nothing for a repository without llms/ or not the followed one, and apply refuses it too', async () => {
    const { dir: followed } = await createRepo({ 'llms/pool.yaml': POOL_YAML }, 'two workers');
    const server = await startReconciler(followed);

    const { dir: bare } = await createRepo({ 'README.md': '# some project\n' }, 'a project');
    await expect(createReconcilerSource(contextFor(server, bare)).plan()).rejects.toThrow(`${bare} has no llms/ folder`);

    const { dir: other, git } = await createRepo({ 'llms/pool.yaml': POOL_YAML, 'README.md': '# another fleet\n' }, 'another fleet');
    await expect(createReconcilerSource(contextFor(server, other)).plan()).rejects.toThrow(
      /^this repository \(.*\) is not the one the reconciler at .* follows \(.*\); start mcpctl tui --force to plan and apply anyway$/,
    );
    await writeFile(join(other, 'llms/gpu3.yaml'), GPU3_YAML);
    const forced = await createReconcilerSource(contextFor(server, other), { force: true }).plan();
    expect(forced.plan.summary).toEqual({ add: 1, change: 0, remove: 0 });
    // Its apply plans again first: without --force that refuses, before anything is written.
    const head = (await git.revparse(['HEAD'])).trim();
    const outcome = await createReconcilerSource(contextFor(server, other)).apply(forced, () => {});
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(/^Apply stopped at write: this repository .* is not the one the reconciler/);
    expect((await git.revparse(['HEAD'])).trim()).toBe(head);
  });
});
