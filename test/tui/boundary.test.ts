// Ink and React load only for `mcpctl tui`: nothing outside cli/tui imports them, and nothing
// outside it imports the TUI statically (cli/program.ts reaches it with a dynamic import). The
// services and the headless client/ know nothing of the CLI (STYLE: boundaries you can see).
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (/\.tsx?$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Static `import … from 'x'` and `export … from 'x'` specifiers (not `import('x')`). */
function staticImports(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gms)].map((m) => m[1] ?? '');
}

test('only cli/tui imports ink or react, and only dynamically is cli/tui imported from outside', async () => {
  const offenders: string[] = [];
  for (const top of ['cli', 'client', 'schema', 'gitio', 'probe', 'service', 'reconciler', 'gateway', 'agent', 'bench']) {
    let files: string[];
    try {
      files = await sourceFiles(join(ROOT, top));
    } catch {
      continue;
    }
    for (const file of files) {
      const rel = relative(ROOT, file).split('\\').join('/');
      if (rel.startsWith('cli/tui/')) continue;
      for (const spec of staticImports(await readFile(file, 'utf8'))) {
        if (/^(ink|react)(\/|$)/.test(spec) || /(^|\/)tui\//.test(spec)) offenders.push(`${rel} imports ${spec}`);
      }
    }
  }
  expect(offenders).toEqual([]);
});

test('agent/, reconciler/, gateway/, service/, client/ and schema/ import nothing of cli/, and client/ no commander', async () => {
  const offenders: string[] = [];
  for (const top of ['agent', 'reconciler', 'gateway', 'service', 'client', 'schema']) {
    for (const file of await sourceFiles(join(ROOT, top))) {
      const rel = relative(ROOT, file).split('\\').join('/');
      for (const spec of staticImports(await readFile(file, 'utf8'))) {
        if (/(^|\/)cli\//.test(spec)) offenders.push(`${rel} imports ${spec}`);
        if (top === 'client' && /^commander(\/|$)/.test(spec)) offenders.push(`${rel} imports ${spec}`);
      }
    }
  }
  expect(offenders).toEqual([]);
});

test('the gateway and the reconciler do not know each other: both read the fleet through schema/, client/ and service/', async () => {
  const offenders: string[] = [];
  for (const [top, other] of [['gateway', 'reconciler'], ['reconciler', 'gateway'], ['service', 'reconciler'], ['service', 'gateway']] as const) {
    for (const file of await sourceFiles(join(ROOT, top))) {
      const rel = relative(ROOT, file).split('\\').join('/');
      for (const spec of staticImports(await readFile(file, 'utf8'))) {
        if (new RegExp(`(^|/)${other}/`).test(spec)) offenders.push(`${rel} imports ${spec}`);
      }
    }
  }
  expect(offenders).toEqual([]);
});

test('the scan sees static imports, including type-only and multi-line ones', () => {
  const text = `import { render } from 'ink';\nimport type {\n  Key,\n} from 'ink';\nexport { runTui } from './tui/run.js';\nconst later = await import('./tui/run.js');\n`;
  expect(staticImports(text)).toEqual(['ink', 'ink', './tui/run.js']);
});
