// gitio/atomic-write.ts on a real folder: the new text or the old one, no temp file left behind,
// permissions when asked, and leftovers of an interrupted write removed by removeStaleTemps.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeStaleTemps, writeFileAtomic } from '../../gitio/atomic-write.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpctl-atomic-'));
  dirs.push(dir);
  return dir;
}

describe('writeFileAtomic', () => {
  it('creates missing folders, replaces an existing file and leaves no temp file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'llms', 'team', 'a.yaml');
    await writeFileAtomic(file, 'first\n');
    await writeFileAtomic(file, 'second\n');
    expect(await readFile(file, 'utf8')).toBe('second\n');
    expect(await readdir(join(dir, 'llms', 'team'))).toEqual(['a.yaml']);
  });

  it('gives a new file the mode asked for, and writes durably when asked', async () => {
    const dir = await tempDir();
    const file = join(dir, 'leases.json');
    await writeFileAtomic(file, '{}\n', { mode: 0o600, durable: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe('{}\n');
  });

  it('a failed rename leaves the old file and no temp file', async () => {
    const dir = await tempDir();
    // A folder in the way: rename of a file over a non-empty folder fails.
    const file = join(dir, 'in-the-way');
    await writeFile(join(dir, 'keep'), 'x');
    await writeFileAtomic(join(file, 'inner'), 'inside\n');
    await expect(writeFileAtomic(file, 'text\n')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['in-the-way', 'keep']);
  });
});

describe('removeStaleTemps', () => {
  it("removes only the leftovers of that file's interrupted writes", async () => {
    const dir = await tempDir();
    const file = join(dir, 'leases.json');
    await writeFile(file, 'current');
    await writeFile(join(dir, '.leases.json.0a1b2c3d.tmp'), 'half');
    await writeFile(join(dir, '.other.json.0a1b2c3d.tmp'), 'not ours');
    await writeFile(join(dir, 'leases.json.bak'), 'not a temp');
    await removeStaleTemps(file);
    expect((await readdir(dir)).sort()).toEqual(['.other.json.0a1b2c3d.tmp', 'leases.json', 'leases.json.bak']);
  });

  it('is a no-op when the folder does not exist', async () => {
    await expect(removeStaleTemps(join(await tempDir(), 'missing', 'leases.json'))).resolves.toBeUndefined();
  });
});
