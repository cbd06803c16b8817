// Fixture cases laid out as repositories: every diagnostic of an invalid case and the canonical
// YAML of a valid case are pinned as goldens under test/golden/codec/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadResources, toCanonicalYaml, type SourceFile } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import type { Resource } from '../../schema/resources.js';

const fixturesDir = fileURLToPath(new URL('../../fixtures/', import.meta.url));

function listCases(kind: 'valid' | 'invalid'): string[] {
  return readdirSync(join(fixturesDir, kind))
    .filter((name) => statSync(join(fixturesDir, kind, name)).isDirectory())
    .sort();
}

/** The case's resource files, paths relative to the case folder (`llms/a.yaml`), bytes as stored. */
function readCase(kind: 'valid' | 'invalid', name: string): SourceFile[] {
  const root = join(fixturesDir, kind, name);
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(entry.name)) out.push({ path: relative(root, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
    }
  };
  walk(root);
  return out;
}

const invalidCases = listCases('invalid');
const validCases = listCases('valid');

describe('invalid fixtures', () => {
  it('cover at least 35 cases', () => {
    expect(invalidCases.length).toBeGreaterThanOrEqual(35);
  });

  it.each(invalidCases)('%s: every diagnostic is pinned with file:line:col', async (name) => {
    const files = readCase('invalid', name);
    expect(files.length).toBeGreaterThan(0);
    const result = loadResources(files);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const d of result.diagnostics) {
      expect(files.map((f) => f.path)).toContain(d.file);
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.col).toBeGreaterThanOrEqual(1);
      // One clear line each: no line breaks, no parser excerpts.
      expect(d.message).not.toMatch(/[\r\n]/);
    }
    const text = `${result.diagnostics.map(formatDiagnostic).join('\n')}\n`;
    await expect(text).toMatchFileSnapshot(`../golden/codec/invalid/${name}.txt`);
  });

  it('the CRLF fixture really has CRLF line endings (no checkout normalised it)', () => {
    const [file] = readCase('invalid', 'crlf-modeline');
    expect(file?.text).toContain('\r\n');
    expect(file?.text).not.toMatch(/[^\r]\n/);
  });
});

describe('valid fixtures', () => {
  it.each(validCases)('%s: loads cleanly and its canonical YAML is pinned', async (name) => {
    const result = loadResources(readCase('valid', name));
    expect(result.ok ? [] : result.diagnostics.map(formatDiagnostic)).toEqual([]);
    const located = [...result.llms, ...result.pools].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.docIndex - b.docIndex));
    const resources: Resource[] = located.map((l) => l.resource);
    expect(resources.length).toBeGreaterThan(0);
    await expect(toCanonicalYaml(resources)).toMatchFileSnapshot(`../golden/codec/valid/${name}.yaml`);
  });
});
