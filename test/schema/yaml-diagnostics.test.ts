// The shared YAML diagnostics: zod issues and yaml errors placed at file:line:col with messages
// that say what was expected and what was found. Small schemas here; the resource, agent and auth
// goldens pin the real ones.
import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import {
  createKnownFieldsLookup,
  describeNode,
  describeValue,
  describeZodIssue,
  formatPath,
  locateYamlErrors,
  locateZodIssues,
  resolveDocumentData,
  type LocateIssuesOptions,
} from '../../schema/yaml-diagnostics.js';

const entrySchema = z.strictObject({
  name: z.string().min(1),
  secret: z.string().regex(/^[0-9a-f]{8}$/, 'expected 8 hex digits'),
  tags: z.array(z.string()).min(1).optional(),
  kind: z.enum(['a', 'b']).optional(),
});
const fileSchema = z.strictObject({ title: z.string(), entries: z.array(entrySchema) });

const knownFieldsAt = createKnownFieldsLookup({ '': Object.keys(fileSchema.shape), 'entries[]': Object.keys(entrySchema.shape) });

function errorsOf(text: string, options: Partial<LocateIssuesOptions> = {}): string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return locateYamlErrors('f.yaml', doc, text, lineCounter).map(formatDiagnostic);
  const resolved = resolveDocumentData('f.yaml', doc, lineCounter);
  if (!resolved.ok) return [formatDiagnostic(resolved.diagnostic)];
  const parsed = fileSchema.safeParse(resolved.data, { reportInput: true });
  if (parsed.success) return [];
  const located = locateZodIssues('f.yaml', doc, lineCounter, parsed.error.issues, { data: resolved.data, knownFieldsAt, pathStyle: 'brackets', ...options });
  return located.map(formatDiagnostic);
}

const entry = (lines: string): string => `title: t\nentries:\n  - name: n\n${lines}`;

describe('formatPath', () => {
  it.each([
    [['spec', 'poolName'], 'dotted', 'spec.poolName'],
    [['tokens', 0, 'sha256'], 'dotted', 'tokens.0.sha256'],
    [['providers', 0, 'model'], 'brackets', 'providers[0].model'],
    [['matrix', 1, 2], 'brackets', 'matrix[1][2]'],
    [[], 'brackets', ''],
  ] as const)('writes %j in %s style as %j', (path, style, text) => {
    expect(formatPath(path, style)).toBe(text);
  });
});

describe('createKnownFieldsLookup', () => {
  const lookup = createKnownFieldsLookup({ '': ['a', 'b'], 'items[]': ['x'], 'spec.ref': ['env'] });
  it.each([
    [[], ['a', 'b']],
    [['items', 3], ['x']],
    [['spec', 'ref'], ['env']],
    [['items'], undefined],
    [['constructor'], undefined],
  ] as const)('finds the fields at %j', (path, fields) => {
    expect(lookup(path)).toEqual(fields);
  });
});

