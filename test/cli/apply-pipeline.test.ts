// The one apply pipeline (cli/apply-pipeline.ts) on real repositories: the steps it reports,
// exactly the files it commits, what it pushes, and a refused commit that leaves nothing behind.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterEach, describe, expect, test } from 'vitest';
import { runApplySteps, type ApplyRequest } from '../../cli/apply-pipeline.js';
import type { StepProgress } from '../../cli/apply-steps.js';
import { CliError } from '../../cli/errors.js';
import type { Repo } from '../../cli/repo.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpctl-pipeline-'));
  dirs.push(dir);
  return dir;
}

/** A repository with llms/a.yaml committed and README.md edited but not committed. */
async function createRepo(): Promise<Repo> {
  const root = await tempDir();
  const git = simpleGit({ baseDir: root, config: ['user.name=mcpctl test', 'user.email=test@mcpctl.invalid', 'commit.gpgsign=false'] });
  await git.init(['--initial-branch=main']);
  await mkdir(join(root, 'llms'));
  await writeFile(join(root, 'llms/a.yaml'), 'a: 1\n');
  await writeFile(join(root, 'README.md'), 'fleet\n');
  await git.add('.');
  await git.commit('fleet');
  await writeFile(join(root, 'README.md'), 'fleet, edited\n');
  return { root, path: 'llms', git };
}

const CHANGE: Pick<ApplyRequest, 'writes' | 'originals'> = {
  writes: [
    { path: 'llms/a.yaml', text: 'a: 2\n' },
    { path: 'llms/b.yaml', text: 'b: 1\n' },
  ],
  originals: new Map([['llms/a.yaml', 'a: 1\n']]),
};

const states = (steps: StepProgress[]): string[] => steps.filter((s) => s.state !== 'running').map((s) => `${s.step}:${s.state}`);

describe('runApplySteps', () => {
  test('writes, commits exactly the written files, and hands the commit to sync and converge', async () => {
    const repo = await createRepo();
    const steps: StepProgress[] = [];
    const seen: (string | null)[] = [];
    const result = await runApplySteps(
      repo,
      {
        ...CHANGE,
        commit: { paths: ['llms/a.yaml', 'llms/b.yaml'], message: 'apply 2 resources: a, b' },
        push: 'never',
        sync: async (revision) => (seen.push(revision), 'fetched'),
        converge: async (revision) => (seen.push(revision), 'served'),
      },
      (s) => steps.push(s),
    );
    const head = (await repo.git.revparse(['HEAD'])).trim();
    expect(result).toEqual({ commit: head, paths: ['llms/a.yaml', 'llms/b.yaml'] });
    expect(seen).toEqual([head, head]);
    expect(states(steps)).toEqual(['write:done', 'commit:done', 'push:skipped', 'sync:done', 'converged:done']);
    expect(steps.find((s) => s.step === 'commit' && s.state === 'done')).toEqual({ step: 'commit', state: 'done', detail: `${head.slice(0, 7)} apply 2 resources: a, b`, commit: head });
    expect((await repo.git.raw(['show', '--name-only', '--format=', 'HEAD'])).trim().split('\n')).toEqual(['llms/a.yaml', 'llms/b.yaml']);
    expect((await repo.git.status()).modified).toEqual(['README.md']);
  });

  test('without a commit it only writes, and every later step is skipped', async () => {
    const repo = await createRepo();
    const steps: StepProgress[] = [];
    const before = (await repo.git.revparse(['HEAD'])).trim();
    await runApplySteps(repo, { ...CHANGE, commit: null, push: 'always' }, (s) => steps.push(s));
    expect(states(steps)).toEqual(['write:done', 'commit:skipped', 'push:skipped', 'sync:skipped', 'converged:skipped']);
    expect(await readFile(join(repo.root, 'llms/b.yaml'), 'utf8')).toBe('b: 1\n');
    expect((await repo.git.revparse(['HEAD'])).trim()).toBe(before);
  });

  test('pushes when there is a remote, and says why it does not when there is none', async () => {
    const repo = await createRepo();
    const request: ApplyRequest = { ...CHANGE, commit: { paths: 'changed', message: 'apply' }, push: 'when-remote' };
    const steps: StepProgress[] = [];
    await runApplySteps(repo, request, (s) => steps.push(s));
    expect(steps.find((s) => s.step === 'push' && s.state === 'skipped')?.detail).toBe('no remote configured');

    const remote = await tempDir();
    await simpleGit(remote).init(true, ['--initial-branch=main']);
    await repo.git.addRemote('origin', remote);
    steps.length = 0;
    await runApplySteps(repo, { ...request, writes: [{ path: 'llms/c.yaml', text: 'c: 1\n' }] }, (s) => steps.push(s));
    expect(states(steps)).toContain('push:done');
    expect((await simpleGit(remote).revparse(['main'])).trim()).toBe((await repo.git.revparse(['HEAD'])).trim());
  });

  test('a commit a hook refuses puts the files and the index back and fails at commit', async () => {
    const repo = await createRepo();
    const hook = join(repo.root, '.git/hooks/pre-commit');
    await writeFile(hook, '#!/bin/sh\necho "no, thanks" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const steps: StepProgress[] = [];
    const run = runApplySteps(repo, { ...CHANGE, commit: { paths: ['llms/a.yaml', 'llms/b.yaml'], message: 'apply' }, push: 'never' }, (s) => steps.push(s));
    await expect(run).rejects.toBeInstanceOf(CliError);
    await expect(run).rejects.toThrow(/; nothing was written \(files and index restored\)$/);
    expect(states(steps)).toEqual(['write:done', 'commit:failed']);
    expect(await readFile(join(repo.root, 'llms/a.yaml'), 'utf8')).toBe('a: 1\n');
    expect(await repo.git.raw(['status', '--porcelain'])).toBe(' M README.md\n');
  });
});
