// `mcpctl reconciler` as a real child process (node dist/cli/bin.js; run tsc first): the ready
// line with the real port, a kill -9 right after an acknowledged registration loses nothing,
// SIGTERM shuts down cleanly, and options that would be unsafe or wrong stop it with one line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { ReconcilerStartError, runReconcilerCommand, type ReconcilerOptions } from '../../reconciler/main.js';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import type { LlmView } from '../../schema/views.js';
import { sha256Hex } from '../../service/auth.js';
import { waitFor } from '../support/wait-for.js';
import { entry, FLEET_FILES, registration } from './support/harness.js';

const BIN = join(import.meta.dirname, '../../dist/cli/bin.js');

/** A test's own temp folders and child processes, cleaned up when it finishes (tests run concurrently). */
interface Scope {
  tempDir(prefix: string): Promise<string>;
  run(args: string[]): Running;
}

function scopeOf(context: TestContext): Scope {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  context.onTestFinished(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  return {
    async tempDir(prefix) {
      const dir = await mkdtemp(join(tmpdir(), `mcpctl-${prefix}-`));
      dirs.push(dir);
      return dir;
    },
    run(args) {
      const child = spawn(process.execPath, [BIN, 'reconciler', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.stdout?.resume();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, stderr: () => stderr, exited };
    },
  };
}

async function worktree(scope: Scope): Promise<string> {
  const dir = await scope.tempDir('worktree');
  await mkdir(join(dir, 'llms'));
  for (const [path, text] of Object.entries(FLEET_FILES)) await writeFile(join(dir, path), text);
  return dir;
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts the reconciler, waits for the ready line and returns the URL it names. */
async function start(scope: Scope, args: string[]): Promise<Running & { url: string; readyLine: string }> {
  const running = scope.run(args);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const line = running.stderr().split('\n').find((l) => l.includes('mcpctl reconciler serving '));
    if (line !== undefined) {
      const url = /serving (http:\/\/\S+)/.exec(line)?.[1];
      if (url === undefined) throw new Error(`no URL in ${line}`);
      return { ...running, url, readyLine: line };
    }
    if (running.child.exitCode !== null || Date.now() > deadline) throw new Error(`the reconciler did not get ready:\n${running.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: response.status, body: await response.json() };
}

async function view(url: string, name: string): Promise<LlmView> {
  const response = await fetch(`${url}/api/v1/llms/${name}`);
  expect(response.status).toBe(200);
  return (await response.json()) as LlmView;
}

describe.concurrent('mcpctl reconciler as a process', () => {
  it('logs one line when ready with the real port, serves, and on SIGTERM persists and exits 0', async (context) => {
    const scope = scopeOf(context);
    const dir = await worktree(scope);
    const state = await scope.tempDir('state');
    const r = await start(scope, ['--worktree', dir, '--state-dir', state, '--listen', '127.0.0.1:0']);
    context.expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    context.expect(r.url).not.toBe('http://127.0.0.1:0');
    const message = (JSON.parse(r.readyLine) as { msg: string }).msg;
    context.expect(message).toMatch(new RegExp(`^mcpctl reconciler serving ${r.url} \\(source: worktree ${dir}:llms, revision worktree-[0-9a-f]+\\)$`));
    // Logged right after the ready line, which may have been read alone.
    await waitFor('the no --auth warning', () => r.stderr().includes('no --auth: serving on loopback only, without tokens'));
    context.expect((await fetch(`${r.url}/readyz`)).status).toBe(200);

    context.expect((await post(`${r.url}/api/v1/agents/register`, registration('gpu1', [entry('worker-a')]))).status).toBe(200);
    r.child.kill('SIGTERM');
    context.expect(await r.exited).toBe(0);
    const file = JSON.parse(await readFile(join(state, 'leases.json'), 'utf8')) as { agents: { agentId: string }[] };
    context.expect(file.agents.map((x) => x.agentId)).toEqual(['gpu1']);
  });

  it('a kill -9 right after a 200 registration loses nothing; restored entries are stale until the next heartbeat', async (context) => {
    const scope = scopeOf(context);
    const dir = await worktree(scope);
    const state = await scope.tempDir('state');
    const args = ['--worktree', dir, '--state-dir', state, '--listen', '127.0.0.1:0'];
    const first = await start(scope, args);
    const a = await post(`${first.url}/api/v1/agents/register`, registration('gpu1', [entry('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking' })]));
    const b = await post(`${first.url}/api/v1/agents/register`, registration('gpu9', [entry('qwen3-worker-a', { poolName: 'qwen3' })]));
    context.expect([a.status, b.status]).toEqual([200, 200]);
    first.child.kill('SIGKILL');
    context.expect(await first.exited).toBeNull();

    const second = await start(scope, args);
    const restored = await view(second.url, 'qwen3-worker-a');
    context.expect(restored.status).toMatchObject({ kind: 'virtual', phase: 'stale', agent: { id: 'gpu9' } });
    context.expect(restored.status.reason).toMatch(/^restored after a reconciler restart, no heartbeat since/);
    context.expect((await view(second.url, 'vllm-gpu1-qwen3')).status).toMatchObject({ kind: 'managed', phase: 'stale' });

    const { leaseId } = a.body as RegistrationAnswer;
    context.expect((await post(`${second.url}/api/v1/agents/gpu1/heartbeat`, { leaseId, llms: [] })).status).toBe(200);
    context.expect((await view(second.url, 'vllm-gpu1-qwen3')).status.phase).toBe('active');
    context.expect((await view(second.url, 'qwen3-worker-a')).status.phase).toBe('stale');
  });

  it('refuses to listen beyond loopback without --auth: exit 1, one clear line', async (context) => {
    const scope = scopeOf(context);
    const dir = await worktree(scope);
    const r = scope.run(['--worktree', dir, '--listen', '0.0.0.0:0']);
    context.expect(await r.exited).toBe(1);
    context.expect(r.stderr()).toBe(
      'mcpctl: error: refusing to listen on 0.0.0.0:0 without --auth: only loopback addresses (127.0.0.1, ::1, localhost) may serve without tokens\n',
    );
  });

  it('with --auth it serves beyond loopback and wants a token', async (context) => {
    const scope = scopeOf(context);
    const dir = await worktree(scope);
    const auth = join(await scope.tempDir('auth'), 'auth.yaml');
    await writeFile(auth, `tokens:\n  - name: viewer\n    sha256: ${sha256Hex('s3cret')}\n    roles: [view:llms]\n`);
    const r = await start(scope, ['--worktree', dir, '--auth', auth, '--listen', '0.0.0.0:0']);
    const port = new URL(r.url).port;
    context.expect((await fetch(`http://127.0.0.1:${port}/api/v1/llms`)).status).toBe(401);
    context.expect((await fetch(`http://127.0.0.1:${port}/api/v1/llms`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    context.expect(r.stderr()).not.toContain('no --auth');
  });
});

const DEFAULTS: ReconcilerOptions = {
  branch: 'main',
  path: 'llms',
  listen: '127.0.0.1:7420',
  poll: '30s',
  heartbeatInterval: '10s',
  ttl: '30s',
  gc: '10m',
  unmanaged: 'admit',
};

describe('options that stop the reconciler before it starts', () => {
  it.each<[Partial<ReconcilerOptions>, string]>([
    [{}, 'give exactly one of --source GIT_URL|REPO_PATH or --worktree DIR'],
    [{ worktree: '.', source: '.' }, 'give exactly one of --source GIT_URL|REPO_PATH or --worktree DIR'],
    [{ worktree: '.', ttl: 'soon' }, '--ttl: expected a duration like 30s, 500ms, 10m or 1h, found "soon"'],
    [{ worktree: '.', ttl: '5s' }, '--ttl (5s) must be longer than --heartbeat-interval (10s), or every agent turns stale between beats'],
    [{ worktree: '.', gc: '10s' }, '--gc (10s) must not be shorter than --ttl (30s)'],
    [{ worktree: '.', listen: 'nowhere' }, '--listen: expected host:port such as 127.0.0.1:7420 or [::1]:7420, found "nowhere"'],
    [{ worktree: '.', listen: '127.0.0.1:99999' }, '--listen: expected host:port such as 127.0.0.1:7420 or [::1]:7420, found "127.0.0.1:99999"'],
    [{ worktree: '.', unmanaged: 'maybe' }, '--unmanaged: expected admit or reject, found "maybe"'],
    [{ worktree: '/no/such/folder' }, '--worktree: /no/such/folder is not a folder'],
    [{ worktree: '.', store: 'redis://127.0.0.1:6379' }, '--store: expected file or etcd://HOST:PORT[,HOST:PORT…], found "redis://127.0.0.1:6379"'],
    [{ worktree: '.', store: 'etcd://127.0.0.1:2379,' }, '--store: expected file or etcd://HOST:PORT[,HOST:PORT…], found "etcd://127.0.0.1:2379,"'],
    [{ worktree: '.', store: 'etcd://127.0.0.1:2379', storePrefix: 'mcpctl' }, '--store-prefix: expected a key prefix that starts and ends with /, such as /mcpctl/, found "mcpctl"'],
    [{ worktree: '.', storePrefix: '/x/' }, '--store-prefix needs --store etcd://HOST:PORT'],
    [{ worktree: '.', etcdCa: 'ca.pem' }, '--etcd-ca, --etcd-cert and --etcd-key need --store etcd://HOST:PORT'],
    [{ worktree: '.', store: 'etcd://127.0.0.1:2379', etcdCa: 'ca.pem', etcdCert: 'c.pem' }, '--etcd-cert and --etcd-key go together (a client certificate and its key)'],
    [{ worktree: '.', store: 'etcd://127.0.0.1:2379', etcdCert: 'c.pem', etcdKey: 'k.pem' }, '--etcd-cert needs --etcd-ca (the CA that signed the etcd server certificate)'],
    [{ worktree: '.', store: 'etcd://127.0.0.1:2379', etcdCa: '/no/such/ca.pem' }, '--etcd-ca: cannot read /no/such/ca.pem (ENOENT)'],
    [{ worktree: '.', listen: '10.0.0.5:7420' }, 'refusing to listen on 10.0.0.5:7420 without --auth: only loopback addresses (127.0.0.1, ::1, localhost) may serve without tokens'],
  ])('%o: %s', async (options, message) => {
    const error = await runReconcilerCommand({ ...DEFAULTS, ...options }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReconcilerStartError);
    expect((error as ReconcilerStartError).message).toBe(message);
  });

  it('an --auth file with errors stops it with file:line:col', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpctl-auth-'));
    try {
      const auth = join(dir, 'auth.yaml');
      await writeFile(auth, 'tokens:\n  - name: x\n    sha256: nothex\n    roles: [view:llms]\n');
      const error = await runReconcilerCommand({ ...DEFAULTS, worktree: '.', auth }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReconcilerStartError);
      expect((error as ReconcilerStartError).message).toBe(`--auth: ${auth}:3:13: tokens.0.sha256: expected 64 hex digits (SHA-256 of the token)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