describe('locateZodIssues', () => {
  it.each([
    ['a wrong value, at the value', entry('    secret: zz\n'), ['f.yaml:4:13: entries[0].secret: expected 8 hex digits, found "zz"']],
    ['an unknown field, at its key, with the known ones', entry('    secret: 0123abcd\n    colour: red\n'), ['f.yaml:5:5: entries[0].colour: unknown field "colour" (expected one of name, secret, tags, kind)']],
    ['a misspelt field once, with a did-you-mean', entry('    secrte: 0123abcd\n'), ['f.yaml:4:5: entries[0].secrte: unknown field "secrte" (did you mean "secret"?)']],
    ['a key in another case as the field it is', 'Title: t\nentries: []\n', ['f.yaml:1:1: Title: unknown field "Title" (did you mean "title"?)']],
    ['a missing field, at its list entry', entry(''), ['f.yaml:3:5: entries[0].secret: required field is missing (expected a string)']],
    ['a missing top-level field, at the mapping', 'entries: []\n', ['f.yaml:1:1: title: required field is missing (expected a string)']],
    ['an empty value, at its key', 'title:\nentries: []\n', ['f.yaml:1:1: title: expected a string, found an empty value']],
    ['a number where text is expected, with a quote hint', 'title: 1.5\nentries: []\n', ['f.yaml:1:8: title: expected a string, found number 1.5 (put it in quotes: "1.5")']],
    ['a value outside an enum', entry('    secret: 0123abcd\n    kind: c\n'), ['f.yaml:5:11: entries[0].kind: expected one of a, b, found "c"']],
    ['an empty list where one item is needed', entry('    secret: 0123abcd\n    tags: []\n'), ['f.yaml:5:11: entries[0].tags: expected at least 1 item, found an empty list']],
    ['an empty string where one character is needed', 'title: t\nentries:\n  - name: ""\n    secret: 0123abcd\n', ['f.yaml:3:11: entries[0].name: expected at least 1 character, found an empty string']],
    ['a mapping where a list is expected', 'title: t\nentries: {}\n', ['f.yaml:2:10: entries: expected a list, found a mapping']],
  ])('reports %s', (_case, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  it('writes dotted paths when asked', () => {
    expect(errorsOf(entry('    secret: zz\n'), { pathStyle: 'dotted' })).toEqual(['f.yaml:4:13: entries.0.secret: expected 8 hex digits, found "zz"']);
  });

  it('leaves out issues at and under a path reported another way', () => {
    const text = 'title: 7\nentries:\n  - name: n\n    secret: zz\n';
    expect(errorsOf(text, { omit: (path) => path === 'entries' || path.startsWith('entries[') })).toEqual(['f.yaml:1:8: title: expected a string, found number 7 (put it in quotes: "7")']);
  });

  it.each([
    ['a value that fails its format', 'my-pasted-token', 'f.yaml:4:13: entries[0].secret: expected 8 hex digits'],
    ['a number, without a quote hint', '918273645', 'f.yaml:4:13: entries[0].secret: expected a string, found a number'],
    ['true, without a quote hint', 'true', 'f.yaml:4:13: entries[0].secret: expected a string, found a boolean'],
  ])('never shows the value of a secret field: %s', (_case, value, expected) => {
    const errors = errorsOf(entry(`    secret: ${value}\n`), { secretFields: ['secret'] });
    expect(errors).toEqual([expected]);
    expect(errors.join('\n')).not.toContain(value);
  });
});

describe('describeZodIssue', () => {
  const issuesOf = (schema: z.ZodType, data: unknown): z.core.$ZodIssue[] => schema.safeParse(data, { reportInput: true }).error?.issues ?? [];

  it('says "the only field here" where a mapping has one field', () => {
    const [issue] = issuesOf(z.strictObject({ env: z.string() }), { env: 'X', value: 'y' });
    expect(describeZodIssue(issue as z.core.$ZodIssue, { data: undefined, knownFieldsAt: () => ['env'] })).toEqual([
      { code: 'UnknownField', path: ['value'], message: 'unknown field "value" (the only field here is env)' },
    ]);
  });

  it('names an unknown field without a hint where the known fields are not given', () => {
    const [issue] = issuesOf(z.strictObject({ a: z.string() }), { a: 'x', b: 1 });
    expect(describeZodIssue(issue as z.core.$ZodIssue, { data: undefined })).toEqual([{ code: 'UnknownField', path: ['b'], message: 'unknown field "b"' }]);
  });

  it('tells a refinement on an absent field (missing) from one on a present field (invalid)', () => {
    const schema = z.object({ url: z.string().optional() }).superRefine((value, ctx) => {
      if (value.url === undefined || value.url === 'bad') ctx.addIssue({ code: 'custom', path: ['url'], message: 'a static entry needs a url' });
    });
    const [absent] = issuesOf(schema, {});
    const [present] = issuesOf(schema, { url: 'bad' });
    expect(describeZodIssue(absent as z.core.$ZodIssue, { data: {} })[0]).toMatchObject({ code: 'MissingField', message: 'required field is missing: a static entry needs a url' });
    expect(describeZodIssue(present as z.core.$ZodIssue, { data: { url: 'bad' } })[0]).toMatchObject({ code: 'InvalidValue', message: 'a static entry needs a url' });
  });

  it('describes bounds of numbers with the comparison', () => {
    const [issue] = issuesOf(z.number().gt(0), 0);
    expect(describeZodIssue(issue as z.core.$ZodIssue, { data: 0 })[0]?.message).toBe('expected a number > 0, found number 0');
  });
});

describe('YAML errors', () => {
  it.each([
    ['an unclosed flow sequence, at its bracket', 'title: t\nentries: [\n', ['f.yaml:2:10: invalid YAML: flow sequence opened with [ is never closed (expected ])']],
    ['an unclosed flow mapping, at its brace', 'title: {a: 1\n', ['f.yaml:1:8: invalid YAML: flow mapping opened with { is never closed (expected })']],
    ['an unterminated string, at its quote', 'title: "t\nentries: []\n', ['f.yaml:1:8: invalid YAML: string opened with " is never closed (expected a closing ")']],
    ['a duplicate key, naming it', 'title: a\ntitle: b\n', ['f.yaml:2:1: invalid YAML: duplicate key "title": a key may appear only once in a mapping']],
    ['a tab used for indentation', 'title: t\nentries:\n\t- name: n\n', ['f.yaml:3:1: invalid YAML: a tab is used for indentation: indent with spaces']],
    ['a misaligned key', 'title:\n   a: 1\n  b: 2\n', ['f.yaml:3:3: invalid YAML: bad indentation: this key does not line up with the other keys of its mapping']],
    [
      'a line indented too deep, once though yaml reports it twice',
      'title:\n  a: 1\n   b: 2\n',
      ['f.yaml:2:6: invalid YAML: bad indentation: the next line is indented deeper than this key, which already has a value'],
    ],
  ])('reports %s', (_case, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  it('reports an alias without an anchor where toJS would throw', () => {
    expect(errorsOf('title: *nope\nentries: []\n')).toEqual(['f.yaml:1:8: invalid YAML: alias *nope has no anchor &nope before it in this document (anchors do not cross ---)']);
  });

  it('refuses to expand an alias bomb', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let n = 1; n < 6; n++) levels.push(`l${n}: &l${n} [${Array.from({ length: 10 }, () => (n === 1 ? '*a' : `*l${n - 1}`)).join(', ')}]`);
    expect(errorsOf(`${levels.join('\n')}\n`)).toEqual(['f.yaml:1:1: invalid YAML: aliases expand too far (an alias bomb?): refusing to expand them']);
  });
});

describe('describeValue and describeNode', () => {
  it.each([
    [null, 'an empty value'],
    [undefined, 'nothing'],
    ['x', '"x"'],
    ['y'.repeat(61), `"${'y'.repeat(60)}"…`],
    [3, 'number 3'],
    [false, 'boolean false'],
    [[1], 'a list'],
    [{ a: 1 }, 'a mapping'],
  ])('describes %j as %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  it('describes a node by what it holds', () => {
    const node = (text: string) => parseDocument(text).contents;
    expect(describeNode(node('- a\n') as NonNullable<ReturnType<typeof node>>)).toBe('a list');
    expect(describeNode(node('"text"\n') as NonNullable<ReturnType<typeof node>>)).toBe('"text"');
  });
});
