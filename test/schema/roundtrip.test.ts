// Canonical YAML is a fixed point: parse → canonical → parse gives the same resources, and the
// canonical text of canonical text is byte-identical. Checked over the fixtures, the examples and
// generated resources.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadResources, parseResourceFile, stringifyResource, toCanonicalYaml, type SourceFile } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import { NAME_PATTERN } from '../../schema/names.js';
import { canonicalizeResource, LLM_TYPES, type Llm, type LlmPool, type Resource, urlSecretOf } from '../../schema/resources.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function readYamlTree(root: string): SourceFile[] {
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

/** Every resource of a revision, in file and document order. */
function loadOrdered(files: SourceFile[]): Resource[] {
  const result = loadResources(files);
  if (!result.ok) throw new Error(`expected a clean load:\n${result.diagnostics.map(formatDiagnostic).join('\n')}`);
  return [...result.llms, ...result.pools]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.docIndex - b.docIndex))
    .map((l) => l.resource);
}

/** One file's resources in document order, failing loudly on any diagnostic. */
function parseOne(text: string): Resource[] {
  const parse = parseResourceFile('llms/roundtrip.yaml', text);
  if (parse.diagnostics.length > 0) throw new Error(`canonical output does not parse back:\n${parse.diagnostics.map(formatDiagnostic).join('\n')}\n---\n${text}`);
  return [...parse.llms, ...parse.pools].sort((a, b) => a.docIndex - b.docIndex).map((l) => l.resource);
}

const validDir = join(repoRoot, 'fixtures/valid');
const sources: [string, SourceFile[]][] = [
  ...readdirSync(validDir)
    .filter((name) => statSync(join(validDir, name)).isDirectory())
    .sort()
    .map((name): [string, SourceFile[]] => [`fixtures/valid/${name}`, readYamlTree(join(validDir, name))]),
  ['examples', readYamlTree(join(repoRoot, 'examples', 'llms'))],
];

describe('round trip over fixtures and examples', () => {
  it('has the examples and the valid fixtures to check', () => {
    expect(sources.length).toBeGreaterThan(5);
    expect(sources.find(([name]) => name === 'examples')?.[1].length).toBeGreaterThanOrEqual(4);
  });

  it.each(sources)('%s: parse → canonical → parse gives the same resources, and canonical is a fixed point', (_name, files) => {
    const resources = loadOrdered(files);
    const canonical = toCanonicalYaml(resources);
    const reparsed = parseOne(canonical);
    expect(reparsed).toEqual(resources.map(canonicalizeResource));
    expect(toCanonicalYaml(reparsed)).toBe(canonical);
  });

  it.each(sources)('%s: a status block on every document is ignored', (_name, files) => {
    const resources = loadOrdered(files);
    const withStatus = resources
      .map((r) => `${stringifyResource(canonicalizeResource(r))}status:\n  phase: active\n  pool: { key: x, explicit: true }\n  drift: []\n`)
      .join('---\n');
    expect(parseOne(withStatus)).toEqual(resources.map(canonicalizeResource));
  });
});

describe('key order and comments', () => {
  it('a resource written in another key order, with comments and flow style, reads the same', () => {
    const plain = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\n  labels:\n    team: research\nspec:\n  type: vllm\n  model: m\n  poolName: p\n';
    const shuffled = [
      '# a comment at the top',
      'spec:   # the spec first',
      '  poolName: p',
      '  # a comment between fields',
      '  model: m',
      '  type: vllm',
      'metadata: { labels: { team: research }, name: a }',
      'kind: Llm',
      "apiVersion: 'mcpctl/v1'  # quoted",
      '',
    ].join('\n');
    expect(toCanonicalYaml(parseOne(shuffled))).toBe(toCanonicalYaml(parseOne(plain)));
    expect(toCanonicalYaml(parseOne(shuffled))).toBe(plain);
  });
});

// --- generated resources -------------------------------------------------------------------

