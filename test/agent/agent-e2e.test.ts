// End to end with real processes: `mcpctl reconciler --worktree` and several `mcpctl agent`s,
// each serving a real OpenAI-compatible stand-in. Run `npx tsc -p tsconfig.json` first.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import type { LlmView, MembersAnswer } from '../../schema/views.js';
import { killAllMcpctl, REPO_ROOT, startMcpctl, waitForServingUrl, type McpctlProcess } from './mcpctl-process.js';
import { replayServer } from '../support/server-fixture.js';
import { waitFor as waitForWithin } from '../support/wait-for.js';
import { stablePort } from '../support/ports.js';

// The reconciler is built by another part of the project; without it there is nothing to run against.
const reconcilerBuilt = existsSync(join(REPO_ROOT, 'dist/reconciler/app.js'));

// Short lease timings keep the file fast; the agent takes its interval from the reconciler's answer.
const HEARTBEAT = '250ms';
const TTL_MS = 1500;

const LEGACY_QWEN3 = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: qwen3\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n';

/** Process starts on a loaded 2-core box can be slow: e2e waits get more room than unit tests. */
function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  return waitForWithin(what, probe, timeoutMs);
}

let dir: string;
/** One reconciler for the scenarios that do not restart it; each scenario uses its own names and agent ids. */
let shared: Reconciler;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpctl-agent-e2e-'));
  if (reconcilerBuilt) shared = await startReconciler(startMcpctl, await makeWorktree('shared', { 'qwen3.yaml': LEGACY_QWEN3 }));
});

afterAll(async () => {
  await killAllMcpctl();
  await rm(dir, { recursive: true, force: true });
});

interface Reconciler {
  url: string;
  proc: McpctlProcess;
}

interface Provider {
  name: string;
  poolName?: string;
  /** vllm unless given. */
  type?: string;
  model: string;
  url: string;
}

/** What one scenario starts; all of it is stopped when the scenario ends, and shown when it fails. */
interface Scenario {
  standin(model: string): Promise<StandinServer>;
  startReconciler(worktree: string, extra?: string[], listen?: string): Promise<Reconciler>;
  startAgent(server: string, agentId: string, providers: Provider[]): Promise<{ proc: McpctlProcess; configFile: string }>;
}

function openScenario(context: TestContext): Scenario {
  const procs: McpctlProcess[] = [];
  const standins: StandinServer[] = [];
  const start = (args: string[]): McpctlProcess => {
    const proc = startMcpctl(args);
    procs.push(proc);
    return proc;
  };
  context.onTestFailed(() => {
    // A failed scenario is hard to read without what its processes said.
    for (const proc of procs) console.log(`--- mcpctl ${proc.args.join(' ')}\n${proc.output()}`);
  });
  context.onTestFinished(async () => {
    for (const proc of procs) proc.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    for (const server of standins) await server.close();
  });
  return {
    async standin(model) {
      const server = await startStandinServer({ model });
      standins.push(server);
      return server;
    },
    startReconciler: (worktree, extra = [], listen = '127.0.0.1:0') => startReconciler(start, worktree, extra, listen),
    async startAgent(server, agentId, providers) {
      const configFile = join(dir, `${agentId}.yaml`);
      await writeFile(configFile, agentConfigText(server, agentId, providers));
      return { proc: start(['agent', '--config', configFile]), configFile };
    },
  };
}

async function startReconciler(start: (args: string[]) => McpctlProcess, worktree: string, extra: string[] = [], listen = '127.0.0.1:0'): Promise<Reconciler> {
  const proc = start(['reconciler', '--worktree', worktree, '--listen', listen, '--heartbeat-interval', HEARTBEAT, '--ttl', `${TTL_MS}ms`, ...extra]);
  return { url: await waitForServingUrl(proc), proc };
}

