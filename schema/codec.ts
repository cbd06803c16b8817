// The YAML codec: resource files in, located resources or diagnostics out; canonical YAML back.
import { createHash } from 'node:crypto';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, stringify, visit, type Alias, type Document, type Node, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { compareDiagnostics, type Diagnostic, type DiagnosticCode } from './diagnostics.js';
import {
  API_VERSION,
  canonicalizeResource,
  llmPoolSchema,
  llmSchema,
  type Llm,
  type LlmPool,
  type Resource,
} from './resources.js';

export interface Located<T extends Resource> {
  resource: T;
  file: string;
  /** Position of the document's first key. */
  line: number;
  col: number;
  /** Index of the document within its file (0-based, counting empty documents). */
  docIndex: number;
  /** Line of the key of every field present, by dotted path (`spec.poolName`, `metadata.labels.team`). */
  fieldLines: Record<string, number>;
}
export type LocatedLlm = Located<Llm>;
export type LocatedPool = Located<LlmPool>;

export interface FileParse {
  llms: LocatedLlm[];
  pools: LocatedPool[];
  diagnostics: Diagnostic[];
}

export interface SourceFile {
  /** Path as users see it, relative to the repository root (`llms/pool.yaml`). */
  path: string;
  text: string;
  /** Content hash (a Git blob id, say); computed when absent. */
  hash?: string;
}

export type LoadResult =
  | { ok: true; llms: LocatedLlm[]; pools: LocatedPool[] }
  | { ok: false; diagnostics: Diagnostic[]; llms: LocatedLlm[]; pools: LocatedPool[] };

const SECRET_KEY = /^(api[-_]?key|apikey|token|access[-_]?token|bearer|password|passwd|secret|client[-_]?secret|authorization)$/i;
/** Keys that, inside apiKeyRef, can only hold the secret itself. */
const SECRET_REF_KEY = /^(value|key|secret|api[-_]?key|apikey|token|access[-_]?token|bearer|password|passwd|client[-_]?secret|authorization)$/i;

