// In-place edits of resource files: the exact text each edit produces, how many lines it touches,
// and (property tests) that random files and random targets always read back as the target.
import { readFileSync } from 'node:fs';
import { createPatch, diffLines } from 'diff';
import fc from 'fast-check';
import { parseAllDocuments, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseResourceFile } from '../../schema/codec.js';
import { appendResourceToText, removeResourceFromText, replaceResourceInText, setFieldInText, type EditResult } from '../../schema/edit.js';
import { API_VERSION, canonicalizeResource, type Llm, type LlmPool, type LlmSpec, type Resource } from '../../schema/resources.js';

const POOL_FILE = readFileSync(new URL('../../examples/llms/qwen3-thinking-pool.yaml', import.meta.url), 'utf8');

function llm(name: string, spec: Partial<LlmSpec> = {}, metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Llm {
  return { apiVersion: API_VERSION, kind: 'Llm', metadata: { name, ...metadata }, spec: { type: 'vllm', model: 'Qwen/Qwen3-8B', ...spec } };
}

function pool(name: string, spec: LlmPool['spec'] = {}): LlmPool {
  return { apiVersion: API_VERSION, kind: 'LlmPool', metadata: { name }, spec };
}

function textOf(result: EditResult): string {
  if (!result.ok) throw new Error(`expected the edit to succeed, got: ${result.message}`);
  return result.text;
}

function messageOf(result: EditResult): string {
  if (result.ok) throw new Error(`expected the edit to be refused, got:\n${result.text}`);
  return result.message;
}

/** Lines removed and added, as a reviewer sees them in a line diff. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const removed: string[] = [];
  const added: string[] = [];
  for (const part of diffLines(before, after)) {
    const lines = part.value.replace(/\r?\n$/, '').split(/\r?\n/);
    if (part.removed) removed.push(...lines);
    if (part.added) added.push(...lines);
  }
  return { removed, added };
}

/** Every resource of a file, canonical, keyed by kind and name (throws on any diagnostic). */
function resourcesOf(text: string): Map<string, Resource> {
  const parse = parseResourceFile('test.yaml', text);
  if (parse.diagnostics.length > 0) throw new Error(`unexpected diagnostics: ${JSON.stringify(parse.diagnostics)}`);
  const all = [...parse.llms, ...parse.pools].sort((a, b) => a.docIndex - b.docIndex);
  return new Map(all.map((l) => [`${l.resource.kind}/${l.resource.metadata.name}`, canonicalizeResource(l.resource)]));
}

function resourceOf(text: string, kind: 'Llm' | 'LlmPool', name: string): Resource {
  const found = resourcesOf(text).get(`${kind}/${name}`);
  if (found === undefined) throw new Error(`${kind} ${name} not in the text`);
  return found;
}

/** The content of each document, from its first key to its last value. */
function documentContents(text: string): string[] {
  return parseAllDocuments(text).flatMap((doc) => (doc.contents?.range ? [text.slice(doc.contents.range[0], doc.contents.range[1]).trimEnd()] : []));
}

/** The source text of each document, as yaml delimits it. */
function documentTexts(text: string): string[] {
  return parseAllDocuments(text).map((doc) => text.slice(doc.range[0], doc.range[2]));
}

function gpu(n: number): Llm {
  return resourceOf(POOL_FILE, 'Llm', `vllm-gpu${n}-qwen3`) as Llm;
}

describe('one-field changes on a commented multi-document file are one-line diffs', () => {
  const cases: { name: string; edit: (text: string) => EditResult; removed: string[]; added: string[]; target: string }[] = [
    {
      name: 'a model changes in place',
      edit: (t) => replaceResourceInText(t, 'Llm', 'vllm-gpu2-qwen3', llm('vllm-gpu2-qwen3', { model: 'Qwen/Qwen3-14B', poolName: 'user-vllm-qwen3-thinking' }, { labels: { team: 'research' } })),
      removed: ['  model: Qwen/Qwen3-8B'],
      added: ['  model: Qwen/Qwen3-14B'],
      target: 'Llm/vllm-gpu2-qwen3',
    },
    {
      name: 'drain adds enabled: false after poolName',
      edit: (t) => setFieldInText(t, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'enabled'], false),
      removed: [],
      added: ['  enabled: false'],
      target: 'Llm/vllm-gpu1-qwen3',
    },
    {
      name: 'undrain by removing the field flips the value in place',
      edit: (t) => setFieldInText(t, 'Llm', 'vllm-gpu3-qwen3', ['spec', 'enabled'], undefined),
      removed: ['  enabled: false'],
      added: ['  enabled: true'],
      target: 'Llm/vllm-gpu3-qwen3',
    },
    {
      name: 'undrain by setting true flips the value in place',
      edit: (t) => setFieldInText(t, 'Llm', 'vllm-gpu3-qwen3', ['spec', 'enabled'], true),
      removed: ['  enabled: false'],
      added: ['  enabled: true'],
      target: 'Llm/vllm-gpu3-qwen3',
    },
    {
      name: 'a label joins a flow map on its line',
      edit: (t) => setFieldInText(t, 'Llm', 'vllm-gpu2-qwen3', ['metadata', 'labels', 'zone'], 'rack-2'),
      removed: ['  labels: { team: research }'],
      added: ['  labels: { team: research, zone: rack-2 }'],
      target: 'Llm/vllm-gpu2-qwen3',
    },
    {
      name: 'a flow map emptied by the edit goes with its key',
      edit: (t) => setFieldInText(t, 'Llm', 'vllm-gpu2-qwen3', ['metadata', 'labels', 'team'], undefined),
      removed: ['  labels: { team: research }'],
      added: [],
      target: 'Llm/vllm-gpu2-qwen3',
    },
    {
      name: 'a url goes in at its canonical place, after model',
      edit: (t) => setFieldInText(t, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'url'], 'http://gpu1.lan:8000/v1'),
      removed: [],
      added: ['  url: http://gpu1.lan:8000/v1'],
      target: 'Llm/vllm-gpu1-qwen3',
    },
    {
      name: 'removing poolName deletes its line',
      edit: (t) => setFieldInText(t, 'Llm', 'vllm-gpu2-qwen3', ['spec', 'poolName'], undefined),
      removed: ['  poolName: user-vllm-qwen3-thinking'],
      added: [],
      target: 'Llm/vllm-gpu2-qwen3',
    },
    {
      name: 'a pool minimum changes in place',
      edit: (t) => setFieldInText(t, 'LlmPool', 'user-vllm-qwen3-thinking', ['spec', 'minActive'], 2),
      removed: ['  minActive: 1'],
      added: ['  minActive: 2'],
      target: 'LlmPool/user-vllm-qwen3-thinking',
    },
    {
      name: 'a rename changes the name line only',
      edit: (t) => setFieldInText(t, 'Llm', 'vllm-gpu2-qwen3', ['metadata', 'name'], 'vllm-gpu2b-qwen3'),
      removed: ['  name: vllm-gpu2-qwen3'],
      added: ['  name: vllm-gpu2b-qwen3'],
      target: 'Llm/vllm-gpu2b-qwen3',
    },
  ];

  it.each(cases)('$name', ({ edit, removed, added, target }) => {
    const result = edit(POOL_FILE);
    const after = textOf(result);
    expect(result).toMatchObject({ ok: true, changed: true });
    expect(lineDiff(POOL_FILE, after)).toEqual({ removed, added });
    // Every other resource reads back unchanged.
    const before = resourcesOf(POOL_FILE);
    const now = resourcesOf(after);
    expect(now.size).toBe(before.size);
    for (const [key, resource] of now) if (key !== target) expect(resource).toEqual(before.get(key));
    expect(now.has(target)).toBe(true);
  });

  it('keeps the comments and the modeline of the file', () => {
    const after = textOf(setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu3-qwen3', ['spec', 'model'], 'Qwen/Qwen3-32B'));
    expect(after).toBe(POOL_FILE.replace('  model: Qwen/Qwen3-8B\n  poolName: user-vllm-qwen3-thinking\n  enabled: false', '  model: Qwen/Qwen3-32B\n  poolName: user-vllm-qwen3-thinking\n  enabled: false'));
    expect(after.startsWith('# yaml-language-server: $schema=../../schema/llm.schema.json\n')).toBe(true);
    expect(after).toContain('# gpu3 is down for a driver upgrade: drained, still listed in its pool.\n');
  });

  it('drain then undrain leaves the file as before but for the one line', () => {
    const drained = textOf(setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'enabled'], false));
    const undrained = textOf(setFieldInText(drained, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'enabled'], undefined));
    expect(lineDiff(drained, undrained)).toEqual({ removed: ['  enabled: false'], added: ['  enabled: true'] });
    expect(resourceOf(undrained, 'Llm', 'vllm-gpu1-qwen3')).toEqual(resourceOf(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3'));
  });
});

