// File-first writes as real processes: round trips through `get -o yaml`, `apply` (no-op, one-line
// edits that keep comments, dry run, no commit), `create` (and every way it refuses, writing
// nothing), `delete`, `drain`/`undrain` under pool policy, and `--push` to a remote that moved on.
// One reconciler follows the source repository; each test edits its own clone of it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  bareCloneOf,
  cloneRepo,
  createScope,
  expectOneErrorLine,
  linesOf,
  OLLAMA_YAML,
  POOL_YAML,
  runCli,
  startFleet,
  startReconciler,
  type CliResult,
  type TempRepo,
} from './support/cli-harness.js';

// Tests run concurrently, each in its own clone; the clones go when the file is done.
const fileScope = createScope();
let source: TempRepo;
let server: string;

beforeAll(async () => {
  ({ source, server } = await startFleet(fileScope));
});

afterAll(() => fileScope.cleanup());

function mcpctlIn(repo: TempRepo, args: string[], input?: string): Promise<CliResult> {
  return runCli(['--server', server, '--repo', repo.dir, ...args], input === undefined ? {} : { input });
}

async function clone(): Promise<TempRepo> {
  return cloneRepo(fileScope, source.dir);
}

async function numstat(repo: TempRepo): Promise<string> {
  return (await repo.git.raw(['show', '--numstat', '--format=', 'HEAD'])).trim();
}

/** Every comment line of a text, trimmed, in order. */
function commentsOf(text: string): string[] {
  return text
    .split('\n')
    .map((l) => (l.includes('#') ? l.slice(l.indexOf('#')).trim() : ''))
    .filter((c) => c !== '');
}

/** The state a refused command must leave alone. */
async function snapshot(repo: TempRepo, files: string[]): Promise<{ log: string[]; status: string; texts: (string | null)[] }> {
  return {
    log: await repo.log(),
    status: await repo.status(),
    texts: await Promise.all(files.map((f) => (repo.exists(f) ? repo.read(f) : Promise.resolve(null)))),
  };
}