/** Parses one file's text. Pure: the same text and path always give the same answer. */
export function parseResourceFile(file: string, text: string): FileParse {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const out: FileParse = { llms: [], pools: [], diagnostics: [] };
  const at = (offset: number | undefined): { line: number; col: number } => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, col: pos.col };
  };
  const push = (code: DiagnosticCode, offset: number | undefined, path: string, message: string): void => {
    out.diagnostics.push({ code, file, ...at(offset), path, message });
  };

  if (!Array.isArray(docs)) {
    // parseAllDocuments returns an EmptyStream for an empty file: no resources, no error.
    return out;
  }
  docs.forEach((doc, docIndex) => {
    if (doc.errors.length > 0) {
      // yaml often reports one mistake several times over (a bad indent is also a multi-line key);
      // the first error of each line is the one worth reading.
      const lines = new Set<number>();
      for (const error of doc.errors) {
        const described = describeYamlError(error, text, doc.range?.[0] ?? 0);
        const { line } = at(described.offset);
        if (lines.has(line)) continue;
        lines.add(line);
        push('YamlSyntax', described.offset, '', `invalid YAML: ${described.message}`);
      }
      return;
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) return; // an empty document
    if (!isMap(root)) {
      push('NotAMapping', root.range?.[0], '', `expected a mapping with apiVersion, kind, metadata and spec, found ${describeNode(root)}`);
      return;
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // toJS throws (rather than reporting) on an alias with no anchor in its document and on alias bombs.
      const alias = findUnresolvedAlias(doc);
      if (alias !== undefined) {
        push('YamlSyntax', alias.range?.[0], '', `invalid YAML: alias *${alias.source} has no anchor &${alias.source} before it in this document (anchors do not cross ---)`);
      } else {
        const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
        const reason = /excessive alias count/i.test(message) ? 'aliases expand too far (an alias bomb?): refusing to expand them' : message;
        push('YamlSyntax', root.range?.[0], '', `invalid YAML: ${reason}`);
      }
      return;
    }
    const record = data as Record<string, unknown>;
    const offsetOf = (path: (string | number)[]): number | undefined => nodeOffset(doc, path);

    // A wrong header makes every other check moot (another version has other fields), but both header
    // fields are checked so that one pass shows both mistakes.
    let headerOk = true;
    if (record.apiVersion !== API_VERSION) {
      headerOk = false;
      push('InvalidApiVersion', offsetOf(['apiVersion']) ?? root.range?.[0], 'apiVersion', `expected "${API_VERSION}", found ${describeHeaderValue(record.apiVersion)}`);
    }
    const kind = record.kind;
    if (kind !== 'Llm' && kind !== 'LlmPool') {
      push('InvalidKind', offsetOf(['kind']) ?? root.range?.[0], 'kind', `expected Llm or LlmPool, found ${describeHeaderValue(kind)}`);
      return;
    }
    if (!headerOk) return;

    const fieldLines: Record<string, number> = {};
    const reservedKeys: { offset: number | undefined; path: string }[] = [];
    collectFieldLines(root, '', fieldLines, lineCounter, reservedKeys);
    // JavaScript objects cannot hold an own `__proto__` key through validation: it would vanish silently.
    for (const key of reservedKeys) push('InvalidValue', key.offset, key.path, 'the key "__proto__" is not allowed');

    const secrets = findInlineSecrets(doc);
    for (const secret of secrets) push('InlineSecret', secret.offset, secret.path, secret.message);

    const schema = kind === 'Llm' ? llmSchema : llmPoolSchema;
    const parsed = schema.safeParse(data, { reportInput: true });
    if (!parsed.success || secrets.length > 0 || reservedKeys.length > 0) {
      const reported = new Set<string>();
      const described = (parsed.error?.issues ?? []).flatMap((issue) => describeIssue(issue, kind, data));
      // A misspelt key (`metdata`) is one mistake: its did-you-mean says it, "metadata is missing" would repeat it.
      const misspelt = new Set(described.flatMap((d) => (d.suggestion === undefined ? [] : [[...d.path.slice(0, -1), d.suggestion].join('.')])));
      for (const d of described) {
        const path = d.path.join('.');
        if (d.code === 'MissingField' && misspelt.has(path)) continue;
        // A secret is reported once, as a secret, not again as an unknown or invalid field.
        if (secrets.some((s) => path === s.scope || path.startsWith(`${s.scope}.`))) continue;
        // One reason per field: a name both too long and badly formed needs one line, not two.
        if (reported.has(path)) continue;
        reported.add(path);
        const offset = d.code === 'UnknownField' ? keyOffset(doc, d.path) : offsetOf(d.path);
        push(d.code, offset ?? nearestOffset(doc, d.path), path, d.message);
      }
      return;
    }
    const first = root.items[0];
    const start = at(isPair(first) && isScalar(first.key) ? first.key.range?.[0] : root.range?.[0]);
    if (kind === 'Llm') {
      const { status: _ignored, ...llm } = parsed.data as z.infer<typeof llmSchema>;
      out.llms.push({ resource: llm as Llm, file, ...start, docIndex, fieldLines });
    } else {
      const { status: _ignored, ...pool } = parsed.data as z.infer<typeof llmPoolSchema>;
      out.pools.push({ resource: { ...pool, spec: pool.spec ?? {} } as LlmPool, file, ...start, docIndex, fieldLines });
    }
  });
  out.diagnostics.sort(compareDiagnostics);
  return out;
}

/**
 * Remembers file parses by path and content, so that a one-file change re-reads one file.
 * Content is the given hash (a Git blob id) when both sides have one, else the text itself:
 * comparing equal strings costs less than hashing them, which matters on a 10,000-file reload.
 */
export class ParseCache {
  private entries = new Map<string, CacheEntry[]>();
  private generation = 0;
  hits = 0;
  misses = 0;

  parse(file: SourceFile): FileParse {
    const versions = this.entries.get(file.path);
    const entry = versions === undefined ? undefined : findVersion(versions, file);
    if (entry !== undefined) {
      this.hits++;
      entry.usedIn = this.generation;
      return entry.parse;
    }
    this.misses++;
    const parsed = parseResourceFile(file.path, file.text);
    const created: CacheEntry = { text: file.text, hash: file.hash, parse: parsed, usedIn: this.generation };
    if (versions === undefined) this.entries.set(file.path, [created]);
    else versions.push(created);
    return parsed;
  }