describe('replaceResourceInText', () => {
  it('reports no change when the resource is canonically the same', () => {
    const result = replaceResourceInText(POOL_FILE, 'Llm', 'vllm-gpu3-qwen3', gpu(3));
    expect(result).toEqual({ ok: true, text: POOL_FILE, changed: false });
  });

  it.each([
    ['enabled: true', '  enabled: true\n', { enabled: undefined }],
    ['source: agent', '  source: agent\n', { source: undefined }],
  ])('treats an explicit default (%s) as equal to its absence', (_label, line, spec) => {
    const text = `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\n  labels: {}\nspec:\n  type: vllm\n  model: m\n${line}`;
    expect(replaceResourceInText(text, 'Llm', 'a', llm('a', { model: 'm', ...spec }))).toEqual({ ok: true, text, changed: false });
  });

  it('treats an explicit pool minimum of 0 and an empty spec as defaults', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: p\nspec:\n  minActive: 0\n';
    expect(replaceResourceInText(text, 'LlmPool', 'p', pool('p'))).toEqual({ ok: true, text, changed: false });
    const bare = 'apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: p\n';
    expect(replaceResourceInText(bare, 'LlmPool', 'p', pool('p', { minActive: 0 }))).toEqual({ ok: true, text: bare, changed: false });
  });

  it('changes several fields at once with minimal splices and keeps same-line comments', () => {
    const text = [
      'apiVersion: mcpctl/v1',
      'kind: Llm',
      'metadata:',
      '  name: a   # the first',
      '  annotations:',
      '    owner: me',
      '    # who to page',
      '    pager: "+1 555"',
      'spec:',
      '  type: vllm',
      "  model: 'Qwen/Qwen3-8B'   # pinned",
      '  poolName: p',
      '',
    ].join('\n');
    const next = llm('a', { model: "Qwen/Qwen3-8B-it's", apiKeyRef: { env: 'KEY' }, url: 'http://h:1/v1' }, { labels: { team: 'x' }, annotations: { owner: 'you' } });
    expect(textOf(replaceResourceInText(text, 'Llm', 'a', next))).toBe(
      [
        'apiVersion: mcpctl/v1',
        'kind: Llm',
        'metadata:',
        '  name: a   # the first',
        '  labels:',
        '    team: x',
        '  annotations:',
        '    owner: you',
        'spec:',
        '  type: vllm',
        "  model: 'Qwen/Qwen3-8B-it''s'   # pinned",
        '  url: http://h:1/v1',
        '  apiKeyRef:',
        '    env: KEY',
        '',
      ].join('\n'),
    );
  });

  it('keeps the document key order and places a new key after its nearest canonical sibling', () => {
    const text = 'spec:\n  model: m\n  type: vllm\nmetadata:\n  name: a\nkind: Llm\napiVersion: mcpctl/v1\n';
    const after = textOf(replaceResourceInText(text, 'Llm', 'a', llm('a', { model: 'm', poolName: 'p', url: 'http://h:1/v1' })));
    expect(after).toBe('spec:\n  model: m\n  url: http://h:1/v1\n  poolName: p\n  type: vllm\nmetadata:\n  name: a\nkind: Llm\napiVersion: mcpctl/v1\n');
  });

  it('adds a missing parent map as a block map with the file own indentation', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n    name: a\nspec:\n    type: vllm\n    model: m\n';
    const after = textOf(setFieldInText(text, 'Llm', 'a', ['metadata', 'labels', 'app.kubernetes.io/name'], 'a: b'));
    expect(after).toBe('apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n    name: a\n    labels:\n        app.kubernetes.io/name: "a: b"\nspec:\n    type: vllm\n    model: m\n');
  });

  it('adds a pool spec where the document has none', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: p\n';
    expect(textOf(setFieldInText(text, 'LlmPool', 'p', ['spec', 'minActive'], 3))).toBe(`${text}spec:\n  minActive: 3\n`);
  });

  it('removes a key with its block value and the comments under it, and a map emptied by the edit', () => {
    const text = [
      'apiVersion: mcpctl/v1',
      'kind: LlmPool',
      'metadata:',
      '  name: p',
      '  annotations:',
      '    a: "1"',
      '    # more to come',
      'spec:',
      '  # why we describe it',
      '  description: d',
      '',
    ].join('\n');
    const after = textOf(replaceResourceInText(text, 'LlmPool', 'p', pool('p')));
    expect(after).toBe('apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: p\n');
  });

  it.each([
    ['plain stays plain', 'model: m', 'n', 'model: n'],
    ['a plain value that would read as a boolean is double-quoted', 'model: m', 'true', 'model: "true"'],
    ['a plain value that would read as a number is double-quoted', 'model: m', '1.5', 'model: "1.5"'],
    ['a plain value with ": " is double-quoted', 'model: m', 'a: b', 'model: "a: b"'],
    ['a value with " #" is double-quoted', 'model: m', 'a #b', 'model: "a #b"'],
    ['single quotes stay single', "model: 'm'", "it's", "model: 'it''s'"],
    ['double quotes stay double', 'model: "m"', 'n', 'model: "n"'],
    ['a newline needs double quotes', "model: 'm'", 'a\nb', 'model: "a\\nb"'],
  ])('%s', (_label, line, value, expected) => {
    const text = `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  ${line}  # c\n`;
    const spec: Partial<LlmSpec> = { model: value };
    const after = textOf(replaceResourceInText(text, 'Llm', 'a', llm('a', spec)));
    expect(after).toBe(text.replace(line, expected));
    expect(resourceOf(after, 'Llm', 'a')).toEqual(canonicalizeResource(llm('a', spec)));
  });

  it('writes an empty string double-quoted', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\n  annotations: { k: v }\nspec:\n  type: vllm\n  model: m\n';
    expect(textOf(setFieldInText(text, 'Llm', 'a', ['metadata', 'annotations', 'k'], ''))).toBe(text.replace('{ k: v }', '{ k: "" }'));
  });

  it.each([
    ['padded', 'labels: { a: "1", b: x }', 'labels: { a: "1", b: y, c: z }'],
    ['unpadded', "labels: {a: '1', b: x}", "labels: {a: '1', b: y, c: z}"],
    ['over two lines', 'labels: {a: "1",\n    b: x}', 'labels: {a: "1", b: y, c: z}'],
  ])('rewrites a %s flow map in flow style, keeping the untouched entries as written', (_label, from, to) => {
    const text = `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\n  ${from}\nspec:\n  type: vllm\n  model: m\n`;
    const after = textOf(replaceResourceInText(text, 'Llm', 'a', llm('a', { model: 'm' }, { labels: { a: '1', b: 'y', c: 'z' } })));
    expect(after).toBe(text.replace(from, to));
  });

  it('edits inside a flow map nested in a flow map', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata: { name: a, labels: { t: r } }\nspec: { type: openai, model: m, url: "http://h:1/v1", source: static, apiKeyRef: { env: K } }\n';
    const next = llm('a', { type: 'openai', model: 'm', url: 'http://h:1/v1', source: 'static', apiKeyRef: { env: 'K2' } }, { labels: { t: 'r', u: 'v' } });
    expect(textOf(replaceResourceInText(text, 'Llm', 'a', next))).toBe(
      'apiVersion: mcpctl/v1\nkind: Llm\nmetadata: { name: a, labels: { t: r, u: v } }\nspec: { type: openai, model: m, url: "http://h:1/v1", source: static, apiKeyRef: { env: K2 } }\n',
    );
  });

  it('leaves status alone: input-ignored, never edited', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: m\nstatus:\n  phase: active\n';
    expect(textOf(setFieldInText(text, 'Llm', 'a', ['spec', 'poolName'], 'p'))).toBe(text.replace('  model: m\n', '  model: m\n  poolName: p\n'));
  });

  it('keeps CRLF line endings, for changed and added lines alike', () => {
    const crlf = POOL_FILE.replace(/\n/g, '\r\n');
    const after = textOf(setFieldInText(crlf, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'enabled'], false));
    expect(after).toBe(textOf(setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'enabled'], false)).replace(/\n/g, '\r\n'));
    const moved = textOf(setFieldInText(after, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'model'], 'm2'));
    expect(moved.replace(/\r\n/g, '')).not.toContain('\n');
  });

  it('keeps a file without a trailing newline that way', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: m';
    const drained = textOf(setFieldInText(text, 'Llm', 'a', ['spec', 'enabled'], false));
    expect(drained).toBe(`${text}\n  enabled: false`);
    const pooled = textOf(setFieldInText(drained, 'Llm', 'a', ['spec', 'poolName'], 'p'));
    expect(pooled).toBe(`${text}\n  poolName: p\n  enabled: false`);
    expect(textOf(setFieldInText(pooled, 'Llm', 'a', ['spec', 'enabled'], undefined))).toBe(`${text}\n  poolName: p\n  enabled: true`);
    const withKey = `${text}\n  apiKeyRef: { env: K }`;
    expect(textOf(setFieldInText(withKey, 'Llm', 'a', ['spec', 'apiKeyRef'], undefined))).toBe(text);
  });

  it('works with a leading ---, ... end markers and comments between documents', () => {
    const text = '---\n# a\napiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: m\n...\n# between\n---\napiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: b\nspec:\n  type: vllm\n  model: m\n...\n';
    const after = textOf(setFieldInText(text, 'Llm', 'b', ['spec', 'enabled'], false));
    expect(after).toBe(text.replace('  name: b\nspec:\n  type: vllm\n  model: m\n', '  name: b\nspec:\n  type: vllm\n  model: m\n  enabled: false\n'));
    const first = textOf(setFieldInText(text, 'Llm', 'a', ['spec', 'model'], 'n'));
    expect(first).toBe(text.replace('model: m', 'model: n'));
  });

  const BLOCK_SCALAR_FILE = [
    '# header',
    'apiVersion: mcpctl/v1',
    'kind: LlmPool',
    'metadata:',
    '  name: p  # the pool',
    'spec:',
    '  description: |',
    '    first line',
    '    second line',
    '',
    '  minActive: 1',
    '',
  ].join('\n');

  it.each([
    ['one line', 'one line now', '  description: one line now\n'],
    ['lines again', 'one\ntwo\n\nthree', '  description: |-\n    one\n    two\n\n    three\n'],
    ['lines with a final newline', 'one\ntwo\n', '  description: |\n    one\n    two\n'],
  ])('replaces a block scalar with %s in place', (_label, value, lines) => {
    const after = textOf(setFieldInText(BLOCK_SCALAR_FILE, 'LlmPool', 'p', ['spec', 'description'], value));
    expect(after).toBe(BLOCK_SCALAR_FILE.replace('  description: |\n    first line\n    second line\n', lines));
    expect(resourceOf(after, 'LlmPool', 'p')).toEqual(pool('p', { minActive: 1, description: value }));
  });

  it('re-renders only the one document when a splice is not possible, keeping the others byte for byte', () => {
    const text = [
      '# header',
      'apiVersion: mcpctl/v1',
      'kind: Llm',
      'metadata:',
      '  name: a  # kept',
      '  labels:',
      'spec:',
      '  type: vllm',
      '  model: m',
      '---',
      'apiVersion:   mcpctl/v1   # odd spacing, kept',
      'kind: Llm',
      'metadata: {name: b}',
      'spec: {type: vllm, model: m}',
      '',
    ].join('\n');
    const after = textOf(replaceResourceInText(text, 'Llm', 'a', llm('a', { model: 'm' }, { labels: { team: 'x' } })));
    expect(after).toBe(text.replace('  name: a  # kept\n  labels:\n', '  name: a # kept\n  labels:\n    team: x\n'));
    expect(documentTexts(after)[1]).toBe(documentTexts(text)[1]);
  });

  it('refuses an edit that would not read back as asked (an alias shares the map) and writes nothing', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\n  labels: &shared { team: x }\n  annotations: *shared\nspec:\n  type: vllm\n  model: m\n';
    const message = messageOf(setFieldInText(text, 'Llm', 'a', ['metadata', 'labels', 'team'], 'y'));
    expect(message).toMatch(/^cannot edit Llm "a" in place: the edited document does not read back as the new resource/);
  });

  it.each<[string, () => EditResult, RegExp]>([
    ['an Llm that is not there', () => setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu9-qwen3', ['spec', 'enabled'], false), /^Llm "vllm-gpu9-qwen3" is not declared in this file$/],
    ['a pool asked for as an Llm', () => replaceResourceInText(POOL_FILE, 'Llm', 'user-vllm-qwen3-thinking', llm('user-vllm-qwen3-thinking')), /^Llm "user-vllm-qwen3-thinking" is not declared in this file$/],
    ['another kind as the replacement', () => replaceResourceInText(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3', pool('vllm-gpu1-qwen3')), /^cannot replace Llm "vllm-gpu1-qwen3" with a LlmPool$/],
    ['an invalid replacement', () => replaceResourceInText(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3', llm('vllm-gpu1-qwen3', { source: 'static' })), /^the new Llm "vllm-gpu1-qwen3" is invalid: spec\.url: /],
    ['a rename onto a name the file declares', () => setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3', ['metadata', 'name'], 'vllm-gpu2-qwen3'), /^cannot rename Llm "vllm-gpu1-qwen3" to "vllm-gpu2-qwen3": this file already declares that name$/],
    ['an invalid value', () => setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'poolName'], 'Not A Name'), /^the new Llm "vllm-gpu1-qwen3" is invalid: spec\.poolName: /],
    ['a path through a scalar', () => setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'model', 'x'], 'y'), /^cannot set spec\.model\.x: model is not a mapping$/],
    ['a document with YAML errors', () => setFieldInText('apiVersion: mcpctl/v1\nkind: Llm\nmetadata: [\n', 'Llm', 'a', ['spec', 'enabled'], false), /^Llm "a" is not declared in this file \(1 document has YAML errors\)$/],
    ['an invalid document', () => setFieldInText('apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n', 'Llm', 'a', ['spec', 'enabled'], false), /^Llm "a" is not valid in this file; fix it first: line 5:1: /],
    ['a name declared twice', () => removeResourceFromText(`${POOL_FILE}---\n${POOL_FILE.split('---\n')[1]}`, 'Llm', 'vllm-gpu1-qwen3'), /^Llm "vllm-gpu1-qwen3" is declared 2 times in this file; remove the duplicate first$/],
  ])('refuses %s with a message that names it', (_label, edit, message) => {
    expect(messageOf(edit())).toMatch(message);
  });

  it('refuses a document with a key it cannot address', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\n  ? [x]\n  : y\nspec:\n  type: vllm\n  model: m\n';
    expect(messageOf(replaceResourceInText(text, 'Llm', 'a', llm('a', { model: 'm' })))).toBe(
      'cannot edit Llm "a" in place: it has a key that is not a plain scalar under metadata',
    );
  });

  it('replaces an invalid document with a valid one, dropping what the schema does not know', () => {
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: m\n  modle: typo\n';
    expect(textOf(replaceResourceInText(text, 'Llm', 'a', llm('a', { model: 'm' })))).toBe('apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: m\n');
  });
});