describe.concurrent('round trip', () => {
  it('get llm X -o yaml > llms/X.yaml, then plan shows no change and exits 0 with --detailed-exitcode', async () => {
    const repo = await clone();
    const yaml = await mcpctlIn(repo, ['get', 'llm', 'llama3-70b', '-o', 'yaml']);
    expect(yaml.code).toBe(0);
    await repo.write('llms/llama3-70b.yaml', yaml.stdout);
    // The shell redirect rewrote the file (its comment is gone): a real edit, yet the same resource.
    expect(await repo.status()).toBe('M llms/llama3-70b.yaml');
    const plan = await mcpctlIn(repo, ['plan', '--detailed-exitcode']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
    expect(plan.stdout).not.toMatch(/^\s+[+~-] llama3-70b/m);
  });

  it('an Llm that lives in a multi-document file moves to llms/X.yaml once its document is deleted there; plan shows no change', async () => {
    const repo = await clone();
    const yaml = await mcpctlIn(repo, ['get', 'llm', 'vllm-gpu2-qwen3', '-o', 'yaml']);
    // Written next to its document, the name would be declared twice: the plan says where, exit 1.
    await repo.write('llms/vllm-gpu2-qwen3.yaml', yaml.stdout);
    const duplicate = await mcpctlIn(repo, ['plan', '--detailed-exitcode']);
    expect(duplicate.code).toBe(1);
    expect(expectOneErrorLine(duplicate)).toMatch(/^mcpctl: error: llms\/(pool|vllm-gpu2-qwen3)\.yaml:\d+:\d+: metadata\.name: duplicate Llm name "vllm-gpu2-qwen3"/);
    // So the move is: delete the document from the shared file, then write the new file.
    await repo.remove('llms/vllm-gpu2-qwen3.yaml');
    const removed = await mcpctlIn(repo, ['delete', 'llm', 'vllm-gpu2-qwen3', '--no-commit']);
    expect(removed.code).toBe(0);
    await repo.write('llms/vllm-gpu2-qwen3.yaml', yaml.stdout);
    const plan = await mcpctlIn(repo, ['plan', '--detailed-exitcode']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
  });

  it('apply -f of get -o yaml output makes no commit, for one Llm and for the whole list', async () => {
    const repo = await clone();
    const before = await snapshot(repo, ['llms/pool.yaml', 'llms/llama3-70b.yaml', 'llms/ollama-dev.yaml']);
    const one = await mcpctlIn(repo, ['get', 'llm', 'vllm-gpu1-qwen3', '-o', 'yaml']);
    const all = await mcpctlIn(repo, ['get', 'llms', '-o', 'yaml', '--show-status']);
    const dir = await fileScope.tempDir('input');
    await writeFile(join(dir, 'one.yaml'), one.stdout);
    // --yes: were there a change, it would be written and committed without asking.
    const fromFile = await mcpctlIn(repo, ['apply', '-f', join(dir, 'one.yaml'), '--yes']);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
    // The whole list, status included (ignored on input).
    const fromStdin = await mcpctlIn(repo, ['apply', '-f', '-', '--yes'], all.stdout);
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
    expect(await snapshot(repo, ['llms/pool.yaml', 'llms/llama3-70b.yaml', 'llms/ollama-dev.yaml'])).toEqual(before);
  });

  it('a one-field apply on a commented multi-document file is a one-line commit that keeps every comment', async () => {
    const repo = await clone();
    const yaml = await mcpctlIn(repo, ['get', 'llm', 'vllm-gpu1-qwen3', '-o', 'yaml']);
    const changed = yaml.stdout.replace('model: Qwen/Qwen3-8B', 'model: Qwen/Qwen3-14B');
    expect(changed).not.toBe(yaml.stdout);
    const head = await repo.head();
    const result = await mcpctlIn(repo, ['apply', '-f', '-', '--yes'], changed);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/~ spec\.model: Qwen\/Qwen3-8B → Qwen\/Qwen3-14B {2}\(llms\/pool\.yaml:\d+\)/);
    expect(result.stdout).toMatch(/^committed [0-9a-f]{7}: apply vllm-gpu1-qwen3$/m);
    expect((await repo.log())[1]).toBe(head);
    expect(await numstat(repo)).toBe('1\t1\tllms/pool.yaml');
    const text = await repo.read('llms/pool.yaml');
    expect(commentsOf(text)).toEqual(commentsOf(POOL_YAML));
    expect(text).toBe(POOL_YAML.replace('model: Qwen/Qwen3-8B   # the 8B for now', 'model: Qwen/Qwen3-14B   # the 8B for now'));
    expect(await repo.status()).toBe('');

    // A field that was not there is one added line.
    const withUrl = changed.replace('  poolName: qwen3\n', '  poolName: qwen3\n  url: http://gpu1.lan:8000/v1\n');
    const added = await mcpctlIn(repo, ['apply', '-f', '-', '--yes'], withUrl);
    expect(added.code).toBe(0);
    expect(await numstat(repo)).toBe('1\t0\tllms/pool.yaml');
    expect(commentsOf(await repo.read('llms/pool.yaml'))).toEqual(commentsOf(POOL_YAML));
  });

  it('--dry-run writes nothing; --no-commit writes without committing', async () => {
    const repo = await clone();
    const input = OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b');
    const before = await snapshot(repo, ['llms/ollama-dev.yaml']);
    const dry = await mcpctlIn(repo, ['apply', '-f', '-', '--dry-run'], input);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Plan: 0 to add, 1 to change, 0 to remove.');
    expect(await snapshot(repo, ['llms/ollama-dev.yaml'])).toEqual(before);
    const noCommit = await mcpctlIn(repo, ['apply', '-f', '-', '--no-commit', '--yes'], input);
    expect(noCommit.code).toBe(0);
    expect(await repo.log()).toEqual(before.log);
    expect(await repo.status()).toBe('M llms/ollama-dev.yaml');
    expect(await repo.read('llms/ollama-dev.yaml')).toBe(input);
    const waitless = await mcpctlIn(repo, ['apply', '-f', '-', '--no-commit', '--wait', '--yes'], input);
    expect(waitless.code).toBe(1);
    expect(expectOneErrorLine(waitless)).toBe('mcpctl: error: --no-commit: cannot be combined with --wait (nothing is committed to push or wait for)');
  });

  it('apply without --yes off a terminal refuses to write, in one line', async () => {
    const repo = await clone();
    const before = await snapshot(repo, ['llms/ollama-dev.yaml']);
    const result = await mcpctlIn(repo, ['apply', '-f', '-'], OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'));
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toContain('pass --yes');
    expect(await snapshot(repo, ['llms/ollama-dev.yaml'])).toEqual(before);
  });

  it('apply of an invalid file names file:line:col and writes nothing', async () => {
    const repo = await clone();
    const before = await snapshot(repo, ['llms/ollama-dev.yaml']);
    const result = await mcpctlIn(repo, ['apply', '-f', '-', '--yes'], OLLAMA_YAML.replace('  model: qwen3:8b', '  modle: qwen3:8b'));
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toMatch(/^mcpctl: error: <stdin>:7:3: spec\.modle: unknown field "modle"/);
    expect(await snapshot(repo, ['llms/ollama-dev.yaml'])).toEqual(before);
  });
});

describe.concurrent('mcpctl create llm', () => {
  it('writes llms/NAME.yaml in canonical form and commits exactly it', async () => {
    const repo = await clone();
    const head = await repo.head();
    const result = await mcpctlIn(repo, ['create', 'llm', 'vllm-gpu3-qwen3', '--type', 'vllm', '--model', 'Qwen/Qwen3-8B', '--pool-name', 'qwen3', '--label', 'team=research']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^committed [0-9a-f]{7}: create llm vllm-gpu3-qwen3\nllm\/vllm-gpu3-qwen3 created in llms\/vllm-gpu3-qwen3\.yaml\n$/);
    expect(await repo.read('llms/vllm-gpu3-qwen3.yaml')).toBe(`apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu3-qwen3
  labels:
    team: research
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
`);
    expect((await repo.log())[1]).toBe(head);
    expect((await repo.git.raw(['show', '--name-status', '--format=', 'HEAD'])).trim()).toBe('A\tllms/vllm-gpu3-qwen3.yaml');
    expect(await repo.status()).toBe('');
  });

  it.each([
    ['a bad name', ['Bad_Name', '--type', 'vllm', '--model', 'm'], /^mcpctl: error: NAME: invalid name: .*"Bad_Name"/],
    ['a bad --type', ['ok-name', '--type', 'nope', '--model', 'm'], /^mcpctl: error: --type: expected one of vllm, openai, .*found "nope"$/],
    ['a bad --pool-name', ['ok-name', '--type', 'vllm', '--model', 'm', '--pool-name', 'Bad_Pool'], /^mcpctl: error: --pool-name: invalid name: .*"Bad_Pool"/],
    ['a --label without =', ['ok-name', '--type', 'vllm', '--model', 'm', '--label', 'x'], /^mcpctl: error: --label: expected key=value, found "x"$/],
    ['a static Llm without --url', ['ok-name', '--type', 'openai', '--model', 'm', '--source', 'static'], /^mcpctl: error: --url: /],
    ['a missing --model', ['ok-name', '--type', 'vllm'], /^mcpctl: error: required option '--model <model>' not specified$/],
    ['a missing --type', ['ok-name', '--model', 'm'], /^mcpctl: error: required option '--type <type>' not specified$/],
  ])('refuses %s: exit 1, one line, nothing written', async (_what, args, message) => {
    const repo = await clone();
    const name = args[0] as string;
    const before = await snapshot(repo, [`llms/${name}.yaml`, 'llms/pool.yaml']);
    const result = await mcpctlIn(repo, ['create', 'llm', ...args]);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toMatch(message);
    expect(result.stdout).toBe('');
    expect(await snapshot(repo, [`llms/${name}.yaml`, 'llms/pool.yaml'])).toEqual(before);
  });

  it('refuses to edit a file with uncommitted changes: exit 1, one line, the file as the user left it', async () => {
    const repo = await clone();
    // Over an existing name, create edits its file, which the user has changed and not committed.
    await repo.write('llms/ollama-dev.yaml', `${OLLAMA_YAML}# a note not committed yet\n`);
    // A new name whose file exists, untracked, with the user's own draft in it.
    await repo.write('llms/draft-llm.yaml', '# a draft\n');
    const files = ['llms/ollama-dev.yaml', 'llms/draft-llm.yaml'];
    const before = await snapshot(repo, files);
    const [modified, untracked] = await Promise.all([
      mcpctlIn(repo, ['create', 'llm', 'ollama-dev', '--type', 'ollama', '--model', 'qwen3:14b']),
      mcpctlIn(repo, ['create', 'llm', 'draft-llm', '--type', 'vllm', '--model', 'm']),
    ]);
    expect(modified.code).toBe(1);
    expect(expectOneErrorLine(modified)).toBe('mcpctl: error: llms/ollama-dev.yaml has uncommitted changes; commit or stash them first (or use --no-commit); nothing was written');
    expect(untracked.code).toBe(1);
    expect(expectOneErrorLine(untracked)).toMatch(/^mcpctl: error: llms\/draft-llm\.yaml has uncommitted changes/);
    expect(await snapshot(repo, files)).toEqual(before);
  });
});

describe.concurrent('mcpctl delete, drain and undrain', () => {
  it('delete removes the document and keeps the rest of a multi-document file, comments included', async () => {
    const repo = await clone();
    const result = await mcpctlIn(repo, ['delete', 'llm', 'vllm-gpu2-qwen3']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^committed [0-9a-f]{7}: delete llm vllm-gpu2-qwen3\nllm\/vllm-gpu2-qwen3 deleted\n$/);
    const text = await repo.read('llms/pool.yaml');
    const names = parseAllDocuments(text).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name);
    expect(names).toEqual(['qwen3', 'vllm-gpu1-qwen3']);
    expect(commentsOf(text)).toEqual(commentsOf(POOL_YAML));
    expect(await repo.status()).toBe('');
  });

  it('delete removes the file when its last document goes; an undeclared name is exit 1', async () => {
    const repo = await clone();
    const result = await mcpctlIn(repo, ['delete', 'llm', 'ollama-dev']);
    expect(result.code).toBe(0);
    expect(repo.exists('llms/ollama-dev.yaml')).toBe(false);
    expect((await repo.git.raw(['show', '--name-status', '--format=', 'HEAD'])).trim()).toBe('D\tllms/ollama-dev.yaml');
    const before = await snapshot(repo, ['llms/pool.yaml']);
    const missing = await mcpctlIn(repo, ['delete', 'llm', 'ollama-dev']);
    expect(missing.code).toBe(1);
    expect(expectOneErrorLine(missing)).toBe('mcpctl: error: llm "ollama-dev" is not declared under llms/');
    expect(await snapshot(repo, ['llms/pool.yaml'])).toEqual(before);
  });

  it('drain and undrain are one-line commits', async () => {
    const repo = await clone();
    const drain = await mcpctlIn(repo, ['drain', 'llm', 'vllm-gpu2-qwen3']);
    expect(drain.stderr).toBe('');
    expect(drain.code).toBe(0);
    expect(drain.stdout).toMatch(/^committed [0-9a-f]{7}: drain llm vllm-gpu2-qwen3\nllm\/vllm-gpu2-qwen3 drained\n$/);
    expect(await numstat(repo)).toBe('1\t0\tllms/pool.yaml');
    expect(await repo.read('llms/pool.yaml')).toBe(POOL_YAML.replace(/( {2}poolName: qwen3\n)$/, '$1  enabled: false\n'));
    const undrain = await mcpctlIn(repo, ['undrain', 'llm', 'vllm-gpu2-qwen3']);
    expect(undrain.code).toBe(0);
    expect(await numstat(repo)).toBe('1\t1\tllms/pool.yaml');
    const again = await mcpctlIn(repo, ['undrain', 'llm', 'vllm-gpu2-qwen3']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('llm/vllm-gpu2-qwen3 already enabled\n');
  });

  it("drain refuses to take a pool's only active member below minActive unless --force", async () => {
    const repo = await clone();
    const before = await snapshot(repo, ['llms/pool.yaml']);
    const refused = await mcpctlIn(repo, ['drain', 'llm', 'vllm-gpu1-qwen3']);
    expect(refused.code).toBe(1);
    expect(expectOneErrorLine(refused)).toBe(
      'mcpctl: error: refusing a change that violates pool policy (use --force to override): pool qwen3: 0 active after the change (1 now), below minActive 1: vllm-gpu1-qwen3 drained (llms/pool.yaml:21)',
    );
    expect(await snapshot(repo, ['llms/pool.yaml'])).toEqual(before);
    const forced = await mcpctlIn(repo, ['drain', 'llm', 'vllm-gpu1-qwen3', '--force']);
    expect(forced.code).toBe(0);
    expect(await numstat(repo)).toBe('1\t0\tllms/pool.yaml');
  });
});

describe.concurrent('--push', () => {
  it('pushes the commit to the upstream', async () => {
    const remote = await bareCloneOf(fileScope, source.dir);
    const repo = await cloneRepo(fileScope, remote);
    const result = await mcpctlIn(repo, ['create', 'llm', 'pushed-llm', '--type', 'vllm', '--model', 'm', '--push']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(linesOf(result.stdout)).toContain('pushed');
    const remoteHead = (await repo.git.raw(['ls-remote', remote, 'refs/heads/main'])).split('\t')[0];
    expect(remoteHead).toBe(await repo.head());
  });

  it('--push --wait: the reconciler following the remote serves the new commit before apply returns', async () => {
    const remote = await bareCloneOf(fileScope, source.dir);
    const follower = await startReconciler(fileScope, remote);
    const repo = await cloneRepo(fileScope, remote);
    const input = OLLAMA_YAML.replace('qwen3:8b', 'qwen3:32b');
    const result = await runCli(['--server', follower.url, '--repo', repo.dir, 'apply', '-f', '-', '--yes', '--push', '--wait'], { input });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const head = await repo.head();
    expect(result.stdout).toContain(`the reconciler serves ${head}`);
    const view = await (await fetch(`${follower.url}/api/v1/llms/ollama-dev`)).json() as { spec: { model: string }; status: { source: { revision: string } } };
    expect(view.spec.model).toBe('qwen3:32b');
    expect(view.status.source.revision).toBe(head);
  });

  it('against a remote that moved on: exit 1, one line that says to pull, the local commit kept', async () => {
    const remote = await bareCloneOf(fileScope, source.dir);
    const [mine, theirs] = await Promise.all([cloneRepo(fileScope, remote), cloneRepo(fileScope, remote)]);
    // Another clone pushes first.
    await theirs.write('llms/other.yaml', OLLAMA_YAML.replace('ollama-dev', 'other-llm'));
    const theirCommit = await theirs.commitAll('add other-llm');
    await theirs.git.push();

    const base = await mine.head();
    const input = OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b');
    const result = await mcpctlIn(mine, ['apply', '-f', '-', '--yes', '--push'], input);
    expect(result.code).toBe(1);
    const line = expectOneErrorLine(result);
    expect(line).toMatch(/pull/);
    expect(line).toMatch(/kept locally/);
    expect(result.stdout).toMatch(/^committed [0-9a-f]{7}: apply ollama-dev$/m);
    // Nothing lost: the commit is on the local branch, the tree is clean, the remote has their commit.
    const log = await mine.log();
    expect(log[1]).toBe(base);
    expect((await mine.git.raw(['show', '--format=%s', '--name-only', 'HEAD'])).trim()).toBe('apply ollama-dev\n\nllms/ollama-dev.yaml');
    expect(await mine.read('llms/ollama-dev.yaml')).toBe(input);
    expect(await mine.status()).toBe('');
    expect((await mine.git.raw(['ls-remote', remote, 'refs/heads/main'])).split('\t')[0]).toBe(theirCommit);
  });
});