const nameArb = fc.stringMatching(NAME_PATTERN, { maxLength: 63 }).filter((s) => s.length >= 1 && s.length <= 63);
/** Any text, printable or not, including what YAML would read as numbers, booleans or null. */
const textArb = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ maxLength }),
      fc.string({ maxLength, unit: 'binary' }),
      fc.constantFrom('yes', 'no', 'true', 'null', '~', '1e3', '0x1F', '007', '1.0', '- a', '#x', 'a: b', ' lead', 'trail ', 'a\nb', '"q"', "'", '*a', '&a', '!tag', '%', '@', '`', '---', '...'),
    )
    .filter((s) => s.length <= maxLength);
// `__proto__` is refused on input (codec.test.ts), so generated maps leave it out.
const stringMapArb = fc.dictionary(
  textArb(40).filter((k) => k !== '__proto__'),
  textArb(80),
  { maxKeys: 4 },
);
const urlArb = fc
  .webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true })
  // A URL carrying a secret (a password, `?key=`) is rejected by design; see the invalid fixtures.
  .filter((u) => u.length <= 2048 && urlSecretOf(new URL(u)) === null);

const llmArb: fc.Arbitrary<Llm> = fc
  .record(
    {
      name: nameArb,
      labels: stringMapArb,
      annotations: stringMapArb,
      type: fc.constantFrom(...LLM_TYPES),
      model: textArb(256).filter((s) => s.length >= 1),
      url: urlArb,
      poolName: nameArb,
      source: fc.constantFrom('agent' as const, 'static' as const),
      enabled: fc.boolean(),
      env: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,30}$/),
    },
    { requiredKeys: ['name', 'type', 'model'] },
  )
  .map((g): Llm => {
    const llm: Llm = { apiVersion: 'mcpctl/v1', kind: 'Llm', metadata: { name: g.name }, spec: { type: g.type, model: g.model } };
    if (g.labels !== undefined) llm.metadata.labels = g.labels;
    if (g.annotations !== undefined) llm.metadata.annotations = g.annotations;
    if (g.url !== undefined) llm.spec.url = g.url;
    if (g.poolName !== undefined) llm.spec.poolName = g.poolName;
    // A static Llm needs its url; otherwise any combination is valid.
    if (g.source !== undefined && (g.source === 'agent' || g.url !== undefined)) llm.spec.source = g.source;
    if (g.enabled !== undefined) llm.spec.enabled = g.enabled;
    if (g.env !== undefined) llm.spec.apiKeyRef = { env: g.env };
    return llm;
  });

const poolArb: fc.Arbitrary<LlmPool> = fc
  .record({ name: nameArb, labels: stringMapArb, minActive: fc.nat({ max: 1000 }), description: textArb(1024) }, { requiredKeys: ['name'] })
  .map((g): LlmPool => {
    const pool: LlmPool = { apiVersion: 'mcpctl/v1', kind: 'LlmPool', metadata: { name: g.name }, spec: {} };
    if (g.labels !== undefined) pool.metadata.labels = g.labels;
    if (g.minActive !== undefined) pool.spec.minActive = g.minActive;
    if (g.description !== undefined) pool.spec.description = g.description;
    return pool;
  });

describe('generated resources', () => {
  it('toCanonicalYaml then parseResourceFile gives back the canonicalised resource', () => {
    fc.assert(
      fc.property(llmArb, (llm) => {
        expect(parseOne(toCanonicalYaml([llm]))).toEqual([canonicalizeResource(llm)]);
      }),
      { numRuns: 300 },
    );
  });

  it('canonical output of a multi-document file is a fixed point', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(llmArb, poolArb), { minLength: 1, maxLength: 5 }), (resources) => {
        const canonical = toCanonicalYaml(resources);
        const reparsed = parseOne(canonical);
        expect(reparsed).toEqual(resources.map(canonicalizeResource));
        expect(toCanonicalYaml(reparsed)).toBe(canonical);
      }),
      { numRuns: 200 },
    );
  });

  it('generated Llms pass the schema as generated (the generator is not vacuous)', () => {
    fc.assert(
      fc.property(llmArb, (llm) => {
        const text = stringifyResource(llm);
        expect(parseResourceFile('llms/x.yaml', text).diagnostics).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