describe('removeResourceFromText', () => {
  const docs = POOL_FILE.split('---\n');

  it('removes a middle document with its separator', () => {
    const after = textOf(removeResourceFromText(POOL_FILE, 'Llm', 'vllm-gpu2-qwen3'));
    expect(after).toBe([docs[0], docs[1], docs[3]].join('---\n'));
  });

  it('removes the last document with the comment that belongs to it', () => {
    const after = textOf(removeResourceFromText(POOL_FILE, 'Llm', 'vllm-gpu3-qwen3'));
    expect(after).toBe([docs[0], docs[1], docs[2]].join('---\n'));
    expect(after).not.toContain('gpu3 is down');
  });

  it('removes the first document with the separator below it and its comments, keeping the modeline', () => {
    const after = textOf(removeResourceFromText(POOL_FILE, 'LlmPool', 'user-vllm-qwen3-thinking'));
    expect(after).toBe(`# yaml-language-server: $schema=../../schema/llm.schema.json\n${[docs[1], docs[2], docs[3]].join('---\n')}`);
  });

  it('keeps a file header parted from the first document by a blank line', () => {
    const text = '# header\n\n# about a\napiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: m\n---\napiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: b\nspec:\n  type: vllm\n  model: m\n';
    expect(textOf(removeResourceFromText(text, 'Llm', 'a'))).toBe('# header\n\napiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: b\nspec:\n  type: vllm\n  model: m\n');
  });

  it('leaves only the comments that belong to the file when the last resource goes', () => {
    let text = POOL_FILE;
    for (const [kind, name] of [['Llm', 'vllm-gpu2-qwen3'], ['LlmPool', 'user-vllm-qwen3-thinking'], ['Llm', 'vllm-gpu3-qwen3'], ['Llm', 'vllm-gpu1-qwen3']] as const) {
      text = textOf(removeResourceFromText(text, kind, name));
    }
    expect(text).toBe('# yaml-language-server: $schema=../../schema/llm.schema.json\n');
    expect(textOf(removeResourceFromText('apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: p\n', 'LlmPool', 'p'))).toBe('');
  });

  it('tidies blank lines between documents and keeps ... markers with their documents', () => {
    const a = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: m\n';
    const b = a.replace('name: a', 'name: b');
    const c = a.replace('name: a', 'name: c');
    const text = `${a}\n---\n${b}...\n\n---\n# c\n${c}`;
    expect(textOf(removeResourceFromText(text, 'Llm', 'b'))).toBe(`${a}\n---\n# c\n${c}`);
    expect(textOf(removeResourceFromText(text, 'Llm', 'c'))).toBe(`${a}\n---\n${b}...\n`);
    expect(textOf(removeResourceFromText(text, 'Llm', 'a'))).toBe(`${b}...\n\n---\n# c\n${c}`);
  });

  it('takes a comment above a --- with the document below it when a blank line parts it from the one above', () => {
    const a = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: m\n';
    const b = a.replace('name: a', 'name: b');
    expect(textOf(removeResourceFromText(`${a}\n# b is new\n---\n${b}`, 'Llm', 'b'))).toBe(a);
    expect(textOf(removeResourceFromText(`${a}# still about a\n---\n${b}`, 'Llm', 'b'))).toBe(`${a}# still about a\n`);
  });

  it('keeps CRLF and a missing trailing newline', () => {
    const crlf = POOL_FILE.replace(/\n/g, '\r\n').replace(/\r\n$/, '');
    const after = textOf(removeResourceFromText(crlf, 'Llm', 'vllm-gpu3-qwen3'));
    expect(after).toBe([docs[0], docs[1], docs[2]].join('---\n').replace(/\n/g, '\r\n').replace(/\r\n$/, ''));
    const middle = textOf(removeResourceFromText(crlf, 'Llm', 'vllm-gpu1-qwen3'));
    expect(middle).toBe([docs[0], docs[2], docs[3]].join('---\n').replace(/\n/g, '\r\n').replace(/\r\n$/, ''));
  });

  it('refuses a name that is not there', () => {
    expect(messageOf(removeResourceFromText(POOL_FILE, 'LlmPool', 'nope'))).toBe('LlmPool "nope" is not declared in this file');
  });
});

