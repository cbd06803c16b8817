// The CLI reads the same resource files as the reconciler: hidden files and folders under llms/
// are skipped in the working tree and at a Git ref alike (schema/resource-paths.ts).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterEach, describe, expect, it } from 'vitest';
import { openRepo, readFilesAtRef, readWorktreeFiles } from '../../cli/repo.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const LLM = (name: string): string => `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: ${name}\nspec:\n  type: vllm\n  model: m\n`;

describe('resource files in the working tree and at a ref', () => {
  it('skip hidden files and folders and non-YAML files, and agree with each other', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mcpctl-repo-files-'));
    dirs.push(root);
    const files: Record<string, string> = {
      'llms/a.yaml': LLM('a'),
      'llms/team/b.yml': LLM('b'),
      'llms/.archive/old.yaml': LLM('old'),
      'llms/.hidden.yaml': LLM('hidden'),
      'llms/notes.md': '# not a resource\n',
      'other/c.yaml': LLM('c'),
    };
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    const git = simpleGit(root);
    await git.init().addConfig('user.name', 'test').addConfig('user.email', 'test@example.com').add('.').commit('fleet');
    const repo = await openRepo(root, 'llms');

    const worktree = (await readWorktreeFiles(repo)).map((f) => f.path).sort();
    const atHead = (await readFilesAtRef(repo, 'HEAD')).files.map((f) => f.path).sort();
    expect(worktree).toEqual(['llms/a.yaml', 'llms/team/b.yml']);
    expect(atHead).toEqual(worktree);
  });
});
