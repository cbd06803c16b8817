// Unit tests of the YAML codec: locations, empty input, the parse cache, ordering, canonical output.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hashText, loadResources, ParseCache, parseResourceFile, toCanonicalYaml, type SourceFile } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import type { Llm, LlmPool } from '../../schema/resources.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function llmText(name: string, extra = ''): string {
  return `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: ${name}\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n${extra}`;
}

function llm(name: string, spec: Partial<Llm['spec']> = {}, metadata: Partial<Llm['metadata']> = {}): Llm {
  return { apiVersion: 'mcpctl/v1', kind: 'Llm', metadata: { name, ...metadata }, spec: { type: 'vllm', model: 'Qwen/Qwen3-8B', ...spec } };
}

describe('parseResourceFile: locations', () => {
  const text = [
    '# yaml-language-server: $schema=../schema/llm.schema.json', // 1
    'apiVersion: mcpctl/v1', // 2
    'kind: Llm', // 3
    'metadata:', // 4
    '  name: vllm-gpu1-qwen3', // 5
    '  labels:', // 6
    '    team: research', // 7
    'spec:', // 8
    '  type: vllm', // 9
    '  model: Qwen/Qwen3-8B', // 10
    '  poolName: qwen3', // 11
    '  apiKeyRef: { env: KEY }', // 12
    'status:', // 13
    '  phase: active', // 14
    '',
  ].join('\n');

  it('gives the line of the key of every field present, by dotted path, and none for status', () => {
    const [located] = parseResourceFile('llms/a.yaml', text).llms;
    expect(located?.fieldLines).toEqual({
      apiVersion: 2,
      kind: 3,
      metadata: 4,
      'metadata.name': 5,
      'metadata.labels': 6,
      'metadata.labels.team': 7,
      spec: 8,
      'spec.type': 9,
      'spec.model': 10,
      'spec.poolName': 11,
      'spec.apiKeyRef': 12,
      'spec.apiKeyRef.env': 12,
    });
  });

  it('places a document at its first key, after comments', () => {
    const [located] = parseResourceFile('llms/a.yaml', text).llms;
    expect(located).toMatchObject({ file: 'llms/a.yaml', line: 2, col: 1, docIndex: 0 });
  });

  it('counts documents, empty ones included, and places each one on its own lines', () => {
    const multi = `---\n${llmText('a')}---\n---\n# third\n${llmText('b')}...\n---\n  ${llmText('c').replace(/\n/g, '\n  ')}`;
    const parse = parseResourceFile('llms/m.yaml', multi);
    expect(parse.diagnostics).toEqual([]);
    expect(parse.llms.map((l) => [l.resource.metadata.name, l.docIndex, l.line, l.col])).toEqual([
      ['a', 0, 2, 1],
      ['b', 2, 12, 1],
      ['c', 3, 21, 3],
    ]);
    expect(parse.llms[1]?.fieldLines['spec.model']).toBe(18);
  });

  it('keeps line and column right with CRLF line endings', () => {
    const crlf = `${llmText('a')}---\r\n${llmText('b', '  bogus: 1\n')}`.replace(/\r?\n/g, '\r\n');
    const parse = parseResourceFile('llms/a.yaml', crlf);
    expect(parse.llms[0]?.fieldLines['spec.model']).toBe(7);
    expect(parse.diagnostics.map(formatDiagnostic)).toEqual([
      'llms/a.yaml:16:3: spec.bogus: unknown field "bogus" (expected one of type, model, url, poolName, source, enabled, apiKeyRef)',
    ]);
  });

  it('points a wrong value at the value and an unknown field at its key', () => {
    const parse = parseResourceFile('llms/a.yaml', llmText('a', '  enabled: "yes"\n  colour: blue\n'));
    expect(parse.diagnostics.map((d) => [d.code, d.path, d.line, d.col])).toEqual([
      ['InvalidValue', 'spec.enabled', 8, 12],
      ['UnknownField', 'spec.colour', 9, 3],
    ]);
  });
});

describe('parseResourceFile: empty input', () => {
  it.each([
    ['an empty file', ''],
    ['whitespace only', '  \n\n'],
    ['comments only', '# nothing yet\n# still nothing\n'],
    ['document markers only', '---\n---\n...\n'],
    ['an explicit null document', '~\n'],
  ])('%s declares nothing and is not an error', (_label, text) => {
    expect(parseResourceFile('llms/empty.yaml', text)).toEqual({ llms: [], pools: [], diagnostics: [] });
  });

  it('skips empty documents between real ones', () => {
    const parse = parseResourceFile('llms/a.yaml', `---\n---\n${llmText('a')}---\n`);
    expect(parse.llms.map((l) => l.resource.metadata.name)).toEqual(['a']);
    expect(parse.diagnostics).toEqual([]);
  });
});

