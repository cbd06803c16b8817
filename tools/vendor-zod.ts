// The build's second step, after tsc: zod bundled into one file, dist/vendor/zod.js, and every
// import of 'zod' under dist/ pointed at it. zod's ES build is about 130 modules (its 64 locales
// included); Node 20 has no compile cache, and resolving, reading, compiling and linking them is
// a quarter of a command's start (`mcpctl get llm`: ≈90 ms to load zod, ≈55 ms as one file, ≈45
// without the locales). The sources and the tests (vitest runs the TypeScript) import the zod
// package as usual; only dist/ changes.
//
// The bundle keeps only the English locale: zod's error messages are English unless a program
// calls z.config() with another locale, which mcpctl never does (`z.locales` has `en` only).
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const dist = fileURLToPath(new URL('..', import.meta.url));
const vendored = join(dist, 'vendor', 'zod.js');
const require = createRequire(import.meta.url);
const manifestPath = require.resolve('zod/package.json');
const { version } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string };
const license = readFileSync(join(dirname(manifestPath), 'LICENSE'), 'utf8').trim();

/** zod's `locales/index.js` (every language) replaced by one that has English only. */
const englishOnly: Plugin = {
  name: 'zod-english-only',
  setup(plugins) {
    plugins.onResolve({ filter: /[/\\]locales[/\\]index\.js$/ }, (args) => ({ path: join(args.resolveDir, dirname(args.path), 'en-only.js'), namespace: 'zod-locales' }));
    plugins.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: "export { default as en } from './en.js';", resolveDir: dirname(args.path) }));
  },
};

await build({
  stdin: { contents: "export * from 'zod';", resolveDir: dirname(manifestPath), sourcefile: 'zod-entry.js' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  banner: { js: `/*! zod ${version} (https://zod.dev), bundled by mcpctl's build (tools/vendor-zod.ts).\n${license}\n*/` },
  outfile: vendored,
  plugins: [englishOnly],
  logLevel: 'error',
});

/** `from 'zod'` and `import('zod')` as tsc writes them. */
const ZOD_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])zod\2/g;

function rewrite(dir: string): number {
  let count = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== dirname(vendored)) count += rewrite(path);
      continue;
    }
    // This script's own text names zod in its bundle's entry.
    if (!entry.name.endsWith('.js') || path === fileURLToPath(import.meta.url)) continue;
    const text = readFileSync(path, 'utf8');
    if (!text.includes('zod')) continue;
    let target = relative(dirname(path), vendored).split(sep).join('/');
    if (!target.startsWith('.')) target = `./${target}`;
    const next = text.replace(ZOD_SPECIFIER, (_match, head: string, quote: string) => `${head}${quote}${target}${quote}`);
    if (next !== text) {
      writeFileSync(path, next);
      count++;
    }
  }
  return count;
}

const files = rewrite(dist);
if (files === 0) throw new Error(`vendor-zod: no file under ${dist} imports zod; is this the build's output?`);
