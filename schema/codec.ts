// The YAML codec: resource files in, located resources or diagnostics out; canonical YAML back.
import { createHash } from 'node:crypto';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, stringify, type Document, type Node } from 'yaml';
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
      for (const error of doc.errors) push('YamlSyntax', error.pos[0], '', describeYamlError(error.message));
      return;
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) return; // an empty document
    if (!isMap(root)) {
      push('NotAMapping', root.range?.[0], '', `expected a mapping with apiVersion, kind, metadata and spec, found ${describeNode(root)}`);
      return;
    }
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    const record = data as Record<string, unknown>;
    const offsetOf = (path: (string | number)[]): number | undefined => nodeOffset(doc, path);

    if (record.apiVersion !== API_VERSION) {
      const found = record.apiVersion === undefined ? 'nothing' : JSON.stringify(record.apiVersion);
      push('InvalidApiVersion', offsetOf(['apiVersion']) ?? root.range?.[0], 'apiVersion', `expected "${API_VERSION}", found ${found}`);
      return;
    }
    const kind = record.kind;
    if (kind !== 'Llm' && kind !== 'LlmPool') {
      const found = kind === undefined ? 'nothing' : JSON.stringify(kind);
      push('InvalidKind', offsetOf(['kind']) ?? root.range?.[0], 'kind', `expected Llm or LlmPool, found ${found}`);
      return;
    }
    const secrets = findInlineSecrets(doc);
    for (const secret of secrets) push('InlineSecret', secret.offset, secret.path, secret.message);
    const secretPaths = new Set(secrets.map((s) => s.path));

    const schema = kind === 'Llm' ? llmSchema : llmPoolSchema;
    const parsed = schema.safeParse(data, { reportInput: true });
    if (!parsed.success || secrets.length > 0) {
      for (const issue of parsed.error?.issues ?? []) {
        for (const d of describeIssue(issue, kind)) {
          const path = d.path.join('.');
          // A secret is reported once, as a secret, not again as an unknown or invalid field.
          if ([...secretPaths].some((s) => path === s || path.startsWith(`${s}.`))) continue;
          const offset = d.code === 'UnknownField' ? keyOffset(doc, d.path) : offsetOf(d.path);
          push(d.code, offset ?? nearestOffset(doc, d.path), path, d.message);
        }
      }
      return;
    }
    const first = root.items[0];
    const start = at(isPair(first) && isScalar(first.key) ? first.key.range?.[0] : root.range?.[0]);
    const fieldLines: Record<string, number> = {};
    collectFieldLines(root, [], fieldLines, lineCounter);
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

/** Remembers file parses by path and content hash, so that a one-file change re-reads one file. */
export class ParseCache {
  private entries = new Map<string, FileParse>();
  hits = 0;
  misses = 0;

  parse(file: SourceFile): FileParse {
    const key = `${file.path}\0${file.hash ?? hashText(file.text)}`;
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const parsed = parseResourceFile(file.path, file.text);
    this.entries.set(key, parsed);
    return parsed;
  }

  /** Drops every entry not used since the last call, bounding memory to one revision. */
  retain(files: SourceFile[]): void {
    const keep = new Set(files.map((f) => `${f.path}\0${f.hash ?? hashText(f.text)}`));
    for (const key of this.entries.keys()) if (!keep.has(key)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

export function hashText(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Loads a whole revision: every file parsed (through the cache when given), then the
 * cross-file rules (unique Llm names, unique pool documents). All or nothing.
 */
export function loadResources(files: SourceFile[], cache?: ParseCache): LoadResult {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parses = sorted.map((f) => (cache ? cache.parse({ ...f, hash: f.hash ?? hashText(f.text) }) : parseResourceFile(f.path, f.text)));
  if (cache) cache.retain(sorted);
  const diagnostics: Diagnostic[] = [];
  const llms: LocatedLlm[] = [];
  const pools: LocatedPool[] = [];
  const llmSeen = new Map<string, LocatedLlm>();
  const poolSeen = new Map<string, LocatedPool>();
  for (const parse of parses) {
    diagnostics.push(...parse.diagnostics);
    for (const llm of parse.llms) {
      const first = llmSeen.get(llm.resource.metadata.name);
      if (first) {
        diagnostics.push(duplicate('DuplicateName', 'Llm', llm, first));
        continue;
      }
      llmSeen.set(llm.resource.metadata.name, llm);
      llms.push(llm);
    }
    for (const pool of parse.pools) {
      const first = poolSeen.get(pool.resource.metadata.name);
      if (first) {
        diagnostics.push(duplicate('DuplicatePool', 'LlmPool', pool, first));
        continue;
      }
      poolSeen.set(pool.resource.metadata.name, pool);
      pools.push(pool);
    }
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics: diagnostics.sort(compareDiagnostics), llms, pools };
  return { ok: true, llms, pools };
}

function duplicate(code: DiagnosticCode, kind: string, second: Located<Resource>, first: Located<Resource>): Diagnostic {
  const name = second.resource.metadata.name;
  return {
    code,
    file: second.file,
    line: second.fieldLines['metadata.name'] ?? second.line,
    col: second.col,
    path: 'metadata.name',
    message: `duplicate ${kind} name ${JSON.stringify(name)}: already declared at ${first.file}:${first.fieldLines['metadata.name'] ?? first.line}`,
  };
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
}

function describeIssue(issue: z.core.$ZodIssue, kind: 'Llm' | 'LlmPool'): IssueDescription[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const input = 'input' in issue ? issue.input : undefined;
  if (issue.message.startsWith('invalid name')) {
    const found = typeof input === 'string' && input.length > 63 ? `${input.length} characters` : describeValue(input);
    return [{ code: 'InvalidName', path, message: `${issue.message}, found ${found}` }];
  }
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ code: 'UnknownField', path: [...path, key], message: `unknown field ${JSON.stringify(key)}${suggestField(kind, path)}` }));
    case 'invalid_type':
      if (input === undefined) return [{ code: 'MissingField', path, message: `required field is missing (expected ${issue.expected})` }];
      return [{ code: 'InvalidValue', path, message: `expected ${issue.expected}, found ${describeValue(input)}` }];
    case 'invalid_value':
      return [{ code: 'InvalidValue', path, message: `expected ${issue.values.map((v) => String(v)).join(' | ')}, found ${describeValue(input)}` }];
    case 'too_small':
    case 'too_big':
      return [{ code: 'InvalidValue', path, message: `${issue.message}, found ${describeValue(input)}` }];
    case 'custom':
      return [{ code: 'InvalidValue', path, message: issue.message }];
    default:
      return [{ code: 'InvalidValue', path, message: `${issue.message}${input === undefined ? '' : `, found ${describeValue(input)}`}` }];
  }
}

