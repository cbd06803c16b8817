// Plan and apply only in a repository of Llm files, and only in the one the reconciler follows: a
// repository without llms/ (or any unrelated one) planned against the reconciler would remove every
// Llm it serves. Real repositories, a real reconciler following one of them, real CLI processes.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cloneRepo,
  closedPort,
  createRepo,
  createScope,
  expectOneErrorLine,
  FLEET_FILES,
  runCli,
  startFleet,
  startReconciler,
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

function cli(repo: TempRepo, args: string[], serverUrl = server): Promise<CliResult> {
  return runCli(['--server', serverUrl, ...args], { cwd: repo.dir });
}


async function newLlmFile(): Promise<string> {
  const file = join(await scope.tempDir('input'), 'gpu3.yaml');
  await writeFile(file, NEW_LLM_YAML);
  return file;
}

/** A repository of its own (its own first commit) holding the same Llm files as the followed one. */
function unrelatedRepo(): Promise<TempRepo> {
  return createRepo(scope, { ...FLEET_FILES, 'README.md': '# not the fleet\n' });
}

describe.concurrent('a repository without its resource folder', () => {
  it('plan is one error line naming the repository and the folder (exit 1), never a plan removing everything', async () => {
    const repo = await createRepo(scope, { 'README.md': '# some project\n' });
    const result = await cli(repo, ['plan', '--detailed-exitcode']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(expectOneErrorLine(result)).toBe(
      `mcpctl: error: ${repo.dir} has no llms/ folder: no Llm files to plan or change (run in a repository of Llm files, or pass --repo/--path)`,
    );
  });

  it('names the --path given, and says so when it is a file', async () => {
    const repo = await createRepo(scope, { 'fleet': 'not a folder\n' });
    const missing = await cli(repo, ['--path', 'clusters/prod', 'plan']);
    expect(missing.code).toBe(1);
    expect(expectOneErrorLine(missing)).toContain(`${repo.dir} has no clusters/prod/ folder`);
    const file = await cli(repo, ['--path', 'fleet', 'plan']);
    expect(file.code).toBe(1);
    expect(expectOneErrorLine(file)).toContain(`${repo.dir} has fleet, which is not a folder`);
  });

  it('apply -f, delete and drain refuse the same way; nothing is written or committed', async () => {
    const repo = await createRepo(scope, { 'README.md': '# some project\n' });
    const before = await repo.head();
    const results = await Promise.all([
      cli(repo, ['apply', '-f', await newLlmFile(), '--yes']),
      cli(repo, ['delete', 'llm', 'vllm-gpu1-qwen3']),
      cli(repo, ['drain', 'llm', 'vllm-gpu1-qwen3']),
    ]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(expectOneErrorLine(result)).toContain(`${repo.dir} has no llms/ folder`);
    }
    expect(await repo.head()).toBe(before);
    expect(await repo.status()).toBe('');
  });

  it('create llm still starts the folder in a fresh repository', async () => {
    const repo = await createRepo(scope, { 'README.md': '# new fleet\n' });
    const result = await cli(repo, ['create', 'llm', 'vllm-solo', '--type', 'vllm', '--model', 'Qwen/Qwen3-8B'], `http://127.0.0.1:${await closedPort()}`);
    expect(result.code).toBe(0);
    expect(repo.exists('llms/vllm-solo.yaml')).toBe(true);
  });
});

describe.concurrent('a repository that is not the one the reconciler follows', () => {
  it('plan refuses with one line naming both roots (exit 1); --force plans anyway', async () => {
    const repo = await unrelatedRepo();
    const [ownRoot, followedRoot] = [(await repo.head()).slice(0, 7), (await source.log()).at(-1)?.slice(0, 7)];
    const refused = await cli(repo, ['plan', '--detailed-exitcode']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(expectOneErrorLine(refused)).toBe(
      `mcpctl: error: this repository (${repo.dir}, root ${ownRoot}) is not the one the reconciler at ${server} follows ` +
        `(root ${followedRoot}, git ${source.dir}#main:llms); use --force to plan anyway`,
    );
    const forced = await cli(repo, ['plan', '--detailed-exitcode', '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
  });

  it('apply -f refuses the same way and writes nothing; --force goes on to the plan', async () => {
    const repo = await unrelatedRepo();
    const before = await repo.head();
    const file = await newLlmFile();
    const refused = await cli(repo, ['apply', '-f', file, '--yes']);
    expect(refused.code).toBe(1);
    expect(expectOneErrorLine(refused)).toMatch(/is not the one the reconciler at .* follows .*; use --force to apply anyway$/);
    expect(await repo.head()).toBe(before);
    expect(await repo.status()).toBe('');
    const forced = await cli(repo, ['apply', '-f', file, '--dry-run', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('Plan: 1 to add, 0 to change, 0 to remove.');
  });

  it('a clone of the followed repository plans as before, and an unreachable reconciler is no refusal', async () => {
    const clone = await cloneRepo(scope, source.dir);
    const planned = await cli(clone, ['plan', '--detailed-exitcode']);
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(0);
    const offline = await cli(await unrelatedRepo(), ['plan'], `http://127.0.0.1:${await closedPort()}`);
    expect(offline.code).toBe(3);
    expect(expectOneErrorLine(offline)).toContain('cannot reach the reconciler');
  });
});

describe('a shallow clone (CI checks out one commit)', () => {
  it('is no refusal: its cut-off commit only looks like a root, so the roots are not known', async () => {
    const followed = await createRepo(scope, FLEET_FILES);
    await followed.write('README.md', '# the fleet\n');
    await followed.commitAll('a second commit, so that depth 1 cuts history off');
    const url = (await startReconciler(scope, followed.dir)).url;
    const parent = await scope.tempDir('shallow');
    await simpleGit(parent).clone(pathToFileURL(followed.dir).href, 'work', ['--quiet', '--depth', '1']);
    const result = await runCli(['--server', url, 'plan', '--detailed-exitcode'], { cwd: join(parent, 'work') });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
