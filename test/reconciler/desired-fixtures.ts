// Real Git repositories and resource files in temp folders, for the desired-state tests.
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

const tempDirs: string[] = [];

export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mcpctl-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  const dirs = tempDirs.splice(0);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

export interface TestRepo {
  dir: string;
  git: SimpleGit;
  /** Writes (string) or deletes (null) files relative to the repository root, commits, and returns the commit id. */
  commit(files: Record<string, string | null>, message?: string): Promise<string>;
  head(): Promise<string>;
}

// Identity as per-command -c options: no global config needed, and no extra `git config` processes.
function openGit(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, config: ['user.name=mcpctl test', 'user.email=test@mcpctl.invalid', 'commit.gpgsign=false'] });
}

/** A non-bare repository on branch main, as a user's checkout. */
export async function createRepo(dir?: string): Promise<TestRepo> {
  const root = dir ?? (await makeTempDir('repo'));
  const git = openGit(root);
  await git.init(['--initial-branch=main']);
  return wrapRepo(root, git);
}

/** A bare repository and a clone of it that pushes every commit to it. */
export async function createRemoteWithClone(): Promise<{ remote: string; clone: TestRepo }> {
  const remote = await makeTempDir('remote');
  await simpleGit(remote).init(true, ['--initial-branch=main']);
  const cloneDir = await makeTempDir('clone');
  const git = openGit(cloneDir);
  await git.init(['--initial-branch=main']);
  await git.addRemote('origin', remote);
  const repo = wrapRepo(cloneDir, git);
  return {
    remote,
    clone: {
      ...repo,
      async commit(files, message) {
        const sha = await repo.commit(files, message);
        await git.push('origin', 'main');
        return sha;
      },
    },
  };
}

function wrapRepo(dir: string, git: SimpleGit): TestRepo {
  let count = 0;
  return {
    dir,
    git,
    async commit(files, message) {
      await writeFiles(dir, files);
      await git.raw(['add', '--all', '--verbose']);
      await git.commit(message ?? `change ${++count}`, undefined, { '--allow-empty': null });
      return (await git.revparse(['HEAD'])).trim();
    },
    async head() {
      return (await git.revparse(['HEAD'])).trim();
    },
  };
}

export async function writeFiles(root: string, files: Record<string, string | null>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, path);
    if (text === null) {
      await unlink(full).catch(() => {});
    } else {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, text);
    }
  }
}

export function llmYaml(name: string, extra: { pool?: string; model?: string } = {}): string {
  return [
    'apiVersion: mcpctl/v1',
    'kind: Llm',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  type: vllm',
    `  model: ${extra.model ?? 'Qwen/Qwen3-8B'}`,
    ...(extra.pool === undefined ? [] : [`  poolName: ${extra.pool}`]),
    '',
  ].join('\n');
}

export function poolYaml(name: string, minActive = 1): string {
  return ['apiVersion: mcpctl/v1', 'kind: LlmPool', 'metadata:', `  name: ${name}`, 'spec:', `  minActive: ${minActive}`, ''].join('\n');
}

/** Polls `predicate` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