const KNOWN_FIELDS: Record<string, string> = {
  '': 'apiVersion, kind, metadata, spec',
  metadata: 'name, labels, annotations',
  'Llm spec': 'type, model, url, poolName, source, enabled, apiKeyRef',
  'LlmPool spec': 'minActive, description',
  'Llm spec.apiKeyRef': 'env',
};

function suggestField(kind: string, path: (string | number)[]): string {
  const joined = path.join('.');
  const known = KNOWN_FIELDS[joined] ?? KNOWN_FIELDS[`${kind} ${joined}`];
  return known === undefined ? '' : ` (expected one of ${known})`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function describeNode(node: Node): string {
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeValue(node.value);
  return 'something else';
}

function describeYamlError(message: string): string {
  // yaml's messages may continue with a source excerpt; keep the first line, whose position we already give.
  const first = message.split('\n')[0] ?? message;
  return `invalid YAML: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

interface SecretFinding {
  offset: number | undefined;
  path: string;
  message: string;
}

function findInlineSecrets(doc: Document): SecretFinding[] {
  const found: SecretFinding[] = [];
  const spec = doc.get('spec', true);
  if (!isMap(spec)) return found;
  for (const pair of spec.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    if (SECRET_KEY.test(key)) {
      found.push({ offset: pair.key.range?.[0], path: `spec.${key}`, message: 'inline secrets are not allowed: reference the key with apiKeyRef: { env: VAR_NAME }' });
    } else if (key === 'apiKeyRef' && !isMap(pair.value)) {
      found.push({ offset: pair.key.range?.[0], path: 'spec.apiKeyRef', message: 'inline secrets are not allowed: apiKeyRef must be { env: VAR_NAME }, not a value' });
    } else if (key === 'apiKeyRef' && isMap(pair.value)) {
      for (const inner of pair.value.items) {
        if (isScalar(inner.key) && String(inner.key.value) !== 'env') {
          found.push({ offset: inner.key.range?.[0], path: `spec.apiKeyRef.${String(inner.key.value)}`, message: 'inline secrets are not allowed: apiKeyRef takes only env: VAR_NAME' });
        }
      }
    } else if (key === 'url' && isScalar(pair.value) && typeof pair.value.value === 'string') {
      try {
        if (new URL(pair.value.value).password !== '') {
          found.push({ offset: pair.value.range?.[0], path: 'spec.url', message: 'inline secrets are not allowed: the URL carries a password; use apiKeyRef: { env: VAR_NAME }' });
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
        // Point at the value when it is there (a wrong value), at the key otherwise.
        const value = pair.value as Node | null;
        return value?.range?.[0] ?? pair.key.range?.[0];
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

function collectFieldLines(node: unknown, path: string[], out: Record<string, number>, lineCounter: LineCounter): void {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    if (path.length === 0 && key === 'status') continue;
    const childPath = [...path, key];
    out[childPath.join('.')] = lineCounter.linePos(pair.key.range?.[0] ?? 0).line;
    collectFieldLines(pair.value, childPath, out, lineCounter);
  }
}