describe('parseResourceFile: what it keeps and refuses', () => {
  it('drops status and keeps every declared field', () => {
    const parse = parseResourceFile('llms/a.yaml', `${llmText('a', '  enabled: false\n')}status:\n  phase: active\n`);
    expect(parse.llms[0]?.resource).toEqual(llm('a', { enabled: false }));
  });

  it('gives an LlmPool without spec an empty spec', () => {
    const parse = parseResourceFile('llms/p.yaml', 'apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: p\n');
    expect(parse.pools[0]?.resource).toEqual({ apiVersion: 'mcpctl/v1', kind: 'LlmPool', metadata: { name: 'p' }, spec: {} });
  });

  it('refuses a __proto__ key instead of losing it', () => {
    const parse = parseResourceFile('llms/a.yaml', llmText('a').replace('metadata:\n', 'metadata:\n  labels: { __proto__: x }\n'));
    expect(parse.llms).toEqual([]);
    expect(parse.diagnostics.map(formatDiagnostic)).toEqual(['llms/a.yaml:4:13: metadata.labels.__proto__: the key "__proto__" is not allowed']);
  });

  it('reports an alias bomb instead of expanding it or throwing', () => {
    let text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\n  annotations:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 8; i++) text += `    a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]\n`;
    text += 'spec:\n  type: vllm\n  model: m\n';
    expect(parseResourceFile('llms/bomb.yaml', text).diagnostics.map(formatDiagnostic)).toEqual([
      'llms/bomb.yaml:1:1: invalid YAML: aliases expand too far (an alias bomb?): refusing to expand them',
    ]);
  });

  it('reports an alias to an anchor of another document instead of throwing', () => {
    const text = `${llmText('a').replace('  name: a\n', '  name: a\n  labels: &l { team: x }\n')}---\n${llmText('b').replace('  name: b\n', '  name: b\n  labels: *l\n')}`;
    const parse = parseResourceFile('llms/a.yaml', text);
    expect(parse.llms.map((l) => l.resource.metadata.name)).toEqual(['a']);
    expect(parse.diagnostics.map(formatDiagnostic)).toEqual([
      'llms/a.yaml:14:11: invalid YAML: alias *l has no anchor &l before it in this document (anchors do not cross ---)',
    ]);
  });

  it('never repeats an inline secret value in its diagnostics', () => {
    const secret = 'sk-proj-VERYSECRET';
    const texts = [
      llmText('a', `  apiKey: ${secret}\n`),
      llmText('a', `  apiKeyRef: ${secret}\n`),
      llmText('a', `  apiKeyRef: { value: ${secret} }\n`),
      llmText('a', `  url: https://user:${secret}@api.example.com/v1\n`),
      llmText('a', `  token: ${secret}\n  bearer: ${secret}\n  password: ${secret}\n`),
    ];
    for (const text of texts) {
      const parse = parseResourceFile('llms/a.yaml', text);
      expect(parse.llms).toEqual([]);
      expect(parse.diagnostics.length).toBeGreaterThan(0);
      expect(parse.diagnostics.every((d) => d.code === 'InlineSecret')).toBe(true);
      expect(JSON.stringify(parse.diagnostics)).not.toContain('VERYSECRET');
    }
  });

  it('reports a name too long and badly formed once', () => {
    const parse = parseResourceFile('llms/a.yaml', llmText('A'.repeat(70)));
    expect(parse.diagnostics.map((d) => [d.code, d.path, d.message.startsWith('invalid name: 70 characters is too long (at most 63); a name is')])).toEqual([['InvalidName', 'metadata.name', true]]);
  });

  it('is pure: the same text gives the same answer', () => {
    const text = llmText('a', '  colour: blue\n');
    expect(parseResourceFile('llms/a.yaml', text)).toEqual(parseResourceFile('llms/a.yaml', text));
  });
});

