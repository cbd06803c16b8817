// `mcpctl apply -f` of the repository's own llms/ files, already edited in the working tree (the
// README's `apply -f llms/ --yes --push --wait`): the plan is HEAD against those files, the commit
// takes exactly the ones that differ, then push and wait. Also -f of things that are not regular
// files (/dev/null, a process substitution) and the wording of a policy check skipped offline.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bareCloneOf,
  BIN,
  childEnv,
  cloneRepo,
  closedPort,
  createScope,
  expectOneErrorLine,
  linesOf,
  OLLAMA_YAML,
  runCli,
  startFleet,
  startReconciler,
  type CliResult,
  type TempRepo,
} from './support/cli-harness.js';

const scope = createScope();
let source: TempRepo;
let server: string;

beforeAll(async () => {
  ({ source, server } = await startFleet(scope));
});

afterAll(() => scope.cleanup());

/** mcpctl run from inside the clone, so that `-f llms/` is the repo's own folder. */
function mcpctlIn(repo: TempRepo, args: string[], serverUrl = server): Promise<CliResult> {
  return runCli(['--server', serverUrl, ...args], { cwd: repo.dir });
}

const GPU4_YAML = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu4-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
`;

async function nameStatus(repo: TempRepo): Promise<string> {
  return (await repo.git.raw(['show', '--name-status', '--format=', 'HEAD'])).trim();
}

/** The plan's body: everything after its `Comparing … with …` line (the labels differ by design). */
function planBody(stdout: string): string[] {
  const lines = linesOf(stdout);
  const start = lines.findIndex((l) => l.startsWith('Comparing '));
  const end = lines.findIndex((l) => l.startsWith('Plan: '));
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return lines.slice(start + 1, end + 1);
}

describe.concurrent('apply -f of the repo’s own llms/ files', () => {
  it('commits an edit already in the working tree, with the plan that `mcpctl plan` shows', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const head = await repo.head();
    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'));
    const plan = await mcpctlIn(repo, ['plan']);
    expect(plan.code).toBe(0);
    const result = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('No changes');
    expect(result.stdout).toMatch(/^Comparing the files after this change with HEAD \([0-9a-f]{7}\)\.$/m);
    expect(result.stdout).toMatch(/~ spec\.model: qwen3:8b → qwen3:14b\b.*llms\/ollama-dev\.yaml:7/);
    // The reconciler serves the clone's HEAD: the same changes, pools, findings and policy.
    expect(planBody(result.stdout)).toEqual(planBody(plan.stdout));
    expect(result.stdout).toMatch(/^committed [0-9a-f]{7}: apply ollama-dev$/m);
    expect((await repo.log())[1]).toBe(head);
    expect(await nameStatus(repo)).toBe('M\tllms/ollama-dev.yaml');
    expect(await repo.status()).toBe('');
  });

  it('commits a new untracked file given by name, and only it', async () => {
    const repo = await cloneRepo(scope, source.dir);
    await repo.write('llms/vllm-gpu4-qwen3.yaml', GPU4_YAML);
    // Another edit in the working tree that this apply does not name stays as it is.
    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('qwen3:8b', 'qwen3:32b'));
    const result = await mcpctlIn(repo, ['apply', '-f', 'llms/vllm-gpu4-qwen3.yaml', '--yes']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}\+ vllm-gpu4-qwen3 .*llms\/vllm-gpu4-qwen3\.yaml:1/m);
    expect(result.stdout).toContain('Plan: 1 to add, 0 to change, 0 to remove.');
    expect(result.stdout).toMatch(/^committed [0-9a-f]{7}: apply vllm-gpu4-qwen3$/m);
    expect(await nameStatus(repo)).toBe('A\tllms/vllm-gpu4-qwen3.yaml');
    expect(await repo.status()).toBe('M llms/ollama-dev.yaml');
  });

  it('commits a file deleted from the folder it is given', async () => {
    const repo = await cloneRepo(scope, source.dir);
    await repo.remove('llms/ollama-dev.yaml');
    const result = await mcpctlIn(repo, ['apply', '-f', 'llms', '--yes']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}- ollama-dev .*llms\/ollama-dev\.yaml:1/m);
    expect(result.stdout).toMatch(/^committed [0-9a-f]{7}: apply ollama-dev$/m);
    expect(await nameStatus(repo)).toBe('D\tllms/ollama-dev.yaml');
    expect(await repo.status()).toBe('');
  });

  it('--dry-run shows the plan and commits nothing; an invalid edit names file:line:col and commits nothing', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const log = await repo.log();
    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'));
    const dry = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Plan: 0 to add, 1 to change, 0 to remove.');
    expect(dry.stderr).toBe('dry run: nothing committed\n');
    expect(await repo.log()).toEqual(log);
    expect(await repo.status()).toBe('M llms/ollama-dev.yaml');

    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('  model: qwen3:8b', '  modle: qwen3:8b'));
    const invalid = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes']);
    expect(invalid.code).toBe(1);
    expect(expectOneErrorLine(invalid)).toMatch(/^mcpctl: error: llms\/ollama-dev\.yaml:7:3: spec\.modle: unknown field "modle"/);
    expect(await repo.log()).toEqual(log);
  });

  it('refuses, in one line, to commit its own files below a pool floor unless --force', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const log = await repo.log();
    const pool = await repo.read('llms/pool.yaml');
    await repo.write('llms/pool.yaml', pool.replace('model: Qwen/Qwen3-8B   # the 8B for now\n  poolName: qwen3\n', 'model: Qwen/Qwen3-8B   # the 8B for now\n  poolName: qwen3\n  enabled: false\n'));
    const refused = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes']);
    expect(refused.code).toBe(1);
    expect(expectOneErrorLine(refused)).toBe(
      'mcpctl: error: refusing a change that violates pool policy (use --force to override): pool qwen3: 0 active after the change (1 now), below minActive 1: vllm-gpu1-qwen3 drained (llms/pool.yaml:21)',
    );
    expect(await repo.log()).toEqual(log);
    const forced = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes', '--force']);
    expect(forced.code).toBe(0);
    expect(await nameStatus(repo)).toBe('M\tllms/pool.yaml');
  });

  it('README: apply -f llms/ --yes --push --wait commits, pushes, and the reconciler serves it before apply returns', async () => {
    const remote = await bareCloneOf(scope, source.dir);
    const follower = await startReconciler(scope, remote);
    const repo = await cloneRepo(scope, remote);
    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('qwen3:8b', 'qwen3:32b'));
    const result = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes', '--push', '--wait'], follower.url);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const head = await repo.head();
    expect(linesOf(result.stdout)).toContain('pushed');
    expect(result.stdout).toContain(`the reconciler serves ${head}`);
    expect((await repo.git.raw(['ls-remote', remote, 'refs/heads/main'])).split('\t')[0]).toBe(head);
    const view = (await (await fetch(`${follower.url}/api/v1/llms/ollama-dev`)).json()) as { spec: { model: string } };
    expect(view.spec.model).toBe('qwen3:32b');
  });

  it('--wait without --push times out after --timeout, and says the commit is not pushed', async () => {
    const remote = await bareCloneOf(scope, source.dir);
    const follower = await startReconciler(scope, remote);
    const repo = await cloneRepo(scope, remote);
    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'));
    const result = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes', '--wait', '--timeout', '1'], follower.url);
    expect(result.code).toBe(1);
    const head = await repo.head();
    expect(expectOneErrorLine(result)).toMatch(new RegExp(`^mcpctl: error: timed out after 1s waiting for the reconciler to serve ${head} \\(it serves [0-9a-f]{40}\\); ${head.slice(0, 7)} is not pushed: add --push, or git push$`));
  });

  it('nothing differs from HEAD: "No changes"; --push publishes commits the upstream lacks, else does nothing', async () => {
    const remote = await bareCloneOf(scope, source.dir);
    const repo = await cloneRepo(scope, remote);
    const upToDate = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes', '--push']);
    expect(upToDate.stderr).toBe('');
    expect(upToDate.code).toBe(0);
    expect(upToDate.stdout).toMatch(/^No changes\. Desired state matches HEAD \([0-9a-f]{7}\)\.$/m);
    expect(upToDate.stdout).not.toContain('pushed');

    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'));
    const local = await repo.commitAll('a local commit, not pushed');
    const result = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes', '--push']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^No changes\./m);
    expect(linesOf(result.stdout)).toContain('pushed');
    expect((await repo.git.raw(['ls-remote', remote, 'refs/heads/main'])).split('\t')[0]).toBe(local);
    expect(await repo.head()).toBe(local);
  });
});

/** Runs a bash command line with the CLI's environment (for process substitution). */
function runBash(script: string, env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.concurrent('apply -f of something that is not a regular file', () => {
  it('-f /dev/null is an input with no resources: exit 1, one line', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const result = await mcpctlIn(repo, ['apply', '-f', '/dev/null', '--yes']);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe('mcpctl: error: -f /dev/null: no resources found');
  });

  it('-f <(mcpctl get llm X -o yaml) is a no-op; -f <(an edited copy) commits the edit', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const log = await repo.log();
    const env = { NODE: process.execPath, BIN, SERVER: server, REPO: repo.dir };
    const mcpctl = '"$NODE" "$BIN" --server "$SERVER" --repo "$REPO"';
    const noop = await runBash(`${mcpctl} apply -f <(${mcpctl} get llm ollama-dev -o yaml) --yes`, env);
    expect(noop.stderr).toBe('');
    expect(noop.code).toBe(0);
    expect(noop.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
    expect(await repo.log()).toEqual(log);

    const input = join(await scope.tempDir('input'), 'edited.yaml');
    await writeFile(input, OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'));
    const edit = await runBash(`${mcpctl} apply -f <(cat "$INPUT") --yes`, { ...env, INPUT: input });
    expect(edit.stderr).toBe('');
    expect(edit.code).toBe(0);
    expect(edit.stdout).toMatch(/^committed [0-9a-f]{7}: apply ollama-dev$/m);
    expect(await repo.read('llms/ollama-dev.yaml')).toBe(OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'));
  });
});

describe.concurrent('apply with the reconciler unreachable', () => {
  it('says that the policy check was skipped because the reconciler at URL is unreachable (no --against talk)', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const result = await runCli(['--server', closed, '--repo', repo.dir, 'apply', '-f', '-', '--dry-run'], { input: OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b') });
    expect(result.code).toBe(0);
    expect(linesOf(result.stdout)).toContain(`Policy: check skipped: reconciler unreachable at ${closed}.`);
    expect(result.stdout).not.toContain('--against');
  });
});
