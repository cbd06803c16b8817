import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterEach, describe, expect, it } from 'vitest';
import { GitSource, isValidBranchName } from '../../reconciler/git-source.js';
import { createRemoteWithClone, createRepo, llmYaml, makeTempDir, poolYaml, removeTempDirs, waitFor, writeFiles } from './desired-fixtures.js';

const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await removeTempDirs();
});

async function sourceFor(repoOrUrl: string, options: { branch?: string; path?: string } = {}): Promise<GitSource> {
  return new GitSource({ source: repoOrUrl, branch: options.branch ?? 'main', path: options.path ?? 'llms', cacheDir: await makeTempDir('cache') });
}

describe('GitSource.read', () => {
  it('reads every *.yaml and *.yml under --path at the committed tip, with Git blob ids', async () => {
    const repo = await createRepo();
    const sha = await repo.commit({
      'llms/pool.yaml': poolYaml('qwen'),
      'llms/team/a.yml': llmYaml('a', { pool: 'qwen' }),
      'llms/team/deeper/b.yaml': llmYaml('b'),
      'llms/README.md': '# not a resource\n',
      'other/c.yaml': llmYaml('c'),
      'llms.yaml': llmYaml('d'),
      // Hidden files and folders are skipped, as the CLI skips them in the working tree.
      'llms/.archive/old.yaml': llmYaml('old'),
      'llms/.hidden.yaml': llmYaml('hidden'),
    });
    const candidate = await (await sourceFor(repo.dir)).read();

    expect(candidate.revision).toBe(sha);
    expect(candidate.files.map((f) => f.path).sort()).toEqual(['llms/pool.yaml', 'llms/team/a.yml', 'llms/team/deeper/b.yaml']);
    for (const file of candidate.files) {
      expect(file.hash).toBe((await repo.git.revparse([`HEAD:${file.path}`])).trim());
    }
    expect(candidate.files.find((f) => f.path === 'llms/team/a.yml')?.text).toBe(llmYaml('a', { pool: 'qwen' }));
  });

  it('serves the committed tip, not uncommitted edits, and leaves the working tree and refs alone', async () => {
    const repo = await createRepo();
    const sha = await repo.commit({ 'llms/a.yaml': llmYaml('a') });
    await writeFiles(repo.dir, { 'llms/a.yaml': llmYaml('a', { model: 'edited' }), 'llms/new.yaml': llmYaml('new') });
    const refsBefore = await repo.git.raw(['for-each-ref']);
    const statusBefore = await repo.git.raw(['status', '--porcelain']);

    const candidate = await (await sourceFor(repo.dir)).read();

    expect(candidate.revision).toBe(sha);
    expect(candidate.files.map((f) => [f.path, f.text])).toEqual([['llms/a.yaml', llmYaml('a')]]);
    expect(await repo.git.raw(['for-each-ref'])).toBe(refsBefore);
    expect(await repo.git.raw(['status', '--porcelain'])).toBe(statusBefore);
  });

  it('picks up a new commit pushed to a bare remote on the next read', async () => {
    const { remote, clone } = await createRemoteWithClone();
    const first = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const source = await sourceFor(remote);
    expect((await source.read()).revision).toBe(first);

    const second = await clone.commit({ 'llms/b.yaml': llmYaml('b'), 'llms/a.yaml': null });
    const candidate = await source.read();
    expect(candidate.revision).toBe(second);
    expect(candidate.files.map((f) => f.path)).toEqual(['llms/b.yaml']);
  });

  it('follows a force-pushed branch back to an older commit', async () => {
    const { remote, clone } = await createRemoteWithClone();
    const first = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    await clone.commit({ 'llms/b.yaml': llmYaml('b') });
    const source = await sourceFor(remote);
    await source.read();
    await clone.git.raw(['reset', '--hard', first]);
    await clone.git.raw(['push', '--force', 'origin', 'main']);
    expect((await source.read()).revision).toBe(first);
  });

  it('reads the branch it is given, not the checked-out one', async () => {
    const repo = await createRepo();
    await repo.commit({ 'llms/a.yaml': llmYaml('a') });
    await repo.git.checkoutLocalBranch('staging');
    const staging = await repo.commit({ 'llms/staging.yaml': llmYaml('s') });
    await repo.git.checkout('main');

    const candidate = await (await sourceFor(repo.dir, { branch: 'staging' })).read();
    expect(candidate.revision).toBe(staging);
    expect(candidate.files.map((f) => f.path).sort()).toEqual(['llms/a.yaml', 'llms/staging.yaml']);
  });

  it('gives zero files, not an error, when --path is missing at that commit', async () => {
    const repo = await createRepo();
    const sha = await repo.commit({ 'docs/readme.yaml': 'x: 1\n' });
    expect(await (await sourceFor(repo.dir)).read()).toEqual({ revision: sha, files: [], rootCommits: [sha] });
  });

  it('reads the whole tree for --path . and accepts ./llms/ for llms', async () => {
    const repo = await createRepo();
    await repo.commit({ 'top.yaml': llmYaml('top'), 'llms/a.yaml': llmYaml('a') });
    expect((await (await sourceFor(repo.dir, { path: '.' })).read()).files.map((f) => f.path).sort()).toEqual(['llms/a.yaml', 'top.yaml']);
    expect((await (await sourceFor(repo.dir, { path: './llms/' })).read()).files.map((f) => f.path)).toEqual(['llms/a.yaml']);
  });

  it('fails with a clear message when the branch does not exist', async () => {
    const repo = await createRepo();
    await repo.commit({ 'llms/a.yaml': llmYaml('a') });
    await expect((await sourceFor(repo.dir, { branch: 'nope' })).read()).rejects.toThrow(`branch "nope" does not exist in ${repo.dir}`);
  });

  it('fails with a clear message when the repository cannot be reached', async () => {
    const missing = join(await makeTempDir('gone'), 'no-such-repo');
    await expect((await sourceFor(missing)).read()).rejects.toThrow(`cannot fetch ${missing}:`);
    await expect((await sourceFor('http://127.0.0.1:9/llms.git')).read()).rejects.toThrow('cannot fetch http://127.0.0.1:9/llms.git:');
  });

  it('refuses a branch name that Git would not accept before running anything', async () => {
    const repo = await createRepo();
    await expect((await sourceFor(repo.dir, { branch: '--upload-pack=touch x' })).read()).rejects.toThrow('invalid branch name');
    expect(['main', 'feature/x', 'release-1.2']. every(isValidBranchName)).toBe(true);
    expect(['', '-x', 'a..b', 'a b', 'x.lock', '/x', 'x/', 'a~1', 'a^', 'a:b', '@', 'a@{1}', '.hidden', 'a//b'].some(isValidBranchName)).toBe(false);
  });

  it('reads many files in one go, including empty and non-ASCII ones', async () => {
    const repo = await createRepo();
    const files: Record<string, string> = { 'llms/empty.yaml': '', 'llms/unicode.yaml': '# Grüße, 你好\n' };
    for (let i = 0; i < 200; i++) files[`llms/many/llm-${i}.yaml`] = llmYaml(`llm-${i}`);
    await repo.commit(files);
    const candidate = await (await sourceFor(repo.dir)).read();
    expect(candidate.files).toHaveLength(202);
    const byPath = new Map(candidate.files.map((f) => [f.path, f.text]));
    for (const [path, text] of Object.entries(files)) expect(byPath.get(path)).toBe(text);
  });

  it('keeps its mirror under the cache dir and reuses it from a new instance', async () => {
    const repo = await createRepo();
    const first = await repo.commit({ 'llms/a.yaml': llmYaml('a') });
    const cacheDir = await makeTempDir('cache');
    const options = { source: repo.dir, branch: 'main', path: 'llms', cacheDir };
    expect((await new GitSource(options).read()).revision).toBe(first);
    const mirrors = await readdir(cacheDir);
    expect(mirrors).toHaveLength(1);

    const second = await repo.commit({ 'llms/b.yaml': llmYaml('b') });
    expect((await new GitSource(options).read()).revision).toBe(second);
    expect(await readdir(cacheDir)).toEqual(mirrors);
    expect((await simpleGit(join(cacheDir, mirrors[0] ?? '')).raw(['rev-parse', '--is-bare-repository'])).trim()).toBe('true');
  });

  it('describes itself for /status', async () => {
    expect((await sourceFor('/srv/llms.git')).description).toBe('git /srv/llms.git#main:llms');
  });
});