describe('appendResourceToText', () => {
  const added = llm('vllm-gpu4-qwen3', { poolName: 'user-vllm-qwen3-thinking' }, { labels: { team: 'research' } });
  const canonical = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: vllm-gpu4-qwen3\n  labels:\n    team: research\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n  poolName: user-vllm-qwen3-thinking\n';

  it.each([
    ['after a separator', POOL_FILE, `${POOL_FILE}---\n${canonical}`],
    ['adding the missing trailing newline first', POOL_FILE.trimEnd(), `${POOL_FILE}---\n${canonical}`],
    ['in CRLF', POOL_FILE.replace(/\n/g, '\r\n'), `${POOL_FILE}---\n${canonical}`.replace(/\n/g, '\r\n')],
    ['to an empty file', '', canonical],
    ['below comments only, without a separator', '# yaml-language-server: $schema=x.json\n', `# yaml-language-server: $schema=x.json\n${canonical}`],
    ['after a trailing --- without another', `${POOL_FILE}---\n`, `${POOL_FILE}---\n${canonical}`],
  ])('appends %s', (_label, text, expected) => {
    const after = appendResourceToText(text, added);
    expect(after).toBe(expected);
    const resources = resourcesOf(after);
    expect(resources.get('Llm/vllm-gpu4-qwen3')).toEqual(canonicalizeResource(added));
  });
});

