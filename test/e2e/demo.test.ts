// Phase 5 end to end, with real processes: `mcpctl demo` (a reconciler on a Git repository and two
// agents sharing a pool, one of them also growing the legacy llama3-70b into a pool, the other also
// publishing without poolName, and a gateway), the CLI against it, a pull-request-style change
// pushed from a clone, and Ctrl-C stopping everything. Requests through the gateway are
// gateway-openai.test.ts's. Run `npx tsc -p tsconfig.json` first.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { MembersAnswer, PoolSummary } from '../../schema/views.js';
import { buildTestEnv, describeRunning, getJson, isAlive, killAll, listChildPids, runGit, runMcpctl, startMcpctl, waitFor, type Child } from './support.js';
import { stablePort } from '../support/ports.js';

const POOL = 'user-vllm-qwen3-thinking';
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the README's commands name the repository the demo printed. */
const DEMO_REPO_PLACEHOLDER = '/tmp/mcpctl-demo-XXXXXX/repo';
let tmp: string;
let demo: Child;
let url: string;
/** `http://127.0.0.1:PORT/v1`, as the demo printed it. */
let gateway: string;
let repo: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'mcpctl-e2e-demo-'));
  // The demo makes its folder under TMPDIR: pointing it here lets the test see that it is removed.
  demo = startMcpctl(['demo', '--listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0'], { cwd: tmp, env: buildTestEnv({ TMPDIR: tmp }), group: true });
  await waitFor('the demo to say it is running', () => {
    if (demo.child.exitCode !== null) throw new Error(`the demo exited with ${demo.child.exitCode}: ${demo.stderr()}`);
    return demo.stdout().includes('mcpctl demo is running.');
  }, 25_000);
  url = /reconciler:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(demo.stdout())?.[1] ?? '';
  gateway = /gateway:\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(demo.stdout())?.[1] ?? '';
  repo = /repository:\s+(\S+)/.exec(demo.stdout())?.[1] ?? '';
  // The CLI reaches the demo through the environment, as the guide it prints says.
  env = buildTestEnv({ MCPCTL_SERVER: url });
});

afterAll(async () => {
  // After a failure the demo may still run: its children go down with it, not as orphans.
  const pid = demo?.child.pid;
  if (pid !== undefined && demo.child.exitCode === null && demo.child.signalCode === null) {
    for (const child of await listChildPids(pid)) if (isAlive(child)) process.kill(child, 'SIGKILL');
  }
  await killAll();
  await rm(tmp, { recursive: true, force: true });
});

async function fetchMembers(name: string): Promise<MembersAnswer> {
  return getJson<MembersAnswer>(`${url}/api/v1/llms/${name}/members`);
}

function listPhases(answer: MembersAnswer): string[] {
  return answer.members.map((m) => `${m.metadata.name} ${m.status.kind}/${m.status.phase}`);
}

/** Runs a pasted block of shell lines as a user would, stdout and stderr together. */
function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd, env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, output: stdout + stderr }),
    );
  });
}