describe('loadResources', () => {
  it('reads .yml and .yaml alike and keeps every resource of a clean revision', () => {
    const result = loadResources([
      { path: 'llms/b.yml', text: llmText('b') },
      { path: 'llms/a.yaml', text: `${llmText('a')}---\napiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: p\nspec:\n  minActive: 1\n` },
    ]);
    expect(result.ok).toBe(true);
    expect(result.llms.map((l) => `${l.file}#${l.resource.metadata.name}`)).toEqual(['llms/a.yaml#a', 'llms/b.yml#b']);
    expect(result.pools.map((p) => p.resource.spec)).toEqual([{ minActive: 1 }]);
  });

  it('sorts diagnostics by file, line and column, whatever the order of the files', () => {
    const files: SourceFile[] = [
      { path: 'llms/z.yaml', text: llmText('z', '  colour: blue\n') },
      { path: 'llms/a.yaml', text: llmText('a', '  url: ftp://x\n  enabled: maybe\n').replace('type: vllm', 'type: gpt') },
      { path: 'llms/m.yaml', text: 'kind: Llm\n' },
    ];
    const result = loadResources(files);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}`)).toEqual([
      'llms/a.yaml:6:9',
      'llms/a.yaml:8:8',
      'llms/a.yaml:9:12',
      'llms/m.yaml:1:1',
      'llms/z.yaml:8:3',
    ]);
    // All or nothing, but what did parse is still there for tools that want it.
    expect(result.llms.map((l) => l.resource.metadata.name)).toEqual([]);
  });

  it('keeps the first of two Llms with one name and points the second at the first', () => {
    const result = loadResources([
      { path: 'llms/b.yaml', text: llmText('dup') },
      { path: 'llms/a.yaml', text: llmText('dup') },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.llms.map((l) => l.file)).toEqual(['llms/a.yaml']);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual(['llms/b.yaml:4:9: metadata.name: duplicate Llm name "dup": already declared at llms/a.yaml:4']);
  });

  it('blames the declaration that is new since the last good revision, even when it sorts first', () => {
    const solo = { path: 'llms/solo.yaml', text: llmText('hx-solo') };
    const lastGood = loadResources([solo]);
    expect(lastGood.ok).toBe(true);
    const result = loadResources([{ path: 'llms/dup.yaml', text: llmText('hx-solo') }, solo], undefined, lastGood);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.llms.map((l) => l.file)).toEqual(['llms/solo.yaml']);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual(['llms/dup.yaml:4:9: metadata.name: duplicate Llm name "hx-solo": already declared at llms/solo.yaml:4']);
    // Without the last good revision the later path is blamed, as before.
    const blind = loadResources([{ path: 'llms/dup.yaml', text: llmText('hx-solo') }, solo]);
    expect(blind.ok ? [] : blind.diagnostics.map((d) => d.file)).toEqual(['llms/solo.yaml']);
  });

  it('blames a new LlmPool document the same way', () => {
    const pool = (name: string): string => `apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: ${name}\n`;
    const lastGood = loadResources([{ path: 'llms/pools.yaml', text: pool('qwen3') }]);
    const result = loadResources([{ path: 'llms/a-pool.yaml', text: pool('qwen3') }, { path: 'llms/pools.yaml', text: pool('qwen3') }], undefined, lastGood);
    expect(result.ok ? [] : result.diagnostics.map((d) => `${d.file}: ${d.message}`)).toEqual(['llms/a-pool.yaml: duplicate LlmPool name "qwen3": already declared at llms/pools.yaml:4']);
  });

  it('lets an LlmPool share its name with an Llm (it describes that Llm\'s implicit pool)', () => {
    const result = loadResources([{ path: 'llms/a.yaml', text: `${llmText('qwen3')}---\napiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: qwen3\n` }]);
    expect(result.ok).toBe(true);
  });
});

describe('ParseCache', () => {
  const files = (n: number): SourceFile[] => Array.from({ length: n }, (_, i) => ({ path: `llms/llm-${i}.yaml`, text: llmText(`llm-${i}`) }));

  it('parses every file on a cold load and none on an unchanged reload', () => {
    const cache = new ParseCache();
    const revision = files(20);
    const cold = loadResources(revision, cache);
    expect([cache.misses, cache.hits, cache.size]).toEqual([20, 0, 20]);
    const warm = loadResources(revision, cache);
    expect([cache.misses, cache.hits, cache.size]).toEqual([20, 20, 20]);
    expect(warm).toEqual(cold);
  });

  it('re-parses exactly the one file that changed, and forgets its old version', () => {
    const cache = new ParseCache();
    const revision = files(20);
    loadResources(revision, cache);
    const changed = revision.map((f, i) => (i === 7 ? { ...f, text: llmText('llm-7', '  poolName: p\n') } : f));
    const result = loadResources(changed, cache);
    expect([cache.misses, cache.hits, cache.size]).toEqual([21, 19, 20]);
    expect(result.llms.find((l) => l.resource.metadata.name === 'llm-7')?.resource.spec.poolName).toBe('p');
  });

  it('keys on the given hash (a Git blob id) without hashing the text', () => {
    const cache = new ParseCache();
    const file = { path: 'llms/a.yaml', text: llmText('a'), hash: 'blob-1' };
    cache.parse(file);
    // Same hash, so the cache trusts it: the text is not read again.
    expect(cache.parse({ ...file, text: 'not even yaml: [' }).llms).toHaveLength(1);
    expect([cache.misses, cache.hits]).toEqual([1, 1]);
    cache.parse({ ...file, hash: 'blob-2' });
    expect(cache.misses).toBe(2);
  });

  it('keeps two paths with the same text apart (diagnostics name their file)', () => {
    const cache = new ParseCache();
    const text = llmText('a', '  colour: blue\n');
    const a = cache.parse({ path: 'llms/a.yaml', text });
    const b = cache.parse({ path: 'llms/b.yaml', text });
    expect([a.diagnostics[0]?.file, b.diagnostics[0]?.file]).toEqual(['llms/a.yaml', 'llms/b.yaml']);
    expect(cache.misses).toBe(2);
  });

  it('drops files that left the revision', () => {
    const cache = new ParseCache();
    loadResources(files(10), cache);
    loadResources(files(3), cache);
    expect(cache.size).toBe(3);
  });

  it('hashText is a stable content hash', () => {
    expect(hashText('abc')).toBe(hashText('abc'));
    expect(hashText('abc')).not.toBe(hashText('abd'));
  });
});

describe('toCanonicalYaml', () => {
  it('omits defaults: source agent, enabled true, empty labels and annotations, minActive 0', () => {
    const text = toCanonicalYaml([
      llm('a', { source: 'agent', enabled: true }, { labels: {}, annotations: {} }),
      { apiVersion: 'mcpctl/v1', kind: 'LlmPool', metadata: { name: 'p' }, spec: { minActive: 0 } } satisfies LlmPool,
    ]);
    expect(text).toBe(
      [
        'apiVersion: mcpctl/v1',
        'kind: Llm',
        'metadata:',
        '  name: a',
        'spec:',
        '  type: vllm',
        '  model: Qwen/Qwen3-8B',
        '---',
        'apiVersion: mcpctl/v1',
        'kind: LlmPool',
        'metadata:',
        '  name: p',
        'spec: {}',
        '',
      ].join('\n'),
    );
  });

  it('writes every field in the fixed order of DESIGN §1, with sorted labels', () => {
    const full = llm(
      'openai-gpt4o',
      { apiKeyRef: { env: 'OPENAI_API_KEY' }, enabled: false, source: 'static', poolName: 'hosted', url: 'https://api.openai.com/v1', model: 'gpt-4o', type: 'openai' },
      { annotations: { owner: 'me' }, labels: { tier: 'hosted', team: 'platform' } },
    );
    expect(toCanonicalYaml([full])).toBe(
      [
        'apiVersion: mcpctl/v1',
        'kind: Llm',
        'metadata:',
        '  name: openai-gpt4o',
        '  labels:',
        '    team: platform',
        '    tier: hosted',
        '  annotations:',
        '    owner: me',
        'spec:',
        '  type: openai',
        '  model: gpt-4o',
        '  url: https://api.openai.com/v1',
        '  poolName: hosted',
        '  source: static',
        '  enabled: false',
        '  apiKeyRef:',
        '    env: OPENAI_API_KEY',
        '',
      ].join('\n'),
    );
  });

  it('quotes strings that YAML would read as something else', () => {
    const text = toCanonicalYaml([llm('1.0', { model: 'true', poolName: '007' }, { labels: { gpus: '8' } })]);
    expect(text).toContain('name: "1.0"');
    expect(text).toContain('model: "true"');
    expect(text).toContain('poolName: "007"');
    expect(text).toContain('gpus: "8"');
    expect(parseResourceFile('llms/a.yaml', text).llms[0]?.resource).toEqual(llm('1.0', { model: 'true', poolName: '007' }, { labels: { gpus: '8' } }));
  });

  it('gives nothing for no resources', () => {
    expect(toCanonicalYaml([])).toBe('');
  });
});

describe('the JSON Schema modeline of the examples', () => {
  it('points every example at schema/llm.schema.json', () => {
    const dir = join(repoRoot, 'examples/llms');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const first = readFileSync(join(dir, file), 'utf8').split('\n')[0] ?? '';
      const target = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)?.[1];
      expect(target, file).toBeDefined();
      expect(resolve(dirname(join(dir, file)), target ?? '')).toBe(join(repoRoot, 'schema/llm.schema.json'));
    }
  });
});
