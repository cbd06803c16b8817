// `mcpctl plan` as a real process: every exit code of --detailed-exitcode (0 no change, 1 error,
// 2 Llm changes, 3 unreachable, 4 a pool below its minActive by live state from a registered
// agent), the offline plan against a Git ref, and the JSON and markdown outputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../schema/plan.js';
import {
  cloneRepo,
  closedPort,
  createScope,
  expectOneErrorLine,
  FLEET_FILES,
  POOL_YAML,
  runCli,
  startFleet,
  type CliResult,
  type TempRepo,
  NEW_LLM_YAML,
} from './support/cli-harness.js';

const scope = createScope();
let source: TempRepo;
let server: string;

beforeAll(async () => {
  ({ source, server } = await startFleet(scope));
});

afterAll(() => scope.cleanup());

function plan(repo: TempRepo, args: string[], serverUrl = server): Promise<CliResult> {
  return runCli(['--server', serverUrl, 'plan', ...args], { cwd: repo.dir });
}

/** The working tree with gpu1, the pool's only active member, drained. */
async function drainGpu1(repo: TempRepo): Promise<void> {
  const drained = POOL_YAML.replace('  model: Qwen/Qwen3-8B   # the 8B for now\n  poolName: qwen3\n', '  model: Qwen/Qwen3-8B   # the 8B for now\n  poolName: qwen3\n  enabled: false\n');
  expect(drained).not.toBe(POOL_YAML);
  await repo.write('llms/pool.yaml', drained);
}


/** Revisions differ from run to run; the golden files hold a placeholder. */
function withoutRevisions(text: string): string {
  return text.replace(/\b[0-9a-f]{40}\b/g, '<revision>').replace(/\b[0-9a-f]{7}\b/g, '<rev>');
}

