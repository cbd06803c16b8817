import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterEach, describe, expect, it } from 'vitest';
import { isEditorTempName, WorktreeSource } from '../../reconciler/worktree-source.js';
import { llmYaml, makeTempDir, poolYaml, removeTempDirs, waitFor, writeFiles } from './desired-fixtures.js';

const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await removeTempDirs();
});

describe('WorktreeSource.read', () => {
  it('reads every *.yaml and *.yml under --path, paths relative to the worktree', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, {
      'llms/pool.yaml': poolYaml('qwen'),
      'llms/team/a.yml': llmYaml('a'),
      'llms/team/deeper/b.yaml': llmYaml('b'),
      'llms/notes.md': 'not a resource\n',
      'other/c.yaml': llmYaml('c'),
    });
    const candidate = await new WorktreeSource({ dir, path: 'llms' }).read();
    expect(candidate.files.map((f) => f.path)).toEqual(['llms/pool.yaml', 'llms/team/a.yml', 'llms/team/deeper/b.yaml']);
    expect(candidate.files[1]?.text).toBe(llmYaml('a'));
    expect(candidate.revision).toMatch(/^worktree-[0-9a-f]{12}$/);
  });

  it('names the root commits of the Git checkout it is in, and none outside one', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, { 'llms/a.yaml': llmYaml('a') });
    expect((await new WorktreeSource({ dir, path: 'llms' }).read()).rootCommits).toEqual([]);
    const git = simpleGit(dir);
    await git.init(['--quiet']);
    await git.add('.');
    await git.raw(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', 'commit', '--quiet', '-m', 'first']);
    const root = (await git.revparse(['HEAD'])).trim();
    expect((await new WorktreeSource({ dir, path: 'llms' }).read()).rootCommits).toEqual([root]);
  });

  it('hashes each file as Git would, so a file and its commit share one parse', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, { 'llms/a.yaml': llmYaml('a'), 'llms/unicode.yaml': '# Grüße\n' });
    const candidate = await new WorktreeSource({ dir, path: 'llms' }).read();
    for (const file of candidate.files) {
      expect(file.hash).toBe((await simpleGit(dir).hashObject(join(dir, file.path))).trim());
    }
  });

  it('skips editor temp files and hidden folders', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, {
      'llms/a.yaml': llmYaml('a'),
      'llms/.a.yaml': llmYaml('hidden'),
      'llms/a.yaml~': llmYaml('backup'),
      'llms/.git/x.yaml': llmYaml('in-a-dot-folder'),
      'llms/#a.yaml#': llmYaml('autosave'),
    });
    await symlink('nobody@host.1234', join(dir, 'llms/.#a.yaml'));
    const candidate = await new WorktreeSource({ dir, path: 'llms' }).read();
    expect(candidate.files.map((f) => f.path)).toEqual(['llms/a.yaml']);
    expect(['.a.yaml.swp', '.a.yaml.swo', 'a.yaml~', '#a.yaml#', '.#a.yaml'].every(isEditorTempName)).toBe(true);
    expect(['a.yaml', 'pool.yml', 'a.swap.yaml'].some(isEditorTempName)).toBe(false);
  });

  it('follows a symlink to a file', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, { 'shared/real.yaml': llmYaml('linked') });
    await mkdir(join(dir, 'llms'));
    await symlink(join(dir, 'shared/real.yaml'), join(dir, 'llms/linked.yaml'));
    const candidate = await new WorktreeSource({ dir, path: 'llms' }).read();
    expect(candidate.files.map((f) => [f.path, f.text])).toEqual([['llms/linked.yaml', llmYaml('linked')]]);
  });

  it('names a revision by content: the same files give the same id, any change a new one', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, { 'llms/a.yaml': llmYaml('a'), 'llms/b.yaml': llmYaml('b') });
    const source = new WorktreeSource({ dir, path: 'llms' });
    const first = (await source.read()).revision;
    expect((await source.read()).revision).toBe(first);

    await writeFiles(dir, { 'llms/b.yaml': llmYaml('b', { model: 'other' }) });
    const edited = (await source.read()).revision;
    expect(edited).not.toBe(first);

    // A rename keeps the content but not the revision: paths are part of what is served.
    await rename(join(dir, 'llms/b.yaml'), join(dir, 'llms/c.yaml'));
    expect((await source.read()).revision).not.toBe(edited);

    await rename(join(dir, 'llms/c.yaml'), join(dir, 'llms/b.yaml'));
    expect((await source.read()).revision).toBe(edited);
  });

  it('gives zero files when --path does not exist yet, and an error when the worktree does not', async () => {
    const dir = await makeTempDir('worktree');
    expect((await new WorktreeSource({ dir, path: 'llms' }).read()).files).toEqual([]);
    await expect(new WorktreeSource({ dir: join(dir, 'missing'), path: 'llms' }).read()).rejects.toThrow('does not exist');
  });

  it('describes itself for /status', () => {
    expect(new WorktreeSource({ dir: '/home/me/fleet', path: 'llms/' }).description).toBe('worktree /home/me/fleet:llms');
  });
});

describe('WorktreeSource.watch', () => {
  async function watched(dir: string): Promise<{ calls: () => number }> {
    let calls = 0;
    stops.push(await new WorktreeSource({ dir, path: 'llms' }).watch(() => calls++));
    return { calls: () => calls };
  }

  it('calls back on a save, a new file in a new subfolder, and a deletion', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, { 'llms/a.yaml': llmYaml('a') });
    const watch = await watched(dir);

    await writeFile(join(dir, 'llms/a.yaml'), llmYaml('a', { model: 'edited' }));
    await waitFor(() => watch.calls() >= 1, 'a save to be seen');

    const afterSave = watch.calls();
    await writeFiles(dir, { 'llms/new/deeper/b.yaml': llmYaml('b') });
    await waitFor(() => watch.calls() > afterSave, 'a new subfolder to be seen');

    const afterAdd = watch.calls();
    await rm(join(dir, 'llms/a.yaml'));
    await waitFor(() => watch.calls() > afterAdd, 'a deletion to be seen');
  });

  it('sees the --path folder when it is created after the watch started', async () => {
    const dir = await makeTempDir('worktree');
    const watch = await watched(dir);
    await writeFiles(dir, { 'llms/a.yaml': llmYaml('a') });
    await waitFor(() => watch.calls() >= 1, 'the new llms folder to be seen');
  });
});