  /** Keeps only the entries of `files` (one revision), bounding memory to it. */
  retain(files: SourceFile[]): void {
    const keep = ++this.generation;
    for (const file of files) {
      const versions = this.entries.get(file.path);
      const entry = versions === undefined ? undefined : findVersion(versions, file);
      if (entry !== undefined) entry.usedIn = keep;
    }
    for (const [path, versions] of this.entries) {
      // The common case, one version per path, allocates nothing.
      if (versions.length === 1 && versions[0]?.usedIn === keep) continue;
      const kept = versions.filter((e) => e.usedIn === keep);
      if (kept.length === 0) this.entries.delete(path);
      else this.entries.set(path, kept);
    }
  }

  get size(): number {
    let n = 0;
    for (const versions of this.entries.values()) n += versions.length;
    return n;
  }
}

interface CacheEntry {
  text: string;
  hash: string | undefined;
  parse: FileParse;
  usedIn: number;
}

function findVersion(versions: CacheEntry[], file: SourceFile): CacheEntry | undefined {
  for (const entry of versions) {
    const same = entry.hash !== undefined && file.hash !== undefined ? entry.hash === file.hash : entry.text === file.text;
    if (same) return entry;
  }
  return undefined;
}

export function hashText(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Loads a whole revision: every file parsed (through the cache when given), then the
 * cross-file rules (unique Llm names, unique pool documents). All or nothing.
 */
export function loadResources(files: SourceFile[], cache?: ParseCache): LoadResult {
  // Sources usually list files in order already (Git trees do); checking is O(n), sorting is not.
  const sorted = isSortedByPath(files) ? files : [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parses = sorted.map((f) => (cache ? cache.parse(f) : parseResourceFile(f.path, f.text)));
  if (cache) cache.retain(sorted);
  const diagnostics: Diagnostic[] = [];
  const llms: LocatedLlm[] = [];
  const pools: LocatedPool[] = [];
  const llmSeen = new Map<string, LocatedLlm>();
  const poolSeen = new Map<string, LocatedPool>();
  const textOf = (path: string): string => sorted.find((f) => f.path === path)?.text ?? '';
  for (const parse of parses) {
    for (const d of parse.diagnostics) diagnostics.push(d);
    for (const llm of parse.llms) {
      const first = llmSeen.get(llm.resource.metadata.name);
      if (first) {
        diagnostics.push(duplicate('DuplicateName', 'Llm', llm, first, textOf(llm.file)));
        continue;
      }
      llmSeen.set(llm.resource.metadata.name, llm);
      llms.push(llm);
    }
    for (const pool of parse.pools) {
      const first = poolSeen.get(pool.resource.metadata.name);
      if (first) {
        diagnostics.push(duplicate('DuplicatePool', 'LlmPool', pool, first, textOf(pool.file)));
        continue;
      }
      poolSeen.set(pool.resource.metadata.name, pool);
      pools.push(pool);
    }
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics: diagnostics.sort(compareDiagnostics), llms, pools };
  return { ok: true, llms, pools };
}

function isSortedByPath(files: readonly SourceFile[]): boolean {
  for (let i = 1; i < files.length; i++) if ((files[i - 1] as SourceFile).path > (files[i] as SourceFile).path) return false;
  return true;
}

function duplicate(code: DiagnosticCode, kind: string, second: Located<Resource>, first: Located<Resource>, text: string): Diagnostic {
  const name = second.resource.metadata.name;
  const line = second.fieldLines['metadata.name'] ?? second.line;
  return {
    code,
    file: second.file,
    line,
    col: valueColumn(text, line, 'name') ?? second.col,
    path: 'metadata.name',
    message: `duplicate ${kind} name ${JSON.stringify(name)}: already declared at ${first.file}:${first.fieldLines['metadata.name'] ?? first.line}`,
  };
}

/** Column (1-based) of the value of `key` on a given line, for positions the parse did not keep. */
function valueColumn(text: string, line: number, key: string): number | undefined {
  let start = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf('\n', start);
    if (next < 0) return undefined;
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  const lineText = text.slice(start, end < 0 ? undefined : end);
  const match = new RegExp(`(^|[\\s{,])["']?${key}["']?\\s*:\\s*`).exec(lineText);
  return match === null ? undefined : match.index + match[0].length + 1;
}

/** Canonical YAML (DESIGN §1): fixed key order, 2-space indent, defaults omitted, no status. */
export function toCanonicalYaml(resources: Resource[]): string {
  return resources.map((r) => stringifyResource(canonicalizeResource(r))).join('---\n');
}

export function stringifyResource(value: unknown): string {
  return stringify(value, { indent: 2, lineWidth: 0, minContentWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
}

interface IssueDescription {
  code: DiagnosticCode;
  path: (string | number)[];
  message: string;
  /** For an unknown field: the known field it is probably a misspelling of. */
  suggestion?: string;
}

function describeIssue(issue: z.core.$ZodIssue, kind: 'Llm' | 'LlmPool', data: unknown): IssueDescription[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const input = 'input' in issue ? issue.input : undefined;
  if (issue.message.startsWith('invalid name')) {
    const found =
      typeof input === 'string' && input.length > 63 ? `${input.length} characters` : input === '' ? 'an empty string' : describeValue(input);
    return [{ code: 'InvalidName', path, message: `${issue.message}, found ${found}` }];
  }
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownFieldsAt(kind, path);
        const suggestion = known === undefined ? undefined : closestField(known, key);
        const hint =
          known === undefined
            ? ''
            : suggestion !== undefined
              ? ` (did you mean ${JSON.stringify(suggestion)}?)`
              : known.length === 1
                ? ` (the only field here is ${known[0] ?? ''})`
                : ` (expected one of ${known.join(', ')})`;
        const description: IssueDescription = { code: 'UnknownField', path: [...path, key], message: `unknown field ${JSON.stringify(key)}${hint}` };
        if (suggestion !== undefined) description.suggestion = suggestion;
        return description;
      });
    case 'invalid_type': {
      const expected = isZodDefault(issue.message) ? describeType(issue.expected) : issue.message.replace(/^expected /, '');
      if (input === undefined) return [{ code: 'MissingField', path, message: `required field is missing (expected ${expected})` }];
      return [{ code: 'InvalidValue', path, message: `expected ${expected}, found ${describeValue(input)}${quoteHint(issue.expected, input)}` }];
    }
    case 'invalid_value': {
      const expected = issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => String(v)).join(', ')}`;
      if (input === undefined) return [{ code: 'MissingField', path, message: `required field is missing (expected ${expected})` }];
      return [{ code: 'InvalidValue', path, message: `expected ${expected}, found ${describeValue(input)}` }];
    }
    case 'too_small':
    case 'too_big': {
      const expected = isZodDefault(issue.message) ? describeBound(issue) : issue.message;
      const found = typeof input === 'string' ? (input.length === 0 ? 'an empty string' : `${input.length} characters`) : describeValue(input);
      return [{ code: 'InvalidValue', path, message: `${expected}, found ${found}` }];
    }
    case 'custom':
      // Refinements (a static Llm's url) report fields that may be absent: absent is "missing".
      if (valueAt(data, path) === undefined) return [{ code: 'MissingField', path, message: `required field is missing: ${issue.message}` }];
      return [{ code: 'InvalidValue', path, message: issue.message }];
    default:
      return [{ code: 'InvalidValue', path, message: `${issue.message}${input === undefined ? '' : `, found ${describeValue(input)}`}` }];
  }
}

/** zod's built-in messages ("Invalid input: …", "Too small: …") versus ones our schemas set. */
function isZodDefault(message: string): boolean {
  return /^(Invalid input|Too small|Too big)\b/.test(message);
}

function describeType(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

function describeBound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'string') return small ? `expected at least ${inclusive ? bound : bound + 1} characters` : `expected at most ${inclusive ? bound : bound - 1} characters`;
  if (issue.origin === 'array' || issue.origin === 'set') return small ? `expected at least ${bound} items` : `expected at most ${bound} items`;
  const op = small ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<';
  return `expected a number ${op} ${bound}`;
}

/** YAML reads `1`, `1.5` and `true` as numbers and booleans; where text is expected, say how to keep it text. */
function quoteHint(expected: string, input: unknown): string {
  if (expected !== 'string' || (typeof input !== 'number' && typeof input !== 'boolean')) return '';
  return ` (put it in quotes: ${JSON.stringify(String(input))})`;
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

const KNOWN_FIELDS: Record<string, string[]> = {
  '': ['apiVersion', 'kind', 'metadata', 'spec'],
  metadata: ['name', 'labels', 'annotations'],
  'Llm spec': ['type', 'model', 'url', 'poolName', 'source', 'enabled', 'apiKeyRef'],
  'LlmPool spec': ['minActive', 'description'],
  'Llm spec.apiKeyRef': ['env'],
};

function knownFieldsAt(kind: string, path: (string | number)[]): string[] | undefined {
  const joined = path.join('.');
  return KNOWN_FIELDS[joined] ?? KNOWN_FIELDS[`${kind} ${joined}`];
}

/** The known field a key most likely misspells: same letters in another case, or at most two edits away. */
function closestField(known: string[], key: string): string | undefined {
  const lower = key.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower) ?? known.find((k) => editDistance(k.toLowerCase(), lower) <= 2);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** apiVersion and kind are plain strings: show them as written, or say what else was there. */
function describeHeaderValue(value: unknown): string {
  return value === undefined ? 'nothing' : describeValue(value);
}

function describeNode(node: Node): string {
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeValue(node.value);
  return 'something else';
}

/**
 * yaml's own words, reworded where they name parser internals, and moved to where the mistake is
 * (the opening quote or bracket) rather than where the parser gave up.
 */
function describeYamlError(error: YAMLError, text: string, docStart: number): { offset: number; message: string } {
  const offset = error.pos[0];
  // yaml's messages may continue with a source excerpt; keep the first line, whose position we give.
  const original = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
  switch (error.code) {
    case 'TAB_AS_INDENT':
      return { offset, message: 'a tab is used for indentation: indent with spaces' };
    case 'DUPLICATE_KEY': {
      const key = /^("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^:\n]*?)\s*:/.exec(text.slice(offset, offset + 1100))?.[1];
      return { offset, message: `duplicate key${key === undefined || key === '' ? '' : ` ${JSON.stringify(key.replace(/^["']|["']$/g, ''))}`}: a key may appear only once in a mapping` };
    }
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return { offset, message: 'bad indentation: the next line is indented deeper than this key, which already has a value' };
    case 'BAD_INDENT':
      if (original.startsWith('Flow map') || original.startsWith('Flow sequence')) {
        const [open, close, what] = original.startsWith('Flow map') ? ['{', '}', 'flow mapping'] : ['[', ']', 'flow sequence'];
        const opener = findOpener(text, docStart, offset, open, close);
        return { offset: opener ?? offset, message: `${what} opened with ${open} is never closed (expected ${close})` };
      }
      if (original.startsWith('All mapping items')) {
        return { offset: skipSpaces(text, offset), message: 'bad indentation: this key does not line up with the other keys of its mapping' };
      }
      return { offset, message: `bad indentation: ${original}` };
    case 'MISSING_CHAR': {
      const quote = /^Missing closing (["'])quote/.exec(original)?.[1];
      if (quote !== undefined) {
        const opener = findQuoteOpener(text, docStart, offset, quote);
        return { offset: opener ?? offset, message: `string opened with ${quote} is never closed (expected a closing ${quote})` };
      }
      return { offset, message: original };
    }
    default:
      return { offset, message: original };
  }
}

function findUnresolvedAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

function skipSpaces(text: string, offset: number): number {
  let n = offset;
  while (text[n] === ' ') n++;
  return n;
}

/** The unmatched `open` before `offset`, counting nested pairs (quotes are not tracked; a fallback is kept). */
function findOpener(text: string, from: number, offset: number, open: string, close: string): number | undefined {
  let depth = 0;
  for (let n = Math.min(offset, text.length) - 1; n >= from; n--) {
    const c = text[n];
    if (c === close) depth++;
    else if (c === open) {
      if (depth === 0) return n;
      depth--;
    }
  }
  return undefined;
}

/** An unclosed quoted string runs to the end, so its opening quote is the last lone one before `offset`. */
function findQuoteOpener(text: string, from: number, offset: number, quote: string): number | undefined {
  for (let n = Math.min(offset, text.length) - 1; n >= from; n--) {
    if (text[n] !== quote) continue;
    if (quote === '"' && text[n - 1] === '\\') continue;
    if (quote === "'" && text[n - 1] === "'") {
      n--; // '' is an escaped quote inside a single-quoted string
      continue;
    }
    return n;
  }
  return undefined;
}

interface SecretFinding {
  offset: number | undefined;
  path: string;
  /** Issues at or under this path are not reported again. */
  scope: string;
  message: string;
}

function findInlineSecrets(doc: Document): SecretFinding[] {
  const found: SecretFinding[] = [];
  const spec = doc.get('spec', true);
  if (!isMap(spec)) return found;
  for (const pair of spec.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const value = pair.value as Node | null;
    if (SECRET_KEY.test(key)) {
      const path = `spec.${key}`;
      found.push({ offset: pair.key.range?.[0], path, scope: path, message: 'inline secrets are not allowed: reference the key with apiKeyRef: { env: VAR_NAME }' });
    } else if (key === 'apiKeyRef' && isMap(value)) {
      for (const inner of value.items) {
        if (isScalar(inner.key) && SECRET_REF_KEY.test(String(inner.key.value))) {
          found.push({
            offset: inner.key.range?.[0],
            path: `spec.apiKeyRef.${String(inner.key.value)}`,
            scope: 'spec.apiKeyRef',
            message: 'inline secrets are not allowed: apiKeyRef takes only env: VAR_NAME',
          });
        }
      }
    } else if (key === 'apiKeyRef' && value !== null && !(isScalar(value) && value.value === null)) {
      found.push({ offset: pair.key.range?.[0], path: 'spec.apiKeyRef', scope: 'spec.apiKeyRef', message: 'inline secrets are not allowed: apiKeyRef must be { env: VAR_NAME }, not a value' });
    } else if (key === 'url' && isScalar(value) && typeof value.value === 'string') {
      try {
        if (new URL(value.value).password !== '') {
          found.push({ offset: value.range?.[0], path: 'spec.url', scope: 'spec.url', message: 'inline secrets are not allowed: the URL carries a password; use apiKeyRef: { env: VAR_NAME }' });
        }
      } catch {
        // Not a URL: the schema reports it.
      }
    }
  }
  return found;
}

function nodeOffset(doc: Document, path: (string | number)[]): number | undefined {
  if (path.length === 0) return doc.contents?.range?.[0];
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isScalar(pair.key) && pair.key.value === last) {
        // Point at the value when it is written (a wrong value), at the key otherwise (`spec:` left empty).
        const value = pair.value as Node | null;
        const range = value?.range;
        return range !== undefined && range !== null && range[1] > range[0] ? range[0] : pair.key.range?.[0];
      }
    }
    return undefined;
  }
  if (isSeq(parent) && typeof last === 'number') return (parent.items[last] as Node | undefined)?.range?.[0];
  return undefined;
}

function keyOffset(doc: Document, path: (string | number)[]): number | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (!isMap(parent)) return undefined;
  for (const pair of parent.items) if (isScalar(pair.key) && pair.key.value === last) return pair.key.range?.[0];
  return undefined;
}

/** For a missing field: the key of the nearest ancestor that exists. */
function nearestOffset(doc: Document, path: (string | number)[]): number | undefined {
  for (let n = path.length - 1; n >= 1; n--) {
    const parentPath = path.slice(0, n);
    const parent = n === 1 ? doc.contents : doc.getIn(parentPath.slice(0, -1), true);
    const key = parentPath[parentPath.length - 1];
    if (isMap(parent)) {
      for (const pair of parent.items) if (isScalar(pair.key) && pair.key.value === key) return pair.key.range?.[0];
    }
  }
  return doc.contents?.range?.[0];
}

function collectFieldLines(
  node: unknown,
  prefix: string,
  out: Record<string, number>,
  lineCounter: LineCounter,
  reserved: { offset: number | undefined; path: string }[],
): void {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    const keyNode = pair.key;
    if (!isScalar(keyNode)) continue;
    const key = String(keyNode.value);
    if (prefix === '' && key === 'status') continue;
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (key === '__proto__') reserved.push({ offset: keyNode.range?.[0], path });
    out[path] = lineCounter.linePos(keyNode.range?.[0] ?? 0).line;
    if (isMap(pair.value)) collectFieldLines(pair.value, path, out, lineCounter, reserved);
  }
}