describe('goldens: before/after patches a reviewer would see', () => {
  const cases: { file: string; edit: () => EditResult }[] = [
    { file: 'drain', edit: () => setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu1-qwen3', ['spec', 'enabled'], false) },
    { file: 'undrain', edit: () => setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu3-qwen3', ['spec', 'enabled'], undefined) },
    { file: 'add-label-flow', edit: () => setFieldInText(POOL_FILE, 'Llm', 'vllm-gpu2-qwen3', ['metadata', 'labels', 'zone'], 'rack-2') },
    {
      file: 'replace-several-fields',
      edit: () =>
        replaceResourceInText(
          POOL_FILE,
          'Llm',
          'vllm-gpu2-qwen3',
          llm('vllm-gpu2-qwen3', { model: 'Qwen/Qwen3-14B', url: 'http://gpu2.lan:8000/v1' }, { annotations: { owner: 'lab@example.com' } }),
        ),
    },
    { file: 'remove-middle-document', edit: () => removeResourceFromText(POOL_FILE, 'Llm', 'vllm-gpu2-qwen3') },
    { file: 'remove-first-document', edit: () => removeResourceFromText(POOL_FILE, 'LlmPool', 'user-vllm-qwen3-thinking') },
    { file: 'append-document', edit: () => ({ ok: true, changed: true, text: appendResourceToText(POOL_FILE, llm('vllm-gpu4-qwen3', { poolName: 'user-vllm-qwen3-thinking' })) }) },
  ];
  it.each(cases)('$file', async ({ file, edit }) => {
    const patch = createPatch('llms/qwen3-thinking-pool.yaml', POOL_FILE, textOf(edit()), 'before', 'after');
    await expect(patch).toMatchFileSnapshot(`../golden/edit/${file}.patch`);
  });
});

// ---------------------------------------------------------------- properties

// EDIT_PROPERTY_RUNS_FACTOR=20 runs the properties longer when hunting a rare case.
const RUNS_FACTOR = Number(process.env.EDIT_PROPERTY_RUNS_FACTOR ?? '1');
const PROPERTY_TIMEOUT_MS = 30_000 * RUNS_FACTOR;
const NAMES = ['a', 'b-1', 'c.d', 'vllm-gpu1-qwen3', 'e'];
const TRICKY_STRINGS = ['x', 'Qwen/Qwen3-8B', 'true', '1', '1.5', 'null', 'a b', "it's", 'say "hi"', 'a: b', 'a #b', '#x', ' lead', 'trail ', '-x', '[x]', '{x}', 'x,y', 'é', 'a\nb', 'one\ntwo\n', '', '*', '&a', '!t', '%', '@', '`'];
const LABEL_KEYS = ['team', 'tier', 'app.kubernetes.io/name', 'x y', 'k'];
const URLS = ['http://gpu1.lan:8000/v1', 'https://api.openai.com/v1', 'http://h:1/v1?a=b#frag'];

const stringMapArb = fc.dictionary(fc.constantFrom(...LABEL_KEYS), fc.constantFrom(...TRICKY_STRINGS), { maxKeys: 3 });

function llmArb(name: fc.Arbitrary<string>): fc.Arbitrary<Llm> {
  return fc
    .record(
      {
        name,
        labels: stringMapArb,
        annotations: stringMapArb,
        type: fc.constantFrom('vllm', 'openai', 'ollama', 'other' as const),
        model: fc.constantFrom(...TRICKY_STRINGS.filter((s) => s !== '')),
        url: fc.constantFrom(...URLS),
        poolName: fc.constantFrom('p', 'user-vllm-qwen3-thinking'),
        source: fc.constantFrom('agent', 'static' as const),
        enabled: fc.boolean(),
        apiKeyRef: fc.constantFrom('OPENAI_API_KEY', 'K'),
      },
      { requiredKeys: ['name', 'type', 'model'] },
    )
    .map((r) => {
      const spec: LlmSpec = { type: r.type, model: r.model };
      if (r.url !== undefined) spec.url = r.url;
      if (r.poolName !== undefined) spec.poolName = r.poolName;
      if (r.source !== undefined && (r.source !== 'static' || r.url !== undefined)) spec.source = r.source;
      if (r.enabled !== undefined) spec.enabled = r.enabled;
      if (r.apiKeyRef !== undefined) spec.apiKeyRef = { env: r.apiKeyRef };
      const metadata: Llm['metadata'] = { name: r.name };
      if (r.labels !== undefined) metadata.labels = r.labels;
      if (r.annotations !== undefined) metadata.annotations = r.annotations;
      return { apiVersion: API_VERSION, kind: 'Llm', metadata, spec };
    });
}

function poolArb(name: fc.Arbitrary<string>): fc.Arbitrary<LlmPool> {
  return fc
    .record(
      { name, labels: stringMapArb, minActive: fc.nat(3), description: fc.constantFrom(...TRICKY_STRINGS), hasSpec: fc.boolean() },
      { requiredKeys: ['name', 'hasSpec'] },
    )
    .map((r) => {
      const spec: LlmPool['spec'] = {};
      if (r.minActive !== undefined) spec.minActive = r.minActive;
      if (r.description !== undefined) spec.description = r.description;
      const metadata: LlmPool['metadata'] = { name: r.name };
      if (r.labels !== undefined) metadata.labels = r.labels;
      // A pool document may leave out an empty spec altogether.
      const resource: LlmPool = { apiVersion: API_VERSION, kind: 'LlmPool', metadata, spec };
      return Object.keys(spec).length === 0 && !r.hasSpec ? ({ ...resource, spec: undefined } as unknown as LlmPool) : resource;
    });
}

const resourceArb: fc.Arbitrary<Resource> = fc.oneof({ arbitrary: llmArb(fc.constantFrom(...NAMES)), weight: 3 }, { arbitrary: poolArb(fc.constantFrom(...NAMES)), weight: 1 });

/** How one document is written: random choices drawn once, consumed in order. */
interface Style {
  choices: number[];
  indent: number;
}

function pick(style: Style, n: number): number {
  const next = style.choices.shift() ?? 0;
  style.choices.push(next);
  return next % n;
}

function quoteScalar(value: string | number | boolean, style: Style, flow: boolean): string {
  if (typeof value !== 'string') return String(value);
  const plainOk = value !== '' && !/[\r\n]/.test(value) && plainReadsBack(value, flow);
  const singleOk = !/[\r\n]/.test(value);
  const options = [plainOk ? value : undefined, singleOk ? `'${value.replace(/'/g, "''")}'` : undefined, JSON.stringify(value)].filter((s): s is string => s !== undefined);
  return options[pick(style, options.length)] as string;
}

/** A literal block scalar (`|`, `|-`) for a value over several lines. */
function literalBlock(value: string, pad: string): string {
  const body = value.replace(/\n+$/, '');
  const header = value.endsWith('\n') ? '|' : '|-';
  return [header, ...body.split('\n').map((line) => (line === '' ? '' : pad + line))].join('\n');
}

function plainReadsBack(value: string, flow: boolean): boolean {
  const doc = parseDocument(flow ? `{k: ${value}}` : `k: ${value}`);
  return doc.errors.length === 0 && (doc.toJS() as Record<string, unknown> | null)?.k === value;
}

function quoteKey(key: string, flow: boolean): string {
  const doc = parseDocument(flow ? `{${key}: x}` : `${key}: x`);
  return doc.errors.length === 0 && (doc.toJS() as Record<string, unknown> | null)?.[key] === 'x' ? key : JSON.stringify(key);
}

type Tree = { [key: string]: Tree | string | number | boolean };

/** Writes a mapping in block style with random key order, comments, quoting and flow sub-maps. */
function writeBlock(tree: Tree, style: Style, depth: number): string[] {
  const pad = ' '.repeat(style.indent * depth);
  const keys = Object.keys(tree);
  // A random rotation and maybe a reversal: documents in any key order.
  const shift = pick(style, keys.length || 1);
  const rotated = [...keys.slice(shift), ...keys.slice(0, shift)];
  const order = pick(style, 2) === 0 ? rotated : rotated.reverse();
  const lines: string[] = [];
  for (const key of order) {
    const value = tree[key] as Tree | string | number | boolean;
    if (pick(style, 4) === 0) lines.push(`${pad}# about ${key}`);
    if (typeof value === 'object') {
      if (pick(style, 2) === 0) {
        lines.push(`${pad}${quoteKey(key, false)}: ${writeFlow(value, style)}${pick(style, 3) === 0 ? '  # flow' : ''}`);
      } else if (Object.keys(value).length === 0) {
        lines.push(`${pad}${quoteKey(key, false)}: {}`);
      } else {
        lines.push(`${pad}${quoteKey(key, false)}:`, ...writeBlock(value, style, depth + 1));
      }
    } else if (typeof value === 'string' && /^[^\s][^\r]*\n/.test(value) && pick(style, 2) === 0) {
      lines.push(`${pad}${quoteKey(key, false)}: ${literalBlock(value, pad + ' '.repeat(style.indent))}`);
    } else {
      lines.push(`${pad}${quoteKey(key, false)}: ${quoteScalar(value, style, false)}${pick(style, 3) === 0 ? '   # note' : ''}`);
    }
  }
  return lines;
}

function writeFlow(tree: Tree, style: Style): string {
  const entries = Object.entries(tree).map(([k, v]) => `${quoteKey(k, true)}: ${typeof v === 'object' ? writeFlow(v, style) : quoteScalar(v, style, true)}`);
  if (entries.length === 0) return '{}';
  return pick(style, 2) === 0 ? `{ ${entries.join(', ')} }` : `{${entries.join(', ')}}`;
}

function writeDocument(resource: Resource, style: Style): string[] {
  const tree = JSON.parse(JSON.stringify(resource)) as Tree;
  const lines: string[] = [];
  if (pick(style, 3) === 0) lines.push('# a comment on the document');
  lines.push(...writeBlock(tree, style, 0));
  if (pick(style, 4) === 0) lines.push('status:', `${' '.repeat(style.indent)}phase: active`);
  return lines;
}

interface FileLayout {
  modeline: boolean;
  leadingMarker: boolean;
  crlf: boolean;
  trailingNewline: boolean;
  indent: number;
  choices: number[];
}

const layoutArb: fc.Arbitrary<FileLayout> = fc.record({
  modeline: fc.boolean(),
  leadingMarker: fc.boolean(),
  crlf: fc.boolean(),
  trailingNewline: fc.boolean(),
  indent: fc.constantFrom(2, 4),
  choices: fc.array(fc.nat(97), { minLength: 1, maxLength: 40 }),
});

/** A file of several documents; `parts[0]` is the head, `parts[i + 1]` document i with the separator before it. */
function writeFile(resources: Resource[], layout: FileLayout): { text: string; parts: string[] } {
  const eol = layout.crlf ? '\r\n' : '\n';
  const style: Style = { choices: [...layout.choices], indent: layout.indent };
  const head = layout.modeline ? `# yaml-language-server: $schema=../schema/llm.schema.json${eol}` : '';
  const separators = ['---\n', '\n---\n', '# between\n---\n', '\n# above the marker\n---\n', '--- # a marker comment\n', '---\n\n'];
  const parts = resources.map((r, i) => {
    const separator = (i === 0 ? (layout.leadingMarker ? '---\n' : '') : (separators[pick(style, separators.length)] as string)).replace(/\n/g, eol);
    const end = pick(style, 5) === 0 ? `...${eol}` : '';
    return `${separator}${writeDocument(r, style).join('\n').replace(/\n/g, eol)}${eol}${end}`;
  });
  let text = head + parts.join('');
  if (!layout.trailingNewline) text = text.replace(/\r?\n$/, '');
  return { text, parts: [head, ...parts] };
}

function keyOf(resource: Resource): string {
  return `${resource.kind}/${resource.metadata.name}`;
}

function canonicalOf(resource: Resource): Resource {
  return canonicalizeResource(resource.kind === 'LlmPool' ? { ...resource, spec: resource.spec ?? {} } : resource);
}

/**
 * Lines changed, counted as a reviewer reads them: a file without a final newline shows its
 * last line as changed when a line is added after it, which is not a change of that line.
 */
function changedLineCount(before: string, after: string): number {
  const eol = before.includes('\r\n') ? '\r\n' : '\n';
  const { removed, added } = lineDiff(before.replace(/\r?\n?$/, eol), after.replace(/\r?\n?$/, eol));
  return Math.max(removed.length, added.length);
}

describe('properties', () => {
  const fileArb = fc
    .tuple(fc.array(resourceArb, { minLength: 1, maxLength: 3 }), layoutArb)
    .filter(([resources]) => new Set(resources.map(keyOf)).size === resources.length);

  it(
    'a replaced document reads back as exactly the new resource; the others stay byte for byte',
    () => {
      fc.assert(
        fc.property(fileArb, fc.nat(), llmArb(fc.constantFrom(...NAMES, 'renamed')), poolArb(fc.constantFrom(...NAMES, 'renamed')), ([resources, layout], pickIndex, nextLlm, nextPool) => {
          const index = pickIndex % resources.length;
          const target = resources[index] as Resource;
          const candidate: Resource = target.kind === 'Llm' ? nextLlm : nextPool;
          const taken = resources.filter((r, i) => i !== index && r.kind === target.kind).map((r) => r.metadata.name);
          const next = (taken.includes(candidate.metadata.name) ? { ...candidate, metadata: { ...candidate.metadata, name: target.metadata.name } } : candidate) as Resource;
          const { text, parts } = writeFile(resources, layout);
          expect(resourcesOf(text).get(keyOf(target))).toEqual(canonicalOf(target));

          const after = textOf(replaceResourceInText(text, target.kind, target.metadata.name, canonicalOf(next)));
          expect(resourcesOf(after).get(keyOf(next))).toEqual(canonicalOf(next));
          expect([...resourcesOf(after).keys()]).toEqual(resources.map((r, i) => (i === index ? keyOf(next) : keyOf(r))));
          // Untouched documents: everything before and after the target's text is the same bytes.
          const prefix = parts.slice(0, index + 1).join('');
          expect(after.startsWith(prefix)).toBe(true);
          const suffix = text.slice(prefix.length + (parts[index + 1] as string).length);
          expect(after.endsWith(suffix)).toBe(true);
          expect(after.includes('\r\n')).toBe(layout.crlf);
          if (layout.crlf) expect(after.replace(/\r\n/g, '')).not.toContain('\n');
          expect(after.endsWith('\n')).toBe(text.endsWith('\n'));
          // Same resource again: nothing to do.
          expect(replaceResourceInText(after, next.kind, next.metadata.name, canonicalOf(next))).toEqual({ ok: true, text: after, changed: false });
        }),
        { numRuns: 150 * RUNS_FACTOR },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'drain and undrain are one-line diffs on any file',
    () => {
      fc.assert(
        fc.property(fileArb, fc.nat(), ([resources, layout], pickIndex) => {
          const llms = resources.filter((r): r is Llm => r.kind === 'Llm');
          fc.pre(llms.length > 0);
          const target = llms[pickIndex % llms.length] as Llm;
          const { text } = writeFile(resources, layout);
          const drained = textOf(setFieldInText(text, 'Llm', target.metadata.name, ['spec', 'enabled'], false));
          const undrained = textOf(setFieldInText(drained, 'Llm', target.metadata.name, ['spec', 'enabled'], undefined));
          expect(changedLineCount(text, drained)).toBe(target.spec.enabled === false ? 0 : 1);
          expect(changedLineCount(drained, undrained)).toBe(1);
          expect((resourcesOf(drained).get(keyOf(target)) as Llm).spec.enabled).toBe(false);
          expect((resourcesOf(undrained).get(keyOf(target)) as Llm).spec.enabled).toBeUndefined();
        }),
        { numRuns: 100 * RUNS_FACTOR },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'removing a document leaves the others byte for byte',
    () => {
      fc.assert(
        fc.property(fileArb, fc.nat(), ([resources, layout], pickIndex) => {
          const index = pickIndex % resources.length;
          const target = resources[index] as Resource;
          const { text } = writeFile(resources, layout);
          const after = textOf(removeResourceFromText(text, target.kind, target.metadata.name));
          expect([...resourcesOf(after).keys()]).toEqual(resources.filter((_, i) => i !== index).map(keyOf));
          // Each remaining document's content (first key to last value) is the same bytes.
          expect(documentContents(after)).toEqual(documentContents(text).filter((_, i) => i !== index));
          if (after.trim() !== '') expect(after.endsWith('\n')).toBe(text.endsWith('\n'));
        }),
        { numRuns: 100 * RUNS_FACTOR },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
