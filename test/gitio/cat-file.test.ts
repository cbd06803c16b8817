// gitio/cat-file.ts over a real repository: many blobs through one process, exact bytes, and a
// missing object or a folder that is not a repository as an error, never a silent empty text.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readBlobs } from '../../gitio/cat-file.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function repoWith(texts: string[]): Promise<{ dir: string; oids: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpctl-gitio-'));
  dirs.push(dir);
  execFileSync('git', ['init', '--quiet', dir]);
  const oids: string[] = [];
  for (const [i, text] of texts.entries()) {
    await writeFile(join(dir, `f${i}`), text);
    oids.push(execFileSync('git', ['hash-object', '-w', `f${i}`], { cwd: dir, encoding: 'utf8' }).trim());
  }
  return { dir, oids };
}

describe('readBlobs', () => {
  it('reads every blob by id, bytes as written (newlines, UTF-8, an empty file)', async () => {
    const texts = ['a: 1\n', 'name: "über"\nno newline at the end', '', 'x\n'.repeat(10_000)];
    const { dir, oids } = await repoWith(texts);
    const read = await readBlobs(dir, oids);
    expect(oids.map((oid) => read.get(oid))).toEqual(texts);
  });

  it('reads nothing, and starts no process, for no ids', async () => {
    expect((await readBlobs('/nonexistent', [])).size).toBe(0);
  });

  it('an id the repository does not have is an error naming it', async () => {
    const { dir, oids } = await repoWith(['a\n']);
    const missing = '0123456789abcdef0123456789abcdef01234567';
    await expect(readBlobs(dir, [...oids, missing])).rejects.toThrow(`git cat-file: object ${missing} is missing`);
  });

  it('a folder that is not a repository is an error with Git\'s reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpctl-gitio-'));
    dirs.push(dir);
    await expect(readBlobs(dir, ['0123456789abcdef0123456789abcdef01234567'], { env: { ...process.env, GIT_DIR: join(dir, 'nothing') } as Record<string, string> })).rejects.toThrow(/git cat-file failed \(exit \d+\): not a git repository/);
  });
});
