// A `git commit` that fails (here: no Git identity) leaves nothing half done: the files the
// command wrote and the index are put back as they were, and the one error line says so.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cloneRepo,
  createScope,
  expectOneErrorLine,
  OLLAMA_YAML,
  POOL_YAML,
  runCli,
  startFleet,
  type CliResult,
  type TempRepo,
} from './support/cli-harness.js';

const scope = createScope();
let source: TempRepo;
let server: string;
let noIdentityEnv: Record<string, string | undefined>;

beforeAll(async () => {
  ({ source, server } = await startFleet(scope));
  const home = await scope.tempDir('home');
  const emptyConfig = join(home, 'gitconfig');
  await writeFile(emptyConfig, '');
  noIdentityEnv = {
    HOME: home,
    GIT_CONFIG_GLOBAL: emptyConfig,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: undefined,
    GIT_AUTHOR_EMAIL: undefined,
    GIT_COMMITTER_NAME: undefined,
    GIT_COMMITTER_EMAIL: undefined,
    EMAIL: undefined,
  };
});

afterAll(() => scope.cleanup());

/** A clone whose Git knows no identity, on any host (no guessing from the host name). */
async function cloneWithoutIdentity(): Promise<TempRepo> {
  const repo = await cloneRepo(scope, source.dir);
  await repo.git.raw(['config', '--unset', 'user.name']);
  await repo.git.raw(['config', '--unset', 'user.email']);
  await repo.git.raw(['config', 'user.useConfigOnly', 'true']);
  return repo;
}

function mcpctlIn(repo: TempRepo, args: string[]): Promise<CliResult> {
  return runCli(['--server', server, ...args], { cwd: repo.dir, env: noIdentityEnv });
}

async function stateOf(repo: TempRepo, files: string[]): Promise<{ log: string[]; status: string; staged: string; texts: (string | null)[] }> {
  return {
    log: await repo.log(),
    status: await repo.git.raw(['status', '--porcelain', '--untracked-files=all']),
    staged: await repo.git.raw(['diff', '--cached']),
    texts: await Promise.all(files.map((f) => (repo.exists(f) ? repo.read(f) : Promise.resolve(null)))),
  };
}

const FAILED = /^mcpctl: error: git commit failed: Author identity unknown; nothing was written \(files and index restored\)$/;

describe.concurrent('a failed git commit', () => {
  it('create: the new file is gone and nothing is staged', async () => {
    const repo = await cloneWithoutIdentity();
    const before = await stateOf(repo, ['llms/vllm-gpu3-qwen3.yaml']);
    const result = await mcpctlIn(repo, ['create', 'llm', 'vllm-gpu3-qwen3', '--type', 'vllm', '--model', 'm', '--pool-name', 'qwen3']);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toMatch(FAILED);
    expect(await stateOf(repo, ['llms/vllm-gpu3-qwen3.yaml'])).toEqual(before);
  });

  it('drain and delete: the edited file is back as it was, nothing staged', async () => {
    const repo = await cloneWithoutIdentity();
    const before = await stateOf(repo, ['llms/pool.yaml', 'llms/ollama-dev.yaml']);
    const drain = await mcpctlIn(repo, ['drain', 'llm', 'vllm-gpu2-qwen3']);
    expect(drain.code).toBe(1);
    expect(expectOneErrorLine(drain)).toMatch(FAILED);
    expect(await stateOf(repo, ['llms/pool.yaml', 'llms/ollama-dev.yaml'])).toEqual(before);
    expect(await repo.read('llms/pool.yaml')).toBe(POOL_YAML);
    const removed = await mcpctlIn(repo, ['delete', 'llm', 'ollama-dev']);
    expect(removed.code).toBe(1);
    expect(expectOneErrorLine(removed)).toMatch(FAILED);
    expect(await stateOf(repo, ['llms/pool.yaml', 'llms/ollama-dev.yaml'])).toEqual(before);
  });

  it('apply -f of the repo’s own files: their edits stay in the working tree, the index as the user left it', async () => {
    const repo = await cloneWithoutIdentity();
    // One version staged, a later one in the working tree: both must survive.
    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'));
    await repo.git.raw(['add', 'llms/ollama-dev.yaml']);
    await repo.write('llms/ollama-dev.yaml', OLLAMA_YAML.replace('qwen3:8b', 'qwen3:32b'));
    await repo.write('llms/vllm-gpu4-qwen3.yaml', OLLAMA_YAML.replace('ollama-dev', 'vllm-gpu4-qwen3'));
    const files = ['llms/ollama-dev.yaml', 'llms/vllm-gpu4-qwen3.yaml'];
    const before = await stateOf(repo, files);
    expect(before.staged).toContain('+  model: qwen3:14b');
    const result = await mcpctlIn(repo, ['apply', '-f', 'llms/', '--yes']);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toMatch(/^mcpctl: error: git commit failed: Author identity unknown; nothing was committed \(index restored\)$/);
    expect(await stateOf(repo, files)).toEqual(before);
  });
});
