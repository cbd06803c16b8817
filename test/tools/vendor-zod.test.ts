// The build's zod bundle (tools/vendor-zod.ts), on the dist/ that `npm test` has just built: no
// compiled module loads the zod package any more, each loads the one bundled file, and that file
// is zod (English messages, JSON Schema export) with the English locale only.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const vendored = join(dist, 'vendor', 'zod.js');

async function compiledModules(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await compiledModules(path)));
    else if (entry.name.endsWith('.js')) found.push(path);
  }
  return found;
}

describe('the vendored zod in dist/', () => {
  it('every compiled module that imports zod imports dist/vendor/zod.js, by a path that resolves to it', async () => {
    const importers: string[] = [];
    for (const path of await compiledModules(dist)) {
      if (path === vendored || path.includes(`${join('dist', 'tools')}`)) continue;
      const text = await readFile(path, 'utf8');
      expect(text, relative(dist, path)).not.toMatch(/\bfrom\s*['"]zod['"]|\bimport\(\s*['"]zod['"]\s*\)/);
      for (const [, specifier] of text.matchAll(/\bfrom\s*'([^']*vendor\/zod\.js)'/g)) {
        expect(join(dirname(path), specifier ?? '')).toBe(vendored);
        importers.push(relative(dist, path));
      }
    }
    expect(importers).toContain(join('schema', 'views.js'));
    expect(importers).toContain(join('reconciler', 'app.js'));
  });

  it('is zod: it parses, explains in English, and exports JSON Schema; its only locale is English', async () => {
    const zod = (await import(pathToFileURL(vendored).href)) as typeof import('zod');
    const schema = zod.z.object({ name: zod.z.string() });
    expect(schema.parse({ name: 'a' })).toEqual({ name: 'a' });
    const failed = schema.safeParse({ name: 1 });
    expect(failed.success).toBe(false);
    expect(failed.error?.issues[0]?.message).toBe('Invalid input: expected string, received number');
    expect(zod.z.toJSONSchema(schema)).toMatchObject({ type: 'object', properties: { name: { type: 'string' } } });
    expect(Object.keys(zod.locales)).toEqual(['en']);
    expect(await readFile(vendored, 'utf8')).toMatch(/^\/\*! zod \d+\.\d+\.\d+ .*\nMIT License/);
  });
});