async function makeWorktree(name: string, files: Record<string, string>): Promise<string> {
  const worktree = join(dir, name);
  await mkdir(join(worktree, 'llms'), { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(worktree, 'llms', file), text);
  return worktree;
}

function agentConfigText(server: string, agentId: string, providers: Provider[]): string {
  const entries = providers
    .map((p) => `  - name: ${p.name}\n${p.poolName === undefined ? '' : `    poolName: ${p.poolName}\n`}    type: ${p.type ?? 'vllm'}\n    model: ${p.model}\n    url: ${p.url}\n`)
    .join('');
  return `server: ${server}\nagentId: ${agentId}\nproviders:\n${entries}`;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

async function members(server: string, name: string): Promise<MembersAnswer | undefined> {
  const { status, body } = await getJson<MembersAnswer>(`${server}/api/v1/llms/${name}/members`);
  return status === 200 ? body : undefined;
}

async function llm(server: string, name: string): Promise<LlmView | undefined> {
  const { status, body } = await getJson<LlmView>(`${server}/api/v1/llms/${name}`);
  return status === 200 ? body : undefined;
}

async function phaseOf(server: string, name: string): Promise<string | undefined> {
  return (await llm(server, name))?.status.phase;
}

function phases(answer: MembersAnswer): Record<string, string> {
  return Object.fromEntries(answer.members.map((m) => [m.metadata.name, m.status.phase]));
}

describe('mcpctl agent with a bad config', () => {
  it('exits 1 with one error line per problem, each with file:line:col', async () => {
    const configFile = join(dir, 'broken.yaml');
    await writeFile(configFile, 'server: nowhere\nagentId: Gpu1\n');
    const proc = startMcpctl(['agent', '--config', configFile]);
    expect(await proc.exited).toEqual({ code: 1, signal: null });
    const lines = proc.output().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`mcpctl: error: ${configFile}:1:9: server: expected an http(s) URL, found "nowhere"`);
    expect(lines[1]?.startsWith(`mcpctl: error: ${configFile}:2:10: agentId: `)).toBe(true);
  });
});

// The scenarios run concurrently (each with its own names) so that process start-up overlaps.
describe.skipIf(!reconcilerBuilt).concurrent('mcpctl agent against a real reconciler', () => {
  it('two agents with unique names and one poolName form one pool; kill -9 goes stale, SIGTERM leaves at once', async (context) => {
    const { expect } = context;
    const scenario = openScenario(context);
    const reconciler = shared;
    const gpu1 = await scenario.standin('Qwen/Qwen3-8B');
    const gpu2 = await scenario.standin('Qwen/Qwen3-8B');
    const a = await scenario.startAgent(reconciler.url, 'gpu1', [{ name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking', model: 'Qwen/Qwen3-8B', url: gpu1.url }]);
    const b = await scenario.startAgent(reconciler.url, 'gpu2', [{ name: 'vllm-gpu2-qwen3', poolName: 'user-vllm-qwen3-thinking', model: 'Qwen/Qwen3-8B', url: gpu2.url }]);

    const pool = await waitFor('both workers active in one pool', async () => {
      const answer = await members(reconciler.url, 'vllm-gpu1-qwen3');
      return answer?.pool.activeCount === 2 ? answer : undefined;
    });
    expect(pool.pool).toMatchObject({ key: 'user-vllm-qwen3-thinking', explicit: true, size: 2, activeCount: 2 });
    expect(phases(pool)).toEqual({ 'vllm-gpu1-qwen3': 'active', 'vllm-gpu2-qwen3': 'active' });
    const fromOther = await members(reconciler.url, 'vllm-gpu2-qwen3');
    expect(fromOther?.pool).toMatchObject({ key: 'user-vllm-qwen3-thinking', explicit: true, size: 2, activeCount: 2 });
    expect(fromOther?.members.map((m) => m.status.kind)).toEqual(['virtual', 'virtual']);

    // kill -9: no goodbye, so the lease runs out and the name goes stale within the TTL.
    b.proc.kill('SIGKILL');
    await b.proc.exited;
    await waitFor('the killed worker to go stale', async () => (await phaseOf(reconciler.url, 'vllm-gpu2-qwen3')) === 'stale');
    expect((await members(reconciler.url, 'vllm-gpu1-qwen3'))?.pool).toMatchObject({ size: 2, activeCount: 1 });

    // SIGTERM: the agent deregisters before it exits, so its name is gone the moment it has exited.
    a.proc.kill('SIGTERM');
    expect(await a.proc.exited).toEqual({ code: 0, signal: null });
    expect(await llm(reconciler.url, 'vllm-gpu1-qwen3')).toBeUndefined();
    expect(a.proc.output()).toMatch(/agent: deregistered gpu1 from http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it('a worker joining a legacy solo Llm by its name grows that Llm implicit pool', async (context) => {
    const { expect } = context;
    const scenario = openScenario(context);
    const legacy = await scenario.standin('Qwen/Qwen3-8B');
    const worker = await scenario.standin('Qwen/Qwen3-8B');
    // llms/qwen3.yaml in the shared worktree declares the legacy Llm.
    const reconciler = shared;
    // The legacy host runs an agent entry without poolName: a solo Llm, exactly as before pools.
    await scenario.startAgent(reconciler.url, 'gpu3', [{ name: 'qwen3', model: 'Qwen/Qwen3-8B', url: legacy.url }]);
    await waitFor('the legacy Llm to be active and solo', async () => {
      const answer = await members(reconciler.url, 'qwen3');
      return answer?.pool.activeCount === 1 && answer.pool.size === 1;
    });
    await scenario.startAgent(reconciler.url, 'gpu4', [{ name: 'vllm-gpu4-qwen3', poolName: 'qwen3', model: 'Qwen/Qwen3-8B', url: worker.url }]);

    const anchor = await waitFor('the legacy pool to grow', async () => {
      const answer = await members(reconciler.url, 'qwen3');
      return answer?.pool.activeCount === 2 ? answer : undefined;
    });
    expect(anchor.pool).toMatchObject({ key: 'qwen3', explicit: false, size: 2, activeCount: 2 });
    expect(anchor.members.map((m) => [m.metadata.name, m.status.kind, m.status.phase])).toEqual([
      ['qwen3', 'managed', 'active'],
      ['vllm-gpu4-qwen3', 'virtual', 'active'],
    ]);
    expect((await members(reconciler.url, 'vllm-gpu4-qwen3'))?.pool).toMatchObject({ key: 'qwen3', explicit: true, size: 2 });
    // The legacy entry published no poolName, so the declared spec has none either: no drift.
    expect((await llm(reconciler.url, 'qwen3'))?.status.drift).toEqual([]);
  });

  it('a model server that stops answering turns its member unhealthy, and active again when it answers', async (context) => {
    const { expect } = context;
    const scenario = openScenario(context);
    const reconciler = shared;
    const server = await scenario.standin('Qwen/Qwen3-8B');
    await scenario.startAgent(reconciler.url, 'gpu5', [{ name: 'vllm-gpu5-qwen3', poolName: 'p5', model: 'Qwen/Qwen3-8B', url: server.url }]);
    await waitFor('the member to be active', async () => (await phaseOf(reconciler.url, 'vllm-gpu5-qwen3')) === 'active');

    server.setFailing(true);
    const failing = await waitFor('the member to be unhealthy', async () => {
      const view = await llm(reconciler.url, 'vllm-gpu5-qwen3');
      return view?.status.phase === 'unhealthy' ? view : undefined;
    });
    expect(failing.status.reason).toContain('HTTP 503');

    server.setFailing(false);
    await waitFor('the member to be active again', async () => (await phaseOf(reconciler.url, 'vllm-gpu5-qwen3')) === 'active');
  });

  it('describe llm of a llama.cpp member still loading its model says unhealthy with the server\'s words', async (context) => {
    const { expect } = context;
    const scenario = openScenario(context);
    const reconciler = shared;
    const loading = await replayServer('llamacpp-loading');
    context.onTestFinished(() => loading.close());
    await scenario.startAgent(reconciler.url, 'gpu9', [{ name: 'llamacpp-gpu9-qwen3', poolName: 'p9', type: 'llamacpp', model: 'qwen3-8b', url: `${loading.origin}/v1` }]);
    await waitFor('the member to be unhealthy', async () => (await phaseOf(reconciler.url, 'llamacpp-gpu9-qwen3')) === 'unhealthy');
    const describe = startMcpctl(['--server', reconciler.url, 'describe', 'llm', 'llamacpp-gpu9-qwen3']);
    expect((await describe.exited).code).toBe(0);
    expect(describe.output()).toMatch(/^ {2}Phase:\s+unhealthy$/m);
    expect(describe.output()).toMatch(/^\s+unhealthy: endpoint failing: HTTP 503: Loading model$/m);
  });

  it('an Ollama member declared without a tag is active: Ollama lists it as :latest', async (context) => {
    const scenario = openScenario(context);
    const ollama = await replayServer('ollama');
    context.onTestFinished(() => ollama.close());
    await scenario.startAgent(shared.url, 'gpu10', [{ name: 'ollama-gpu10-llama', type: 'ollama', model: 'llama3.2', url: `${ollama.origin}/v1` }]);
    await waitFor('the member to be active', async () => (await phaseOf(shared.url, 'ollama-gpu10-llama')) === 'active');
  });

  it('a config edit adding a provider publishes it without a restart', async (context) => {
    const { expect } = context;
    const scenario = openScenario(context);
    const reconciler = shared;
    const server = await scenario.standin('Qwen/Qwen3-8B');
    const first: Provider = { name: 'vllm-gpu6-a', poolName: 'p6', model: 'Qwen/Qwen3-8B', url: server.url };
    const { proc, configFile } = await scenario.startAgent(reconciler.url, 'gpu6', [first]);
    await waitFor('the first provider to be active', async () => (await phaseOf(reconciler.url, 'vllm-gpu6-a')) === 'active');
    await waitFor('the agent to watch its config', () => proc.output().includes('agent gpu6 started'));

    await writeFile(configFile, agentConfigText(reconciler.url, 'gpu6', [first, { ...first, name: 'vllm-gpu6-b' }]));
    const pool = await waitFor('both providers in the pool', async () => {
      const answer = await members(reconciler.url, 'vllm-gpu6-a');
      return answer?.pool.activeCount === 2 ? answer : undefined;
    });
    expect(pool.members.map((m) => m.metadata.name)).toEqual(['vllm-gpu6-a', 'vllm-gpu6-b']);
    expect(proc.child.exitCode).toBeNull();
    expect(proc.output()).toContain('config reloaded: + vllm-gpu6-b');
  });

  it('a rejected name is published once the obstacle is gone: declared by a later revision, or its holder gone', async (context) => {
    const { expect } = context;
    const scenario = openScenario(context);
    const worktree = await makeWorktree('rejected', { 'first.yaml': 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: first\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n' });
    const reconciler = await scenario.startReconciler(worktree, ['--unmanaged', 'reject']);
    const server = await scenario.standin('Qwen/Qwen3-8B');
    const provider = (name: string): Provider => ({ name, model: 'Qwen/Qwen3-8B', url: server.url });

    // late-one is not declared yet: rejected, and said once.
    const { proc } = await scenario.startAgent(reconciler.url, 'gpu8', [provider('first'), provider('late-one')]);
    await waitFor('the rejection in the agent log', () => proc.output().includes('reconciler: rejected late-one: not declared in revision'));
    // The registration line follows the answer's lines; it may come in a later chunk.
    await waitFor('the registration line to mark it', () => proc.output().includes('late-one (rejected)'));
    await writeFile(join(worktree, 'llms/late.yaml'), 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: late-one\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n');
    const late = await waitFor('late-one to be served by gpu8', async () => {
      const view = await llm(reconciler.url, 'late-one');
      return view?.status.phase === 'active' ? view : undefined;
    });
    expect(late.status.agent?.id).toBe('gpu8');
    expect(proc.output().match(/rejected late-one/g)).toHaveLength(1);

    // A second agent wants `first` while gpu8 holds it: rejected until gpu8 is gone (kill -9, stale).
    const second = await scenario.startAgent(reconciler.url, 'gpu9', [provider('first')]);
    await waitFor('the takeover refusal', () => second.proc.output().includes('reconciler: rejected first: held by agent gpu8'));
    proc.kill('SIGKILL');
    await waitFor('first to move to gpu9 once gpu8 is stale', async () => {
      const view = await llm(reconciler.url, 'first');
      return view?.status.agent?.id === 'gpu9' && view.status.phase === 'active' ? view : undefined;
    });
    expect(second.proc.output().match(/rejected first/g)).toHaveLength(1);
  });

  it('agents carry on when the reconciler restarts with --state-dir', async (context) => {
    const { expect } = context;
    const scenario = openScenario(context);
    const worktree = await makeWorktree('restart', {});
    const stateDir = join(dir, 'state');
    const port = await stablePort();
    const listen = `127.0.0.1:${port}`;
    let reconciler = await scenario.startReconciler(worktree, ['--state-dir', stateDir], listen);
    const server = await scenario.standin('Qwen/Qwen3-8B');
    const agent = await scenario.startAgent(reconciler.url, 'gpu7', [{ name: 'vllm-gpu7-qwen3', poolName: 'p7', model: 'Qwen/Qwen3-8B', url: server.url }]);
    await waitFor('the member to be active', async () => (await phaseOf(reconciler.url, 'vllm-gpu7-qwen3')) === 'active');

    reconciler.proc.kill('SIGTERM');
    await reconciler.proc.exited;
    reconciler = await scenario.startReconciler(worktree, ['--state-dir', stateDir], listen);
    // Restored from the state dir, then fresh again with the agent's next heartbeat under the same lease.
    await waitFor('the member to be active after the restart', async () => (await phaseOf(reconciler.url, 'vllm-gpu7-qwen3')) === 'active');
    expect(agent.proc.child.exitCode).toBeNull();
    expect(agent.proc.output()).not.toContain('LeaseNotFound');
  });
});