describe.concurrent('mcpctl plan --detailed-exitcode', () => {
  it('exits 0 when the working tree is the served revision; live findings alone do not count', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const result = await plan(repo, ['--detailed-exitcode']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Comparing working tree with reconciler revision [0-9a-f]{7}\.$/m);
    // gpu2 is pending (declared, no agent): a live finding, not a change.
    expect(result.stdout).toMatch(/^ {2}vllm-gpu2-qwen3\s+pending: /m);
    expect(result.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
    // The LlmPool's labels are not served by /pools: the plan must not invent a change for them.
    expect(result.stdout).not.toContain('LlmPools:');
  });

  it('exits 2 when an Llm is added, and 0 for the same plan without --detailed-exitcode', async () => {
    const repo = await cloneRepo(scope, source.dir);
    await repo.write('llms/vllm-gpu3-qwen3.yaml', NEW_LLM_YAML);
    const [detailed, plain] = await Promise.all([plan(repo, ['--detailed-exitcode']), plan(repo, [])]);
    expect(detailed.code).toBe(2);
    expect(detailed.stdout).toMatch(/^ {2}\+ vllm-gpu3-qwen3 {2}\(llms\/vllm-gpu3-qwen3\.yaml:1\)$/m);
    expect(detailed.stdout).toMatch(/^ {2}~ qwen3: 2 → 3 members/m);
    expect(detailed.stdout).toContain('Plan: 1 to add, 0 to change, 0 to remove.');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe(detailed.stdout);
  });

  it('names the file and line that declared a removed LlmPool (read from the served revision in Git)', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const removed = await runCli(['--server', server, 'delete', 'pool', 'qwen3', '--no-commit'], { cwd: repo.dir });
    expect(removed.code).toBe(0);
    const result = await plan(repo, ['--detailed-exitcode']);
    // An LlmPool document is a resource like an Llm: it counts in the Plan line and the exit code.
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Plan: 0 to add, 0 to change, 1 to remove.');
    expect(result.stdout).toMatch(/^LlmPools:\n {2}- qwen3 {2}\(llms\/pool\.yaml:3\)\n {6}- metadata\.labels\.team: research {2}\(llms\/pool\.yaml:7\)\n {6}- spec\.minActive: 1 {2}\(llms\/pool\.yaml:9\)$/m);
  });

  it('exits 1 with one file:line:col line when the working tree does not load', async () => {
    const repo = await cloneRepo(scope, source.dir);
    await repo.write('llms/broken.yaml', NEW_LLM_YAML.replace('  model:', '  modle:'));
    const result = await plan(repo, ['--detailed-exitcode']);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe('mcpctl: error: llms/broken.yaml:7:3: spec.modle: unknown field "modle" (did you mean "model"?)');
    expect(result.stdout).toBe('');
  });

  it('blames a duplicate name on the file the working tree added, not the one HEAD has it in', async () => {
    const repo = await cloneRepo(scope, source.dir);
    // llms/0-dup.yaml sorts before llms/ollama-dev.yaml, which declares ollama-dev at HEAD.
    await repo.write('llms/0-dup.yaml', FLEET_FILES['llms/ollama-dev.yaml'] ?? '');
    const result = await plan(repo, []);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toMatch(/^mcpctl: error: llms\/0-dup\.yaml:\d+:\d+: metadata\.name: duplicate Llm name "ollama-dev": already declared at llms\/ollama-dev\.yaml:\d+$/);
  });

  it('exits 3 with one line when the reconciler cannot be reached', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const port = await closedPort();
    const result = await plan(repo, ['--detailed-exitcode'], `http://127.0.0.1:${port}`);
    expect(result.code).toBe(3);
    expect(expectOneErrorLine(result)).toBe(`mcpctl: error: cannot reach the reconciler at http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  // Snapshots in a concurrent test go through the test's own expect.
  it("exits 4 when draining the pool's only active member breaks its minActive", async ({ expect }) => {
    const repo = await cloneRepo(scope, source.dir);
    await drainGpu1(repo);
    const [text, markdown, plain] = await Promise.all([
      plan(repo, ['--detailed-exitcode']),
      plan(repo, ['--detailed-exitcode', '-o', 'markdown']),
      plan(repo, []),
    ]);
    expect(text.code).toBe(4);
    expect(text.stdout).toMatch(/^ {2}✗ qwen3: 0 active after the change \(1 now\), below minActive 1: vllm-gpu1-qwen3 drained \(llms\/pool\.yaml:\d+\)$/m);
    await expect(withoutRevisions(text.stdout)).toMatchFileSnapshot('../golden/cli/plan-drain-only-active.txt');
    expect(markdown.code).toBe(4);
    await expect(withoutRevisions(markdown.stdout)).toMatchFileSnapshot('../golden/cli/plan-drain-only-active.md');
    // Without --detailed-exitcode a plan that could be shown is a success.
    expect(plain.code).toBe(0);
  });
});

describe.concurrent('mcpctl plan --against REF', () => {
  it('offline (no reconciler reachable) compares with the ref and says the policy check was skipped', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const unchanged = await plan(repo, ['--against', 'HEAD', '--detailed-exitcode'], closed);
    expect(unchanged.stderr).toBe('');
    expect(unchanged.code).toBe(0);
    expect(unchanged.stdout).toMatch(/^Comparing working tree with HEAD \([0-9a-f]{7}\)\.$/m);
    expect(unchanged.stdout).toMatch(/^Policy: check skipped: .*offline plan/m);

    await drainGpu1(repo);
    await repo.write('llms/vllm-gpu3-qwen3.yaml', NEW_LLM_YAML);
    // Offline, the drain cannot be checked against live state: 2, not 4.
    const changed = await plan(repo, ['--against', 'HEAD', '--detailed-exitcode'], closed);
    expect(changed.code).toBe(2);
    expect(changed.stdout).toContain('Plan: 1 to add, 1 to change, 0 to remove.');
    expect(changed.stdout).toMatch(/^Policy: check skipped/m);
  });

  it('with the reconciler reachable, checks policy against live state', async () => {
    const repo = await cloneRepo(scope, source.dir);
    await drainGpu1(repo);
    const result = await plan(repo, ['--against', 'HEAD', '--detailed-exitcode']);
    expect(result.code).toBe(4);
    expect(result.stdout).toMatch(/✗ qwen3: 0 active after the change/);
  });

  it('a ref that does not load: with a reconciler, plans against what it serves and warns; offline, exit 1 naming file:line:col', async () => {
    const repo = await cloneRepo(scope, source.dir);
    // The base commit is broken (a typo), as a main branch that a pull request fixes would be.
    await repo.write('llms/broken.yaml', NEW_LLM_YAML.replace('vllm-gpu3-qwen3', 'broken').replace('  model:', '  modle:'));
    const broken = await repo.commitAll('a typo');
    await repo.remove('llms/broken.yaml');
    await repo.write('llms/vllm-gpu3-qwen3.yaml', NEW_LLM_YAML);

    const withReconciler = await plan(repo, ['--against', broken, '--detailed-exitcode']);
    expect(withReconciler.code).toBe(2);
    expect(withReconciler.stderr).toMatch(
      new RegExp(`^mcpctl: warning: ${broken} does not load \\(1 error, first: llms/broken\\.yaml:7:3: spec\\.modle: .*\\); planning against reconciler revision [0-9a-f]{7} instead\\n$`),
    );
    expect(withReconciler.stdout).toContain('Plan: 1 to add, 0 to change, 0 to remove.');

    const offline = await plan(repo, ['--against', broken], `http://127.0.0.1:${await closedPort()}`);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toContain(`mcpctl: error: ${broken} does not load:\nmcpctl: error: llms/broken.yaml:7:3: spec.modle: unknown field`);
  });

  it('a ref that is not a commit is exit 1 with one line', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const result = await plan(repo, ['--against', 'no-such-branch']);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe(`mcpctl: error: --against: "no-such-branch" is not a commit in ${repo.dir}`);
  });
});

describe.concurrent('mcpctl plan -o json', () => {
  it('parses, and carries the changes with their files and lines, the live findings and the policy', async () => {
    const repo = await cloneRepo(scope, source.dir);
    await drainGpu1(repo);
    const result = await plan(repo, ['-o', 'json']);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as Plan;
    expect(parsed.offline).toBe(false);
    expect(parsed.base.revision).toBe(await source.head());
    expect(parsed.summary).toEqual({ add: 0, change: 1, remove: 0 });
    expect(parsed.changes).toHaveLength(1);
    expect(parsed.changes[0]).toMatchObject({ action: 'update', name: 'vllm-gpu1-qwen3', file: 'llms/pool.yaml' });
    expect(parsed.changes[0]?.fields).toEqual([
      { path: 'spec.enabled', before: true, after: false, reason: 'declared in llms/pool.yaml:21', file: 'llms/pool.yaml', line: 21 },
    ]);
    expect(parsed.policy.violations).toEqual([expect.objectContaining({ pool: 'qwen3', activeAfter: 0, minActive: 1 })]);
  });
});