describe('mcpctl demo', () => {
  it('prints the real URL of a reconciler started on port 0, and its repository', () => {
    onTestFailed(() => console.log(describeRunning()));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:(?!0$)\d+$/);
    expect(demo.stdout()).toContain(`export MCPCTL_SERVER=${url}`);
    // A line to paste, whatever other demo folders exist.
    expect(demo.stdout().split('\n')).toContain(`  cd ${repo}`);
    expect(existsSync(path.join(repo, 'llms/qwen3-thinking-pool.yaml'))).toBe(true);
  });

  it('prints the real URL of its gateway started on port 0, which already routes to the pool', async () => {
    onTestFailed(() => console.log(describeRunning()));
    expect(gateway).toMatch(/^http:\/\/127\.0\.0\.1:(?!0\/)\d+\/v1$/);
    expect(demo.stderr()).toContain(`mcpctl gateway serving ${gateway} (reconciler: ${url}`);
    // The demo prints its guide only once the gateway lists the pool: no waiting here.
    const models = await getJson<{ data: { id: string }[] }>(`${gateway}/models`);
    expect(models.data.map((m) => m.id)).toContain(POOL);
    expect(demo.stdout()).toContain(`  curl -N ${gateway}/chat/completions -H 'content-type: application/json' -d '{"model":"${POOL}","stream":true,`);
  });

  it('two publishers sharing a pool name are both active members, beside the drained gpu3', async () => {
    onTestFailed(() => console.log(describeRunning()));
    // The demo prints its guide only once both agents are active: no waiting here.
    const answer = await fetchMembers('vllm-gpu1-qwen3');
    expect(answer.anchor).toBe('vllm-gpu1-qwen3');
    expect(answer.pool).toMatchObject({ key: POOL, explicit: true, size: 3, activeCount: 2 });
    expect(listPhases(answer)).toEqual(['vllm-gpu1-qwen3 managed/active', 'vllm-gpu2-qwen3 managed/active', 'vllm-gpu3-qwen3 declared/draining']);
    expect(answer.members.map((m) => m.status.agent?.id ?? '-')).toEqual(['gpu1', 'gpu2', '-']);
    // The second publisher sees the same pool from its own row.
    const second = await fetchMembers('vllm-gpu2-qwen3');
    expect(second.anchor).toBe('vllm-gpu2-qwen3');
    expect(second.pool).toEqual(answer.pool);
  });

  it('`mcpctl get llm` shows the pool on both publishers’ rows', async () => {
    const result = await runMcpctl(['get', 'llm'], { cwd: tmp, env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = result.stdout.split('\n');
    expect(rows[0]).toMatch(/^NAME\s+POOL\s+KIND\s+STATUS\s+TYPE\s+MODEL\s+AGE$/);
    for (const name of ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3']) {
      expect(rows.find((r) => r.startsWith(`${name} `))).toMatch(new RegExp(`^${name}\\s+${POOL}\\s+managed\\s+active\\s`));
    }
    // The legacy llama3-70b, its file unchanged, shows the pool its worker grew under its name.
    expect(rows.find((r) => r.startsWith('llama3-70b '))).toMatch(/^llama3-70b\s+llama3-70b\s+declared\s+pending\s+llamacpp\s/);
    expect(rows.find((r) => r.startsWith('llama3-70b-gpu2 '))).toMatch(/^llama3-70b-gpu2\s+llama3-70b\s+virtual\s+active\s+llamacpp\s/);
    // Solo Llms show `-`: one published without poolName (an older agent's), one declared and waiting.
    expect(rows.find((r) => r.startsWith('ollama-gpu1-qwen3 '))).toMatch(/^ollama-gpu1-qwen3\s+-\s+virtual\s+active\s+ollama\s/);
    expect(rows.find((r) => r.startsWith('ollama-workstation '))).toMatch(/^ollama-workstation\s+-\s+declared\s+pending\s/);
  });

  it('a worker registering with poolName llama3-70b grows the legacy solo llama3-70b into an implicit pool of 2', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const legacy = await fetchMembers('llama3-70b');
    expect(legacy.anchor).toBe('llama3-70b');
    // `explicit` describes the anchor's key: the legacy Llm sets no poolName.
    expect(legacy.pool).toEqual({ key: 'llama3-70b', explicit: false, size: 2, activeCount: 1, minActive: 0, health: 'Healthy' });
    expect(listPhases(legacy)).toEqual(['llama3-70b declared/pending', 'llama3-70b-gpu2 virtual/active']);
    expect(legacy.members.map((m) => m.status.agent?.id ?? '-')).toEqual(['-', 'gpu2']);
    expect(legacy.members[0]?.spec.poolName).toBeUndefined();
    // The worker's own answer names the same pool, explicitly.
    const worker = await fetchMembers('llama3-70b-gpu2');
    expect(worker.pool).toMatchObject({ key: 'llama3-70b', explicit: true, size: 2, activeCount: 1 });
    expect(worker.members.map((m) => m.metadata.name)).toEqual(['llama3-70b', 'llama3-70b-gpu2']);
  });

  it('a provider published without poolName stays a solo virtual Llm', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const solo = await fetchMembers('ollama-gpu1-qwen3');
    expect(solo.pool).toMatchObject({ key: 'ollama-gpu1-qwen3', explicit: false, size: 1, activeCount: 1 });
    expect(listPhases(solo)).toEqual(['ollama-gpu1-qwen3 virtual/active']);
    expect(solo.members[0]?.spec.poolName).toBeUndefined();
    expect(solo.members[0]?.status.agent?.id).toBe('gpu1');
    // describe stays compact for a solo Llm: no Pool block.
    const described = await runMcpctl(['describe', 'llm', 'ollama-gpu1-qwen3'], { cwd: tmp, env });
    expect(described.code).toBe(0);
    expect(described.stdout.split('\n')[0]).toMatch(/^Name:\s+ollama-gpu1-qwen3$/);
    expect(described.stdout).not.toMatch(/^Pool:/m);
  });

  it('`mcpctl describe llm` opens with the Pool block: both members, the anchor marked', async () => {
    const result = await runMcpctl(['describe', 'llm', 'vllm-gpu1-qwen3'], { cwd: tmp, env });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Pool:\\s+${POOL} \\(explicit\\)\\s+size 3\\s+active 2/3`));
    expect(lines[1]).toMatch(/^\s+vllm-gpu1-qwen3\s+managed\/active\s.*← this row$/);
    expect(lines[2]).toMatch(/^\s+vllm-gpu2-qwen3\s+managed\/active\s/);
    expect(lines[2]).not.toContain('this row');
    expect(lines[3]).toMatch(/^\s+vllm-gpu3-qwen3\s+declared\/draining/);
    // The stand-in serves vLLM-style /metrics: the agent's load reaches describe.
    expect(result.stdout).toMatch(/^\s+Load:\s+\d+ running, \d+ waiting, KV cache \d+%$/m);
  });

  it('`mcpctl describe llm llama3-70b` opens with the implicit Pool block: the legacy anchor and its worker', async () => {
    const result = await runMcpctl(['describe', 'llm', 'llama3-70b'], { cwd: tmp, env });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^Pool:\s+llama3-70b \(implicit\)\s+size 2\s+active 1\/2\s/);
    expect(lines[1]).toMatch(/^\s+llama3-70b\s+declared\/pending\s.*← this row$/);
    expect(lines[2]).toMatch(/^\s+llama3-70b-gpu2\s+virtual\/active\s+gpu2\s/);
    expect(lines[2]).not.toContain('this row');
    expect(result.stdout).toMatch(/^\s+Pool Name:\s+<none>$/m);
  });

  it('the commands the demo prints work as printed (all but the TUI), its pull-request flow included', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const guide = demo.stdout().split('\n');
    const block = (title: string): string[] => {
      const from = guide.indexOf(title) + 1;
      const to = guide.indexOf('', from);
      expect(from).toBeGreaterThan(0);
      return guide.slice(from, to).map((line) => line.trim());
    };
    const commands = [...block('Try, in another terminal:'), ...block('A pull-request-style change, in a clone:')].filter((c) => c !== 'mcpctl tui');
    expect(commands).toContain('mcpctl undrain llm vllm-gpu3-qwen3      # a one-line commit in the clone');
    expect(commands).toContain('mcpctl describe llm llama3-70b');
    // Run in one shell as a user would paste them; the alias line is the guide's own.
    const script = ['set -e', 'shopt -s expand_aliases', ...commands].join('\n');
    const result = await runBash(script, tmp, buildTestEnv());
    expect(result.output).toMatch(/^Pool:\s+llama3-70b \(implicit\)\s+size 2\s/m);
    expect(result.output).toMatch(/committed [0-9a-f]{7}: undrain llm vllm-gpu3-qwen3/);
    expect(result.output).toMatch(/~ spec\.enabled: false → true/);
    expect(result.output).toMatch(/synced: serving revision [0-9a-f]{40}/);
    expect(result.code).toBe(0);
    // gpu3 is enabled now and waits for its agent; the two workers still serve.
    const after = await fetchMembers('vllm-gpu1-qwen3');
    expect(after.pool).toMatchObject({ size: 3, activeCount: 2 });
    expect(listPhases(after)).toEqual(['vllm-gpu1-qwen3 managed/active', 'vllm-gpu2-qwen3 managed/active', 'vllm-gpu3-qwen3 declared/pending']);
  });

  it('a pull-request-style change in a clone: a hand edit, plan says 2, apply commits, push and sync --wait change the pool', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const clone = path.join(tmp, 'work');
    await runGit(tmp, ['clone', '--quiet', repo, clone], env);
    const poolFile = path.join(clone, 'llms/qwen3-thinking-pool.yaml');

    // 1. Edit a file by hand: a fourth worker joins the pool's file.
    const gpu4 = ['---', 'apiVersion: mcpctl/v1', 'kind: Llm', 'metadata:', '  name: vllm-gpu4-qwen3', 'spec:', '  type: vllm', '  model: Qwen/Qwen3-8B', `  poolName: ${POOL}`, ''];
    await writeFile(poolFile, `${await readFile(poolFile, 'utf8')}${gpu4.join('\n')}`);
    const edited = await runMcpctl(['plan', '--detailed-exitcode', '--repo', clone], { cwd: tmp, env });
    expect(edited.code).toBe(2);
    expect(edited.stdout).toMatch(/\+ vllm-gpu4-qwen3\s+\(llms\/qwen3-thinking-pool\.yaml:\d+\)/);
    expect(edited.stdout).toContain('Plan: 1 to add, 0 to change, 0 to remove.');
    await runGit(clone, ['commit', '--quiet', '-am', 'Add gpu4 to the Qwen3 pool'], env);

    // 2. Describe the pool anew with `apply -f` of a file from outside the repository: edited in place.
    const description = 'Qwen3 thinking workers on the lab GPUs, gpu4 included';
    const policy = path.join(tmp, 'policy.yaml');
    await writeFile(policy, ['apiVersion: mcpctl/v1', 'kind: LlmPool', 'metadata:', `  name: ${POOL}`, 'spec:', '  minActive: 1', `  description: ${description}`, ''].join('\n'));
    const applied = await runMcpctl(['apply', '-f', policy, '--yes', '--repo', clone], { cwd: tmp, env });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(new RegExp(`committed [0-9a-f]{7}: apply ${POOL}`));
    expect(await runGit(clone, ['show', '--format=', '--numstat', 'HEAD'], env)).toBe('1\t1\tllms/qwen3-thinking-pool.yaml\n');
    expect(await runGit(clone, ['status', '--porcelain'], env)).toBe('');
    const pending = await runMcpctl(['plan', '--detailed-exitcode', '--repo', clone], { cwd: tmp, env });
    expect(pending.code).toBe(2);
    expect(pending.stdout).toContain(description);
    // Nothing reaches the reconciler before the "merge".
    expect((await fetchMembers('vllm-gpu1-qwen3')).pool.size).toBe(3);

    // 3. "Merge": push to the demo repository, then make the reconciler fetch now.
    const head = (await runGit(clone, ['rev-parse', 'HEAD'], env)).trim();
    await runGit(clone, ['push', '--quiet', 'origin', 'main'], env);
    const synced = await runMcpctl(['sync', '--wait'], { cwd: tmp, env });
    expect(synced.code).toBe(0);
    expect(synced.stdout).toContain(head);

    const after = await fetchMembers('vllm-gpu1-qwen3');
    expect(after.pool).toEqual({ key: POOL, explicit: true, size: 4, activeCount: 2, minActive: 1, health: 'Healthy' });
    const pools = await getJson<{ items: PoolSummary[] }>(`${url}/api/v1/pools`);
    expect(pools.items.find((p) => p.key === POOL)?.description).toBe(description);
    expect(listPhases(after)).toEqual([
      'vllm-gpu1-qwen3 managed/active',
      'vllm-gpu2-qwen3 managed/active',
      'vllm-gpu3-qwen3 declared/pending',
      'vllm-gpu4-qwen3 declared/pending',
    ]);
    // The clone and the reconciler agree now; pending members are live findings, not changes.
    const clean = await runMcpctl(['plan', '--detailed-exitcode', '--repo', clone], { cwd: tmp, env });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
  });

  it("the README's Try-it commands work against the demo (all but the TUI)", async () => {
    onTestFailed(() => console.log(describeRunning()));
    const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    // The first block reads; the second pastes the demo's `cd` line (a placeholder) and drains.
    const blocks = (readme.split('## Try it')[1]?.split('\n## ')[0] ?? '').split('```sh\n').slice(1, 3).map((b) => b.split('```')[0] ?? '');
    const commands = blocks.join('').split('\n').filter((c) => c.trim() !== '' && c.trim() !== 'mcpctl tui');
    expect(commands.length).toBeGreaterThan(3);
    // The README's demo listens on the default port under /tmp; this one on its own port and folder.
    const script = ['set -e', 'shopt -s expand_aliases', ...commands.map((c) => c.replaceAll(DEMO_REPO_PLACEHOLDER, repo))].join('\n');
    const result = await runBash(script, PROJECT_ROOT, env);
    expect(result.output).not.toMatch(/mcpctl: error:/);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/^Pool:\s+llama3-70b \(implicit\)\s+size 2\s/m);
    // Its last line drains gpu2 in the demo repository and syncs: the pool shows it.
    expect(result.output).toMatch(new RegExp(`^${POOL}\\s+explicit\\s+4\\s+1\\s+1\\s+Healthy\\s`, 'm'));
    const after = await fetchMembers('vllm-gpu1-qwen3');
    expect(after.pool).toMatchObject({ size: 4, activeCount: 1 });
    expect(listPhases(after)[1]).toBe('vllm-gpu2-qwen3 managed/draining');
  });

  it("the README's clone block and file-first block work in a clone of the demo repository", async () => {
    onTestFailed(() => console.log(describeRunning()));
    const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const shBlocks = (section: string): string[] =>
      (readme.split(section)[1]?.split('\n## ')[0] ?? '').split('```sh\n').slice(1).map((b) => b.split('```')[0] ?? '');
    const [tryIt, , clone] = shBlocks('## Try it');
    const [fileFirst] = shBlocks('## The file-first workflow');
    const alias = (tryIt ?? '').split('\n').find((l) => l.startsWith('alias mcpctl='));
    expect(alias).toBeDefined();
    expect(clone).toContain('git clone');
    expect(fileFirst).toContain('mcpctl apply -f llms/');
    // Pasted as a user would, without set -e: plan --detailed-exitcode exits 2 by design. Every
    // line is echoed first so a failure points at its command.
    const lines = [...(clone ?? '').split('\n'), ...(fileFirst ?? '').split('\n')].filter((l) => l.trim() !== '');
    const script = ['shopt -s expand_aliases', alias ?? '', ...lines.flatMap((l) => [`echo "+ ${l.replaceAll('"', '\\"').replaceAll('$', '\\$')}"`, l.replaceAll(DEMO_REPO_PLACEHOLDER, repo)])].join('\n');
    const result = await runBash(script, PROJECT_ROOT, buildTestEnv({ MCPCTL_SERVER: url, TMPDIR: tmp }));
    expect(result.output).not.toMatch(/mcpctl: error:|fatal:/);
    // create --no-commit wrote the file; apply -f llms/ committed it, pushed, and waited until served.
    expect(result.output).toMatch(/committed [0-9a-f]{7}: /);
    const after = await fetchMembers('vllm-gpu1-qwen3');
    expect(listPhases(after)).toContain('vllm-gpu5-qwen3 declared/pending');
    expect(result.output).toMatch(/^### mcpctl plan: /m);
  });

  it('a second demo on the port the first serves says so in one line and exits 1, leaving nothing behind', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const listen = url.replace(/^http:\/\//, '');
    const before = (await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-'));
    const second = await runMcpctl(['demo', '--listen', listen], { cwd: tmp, env: buildTestEnv({ TMPDIR: tmp }) });
    expect(second.stderr).toBe(
      `mcpctl: error: ${listen} is already in use (another demo or reconciler?); stop it, or start the demo on a free port: npm start -- --listen 127.0.0.1:0\n`,
    );
    expect(second.stdout).toBe('');
    expect(second.code).toBe(1);
    expect((await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-'))).toEqual(before);
    // The first demo is untouched.
    expect((await fetchMembers('vllm-gpu1-qwen3')).pool.activeCount).toBeGreaterThan(0);
  });

  it('a second demo on the port the first one\'s gateway serves says so in one line and exits 1, leaving nothing behind', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const listen = gateway.replace(/^http:\/\//, '').replace(/\/v1$/, '');
    const before = (await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-'));
    const second = await runMcpctl(['demo', '--listen', '127.0.0.1:0', '--gateway-listen', listen], { cwd: tmp, env: buildTestEnv({ TMPDIR: tmp }) });
    expect(second.stderr).toBe(
      `mcpctl: error: ${listen} is already in use (another demo or gateway?); stop it, or start the demo on a free port: npm start -- --gateway-listen 127.0.0.1:0\n`,
    );
    expect(second.stdout).toBe('');
    expect(second.code).toBe(1);
    expect((await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-'))).toEqual(before);
    // The first demo's gateway is untouched.
    expect((await getJson<{ data: { id: string }[] }>(`${gateway}/models`)).data.map((m) => m.id)).toContain(POOL);
  });

  it('a gateway port taken after the check (here by the demo\'s own reconciler) is the same one-line error, and leaves nothing behind', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const listen = `127.0.0.1:${await stablePort()}`;
    const before = (await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-'));
    // Both checks pass (the port is free); the reconciler takes it before the gateway can.
    const third = await runMcpctl(['demo', '--listen', listen, '--gateway-listen', listen], { cwd: tmp, env: buildTestEnv({ TMPDIR: tmp }) });
    expect(third.code).toBe(1);
    expect(third.stdout).toBe('');
    expect(third.stderr).toContain(`[gateway] mcpctl: error: cannot listen on ${listen}: EADDRINUSE\n`);
    expect(third.stderr.trimEnd().split('\n').at(-1)).toBe(
      `mcpctl: error: ${listen} is already in use (another demo or gateway?); stop it, or start the demo on a free port: npm start -- --gateway-listen 127.0.0.1:0`,
    );
    expect((await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-'))).toEqual(before);
  });

  it('Ctrl-C to its process group stops the gateway, both agents, which deregister, and the reconciler, in that order, and removes the demo folder', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const pid = demo.child.pid ?? -1;
    const children = await listChildPids(pid);
    expect(children).toHaveLength(4);
    expect(children.every(isAlive)).toBe(true);
    const demoDir = path.dirname(repo);
    expect(existsSync(demoDir)).toBe(true);

    // Ctrl-C in a terminal signals the whole foreground process group, the demo's children too
    // unless they are in groups of their own; they must still deregister before they go.
    process.kill(-pid, 'SIGINT');
    const exit = await demo.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(demo.stdout()).toContain('demo stopped');
    // The demo waits for each child's exit before it exits itself: nothing may be left, not even briefly.
    expect(children.filter(isAlive)).toEqual([]);
    expect(existsSync(demoDir)).toBe(false);
    expect((await readdir(tmp)).filter((e) => e.startsWith('mcpctl-'))).toEqual([]);
    // The gateway stopped first (no new request for a member that is going), then the agents
    // deregistered from a reconciler that was still there; the reconciler went last.
    const lineOf = (pattern: RegExp): number => demo.stderr().split('\n').findIndex((line) => pattern.test(line));
    const gatewayStop = lineOf(/^\[gateway\] .*shutting down/);
    const agentStops = [lineOf(/^\[agent gpu1\] .*deregistered gpu1/), lineOf(/^\[agent gpu2\] .*deregistered gpu2/)];
    const reconcilerStop = lineOf(/^\[reconciler\] .*shutting down/);
    expect(gatewayStop).toBeGreaterThanOrEqual(0);
    for (const agentStop of agentStops) {
      expect(agentStop).toBeGreaterThan(gatewayStop);
      expect(agentStop).toBeLessThan(reconcilerStop);
    }
  });
});