describe('GitSource.watch', () => {
  it('calls back when a commit moves the branch of a local non-bare repository', async () => {
    const repo = await createRepo();
    await repo.commit({ 'llms/a.yaml': llmYaml('a') });
    const source = await sourceFor(repo.dir);
    let calls = 0;
    stops.push(await source.watch(() => calls++));

    await repo.commit({ 'llms/b.yaml': llmYaml('b') });
    await waitFor(() => calls > 0, 'the watcher to see the new commit');
  });

  it('calls back when a push updates a bare repository', async () => {
    const { remote, clone } = await createRemoteWithClone();
    await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const source = await sourceFor(remote);
    let calls = 0;
    stops.push(await source.watch(() => calls++));

    await clone.commit({ 'llms/b.yaml': llmYaml('b') });
    await waitFor(() => calls > 0, 'the watcher to see the push');
  });

  it('calls back when the refs are packed (git gc, git pack-refs)', async () => {
    const repo = await createRepo();
    await repo.commit({ 'llms/a.yaml': llmYaml('a') });
    const source = await sourceFor(repo.dir);
    let calls = 0;
    stops.push(await source.watch(() => calls++));

    await repo.git.raw(['pack-refs', '--all']);
    await waitFor(() => calls > 0, 'the watcher to see packed-refs change');
  });

  it('watches nothing for a URL and still gives a stop function', async () => {
    const stop = await (await sourceFor('https://example.invalid/llms.git')).watch(() => {});
    await stop();
  });
});

describe('GitSource.readRevision', () => {
  it('reads a commit the mirror has not fetched yet, and an older one, without moving to the tip', async () => {
    const { remote, clone } = await createRemoteWithClone();
    const first = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const source = await sourceFor(remote);
    expect((await source.read()).revision).toBe(first);
    const second = await clone.commit({ 'llms/b.yaml': llmYaml('b') });
    await clone.commit({ 'llms/c.yaml': llmYaml('c') });

    const fetched = await source.readRevision(second);
    expect(fetched.revision).toBe(second);
    expect(fetched.files.map((f) => f.path)).toEqual(['llms/a.yaml', 'llms/b.yaml']);
    const older = await source.readRevision(first);
    expect(older.files.map((f) => f.path)).toEqual(['llms/a.yaml']);
  });

  it('refuses what is not a commit id, and names a commit the remote does not have', async () => {
    const { remote, clone } = await createRemoteWithClone();
    await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const source = await sourceFor(remote);
    await expect(source.readRevision('main')).rejects.toThrow('"main" is not a commit id');
    await expect(source.readRevision('0'.repeat(40))).rejects.toThrow(`commit ${'0'.repeat(40)} is not in ${remote}`);
  });
});
