// The YAML codec: resource files in, located resources or diagnostics out; canonical YAML back.
import { createHash } from 'node:crypto';
import { isMap, isPair, isScalar, LineCounter, parseAllDocuments, stringify, type Document, type Node } from 'yaml';
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
  urlSecretOf,
} from './resources.js';
import { createKnownFieldsLookup, describeNode, describeValue, findValueOffset, locateYamlErrors, locateZodIssues, resolveDocumentData } from './yaml-diagnostics.js';

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
      for (const d of locateYamlErrors(file, doc, text, lineCounter)) out.diagnostics.push(d);
      return;
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) return; // an empty document
    if (!isMap(root)) {
      push('NotAMapping', root.range?.[0], '', `expected a mapping with apiVersion, kind, metadata and spec, found ${describeNode(root)}`);
      return;
    }
    const resolved = resolveDocumentData(file, doc, lineCounter);
    if (!resolved.ok) {
      out.diagnostics.push(resolved.diagnostic);
      return;
    }
    const data = resolved.data;
    const record = data as Record<string, unknown>;
    const offsetOf = (path: (string | number)[]): number | undefined => findValueOffset(doc, path);

    // A wrong header makes every other check moot (another version has other fields), but both header
    // fields are checked so that one pass shows both mistakes.
    let headerOk = true;
    if (record.apiVersion !== API_VERSION) {
      headerOk = false;
      push('InvalidApiVersion', offsetOf(['apiVersion']) ?? root.range?.[0], 'apiVersion', `expected "${API_VERSION}", found ${describeValue(record.apiVersion)}`);
    }
    const kind = record.kind;
    if (kind !== 'Llm' && kind !== 'LlmPool') {
      push('InvalidKind', offsetOf(['kind']) ?? root.range?.[0], 'kind', `expected Llm or LlmPool, found ${describeValue(kind)}`);
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
      const issues = locateZodIssues(file, doc, lineCounter, parsed.error?.issues ?? [], {
        data,
        knownFieldsAt: KNOWN_FIELDS[kind],
        // A secret is reported once, as a secret, not again as an unknown or invalid field.
        omit: (path) => secrets.some((s) => path === s.scope || path.startsWith(`${s.scope}.`)),
      });
      for (const d of issues) out.diagnostics.push(d);
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

/** Where each name lived in the last good revision, so that a duplicate is blamed on the newcomer. */
export interface LastGood {
  readonly llms: readonly Located<Resource>[];
  readonly pools: readonly Located<Resource>[];
}

/**
 * Loads a whole revision: every file parsed (through the cache when given), then the
 * cross-file rules (unique Llm names, unique pool documents). All or nothing.
 *
 * A name declared twice is blamed on the declaration that is new: when `lastGood` says the name
 * lived in one of the two files, the other one is the duplicate (a commit adding `llms/dup.yaml`
 * is reported at `llms/dup.yaml`, not at the file that had the name all along). Without that, the
 * later file in path order is blamed. The message names both places.
 */
export function loadResources(files: SourceFile[], cache?: ParseCache, lastGood?: LastGood): LoadResult {
  // Sources usually list files in order already (Git trees do); checking is O(n), sorting is not.
  const sorted = isSortedByPath(files) ? files : [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parses = sorted.map((f) => (cache ? cache.parse(f) : parseResourceFile(f.path, f.text)));
  if (cache) cache.retain(sorted);
  const diagnostics: Diagnostic[] = [];
  const textOf = (path: string): string => sorted.find((f) => f.path === path)?.text ?? '';
  const llms = new UniqueNames<LocatedLlm>('DuplicateName', 'Llm', lastGood?.llms, textOf, diagnostics);
  const pools = new UniqueNames<LocatedPool>('DuplicatePool', 'LlmPool', lastGood?.pools, textOf, diagnostics);
  for (const parse of parses) {
    for (const d of parse.diagnostics) diagnostics.push(d);
    for (const llm of parse.llms) llms.add(llm);
    for (const pool of parse.pools) pools.add(pool);
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics: diagnostics.sort(compareDiagnostics), llms: llms.kept(), pools: pools.kept() };
  return { ok: true, llms: llms.kept(), pools: pools.kept() };
}

/** Keeps the first declaration of each name (or the one the last good revision had) and blames the others. */
class UniqueNames<T extends Located<Resource>> {
  private readonly seen = new Map<string, number>();
  private readonly list: T[] = [];
  private readonly previousFile: ReadonlyMap<string, string> | undefined;

  constructor(
    private readonly code: DiagnosticCode,
    private readonly kind: string,
    lastGood: readonly Located<Resource>[] | undefined,
    private readonly textOf: (path: string) => string,
    private readonly diagnostics: Diagnostic[],
  ) {
    this.previousFile = lastGood === undefined ? undefined : new Map(lastGood.map((r) => [r.resource.metadata.name, r.file]));
  }

  add(next: T): void {
    const name = next.resource.metadata.name;
    const index = this.seen.get(name);
    if (index === undefined) {
      this.seen.set(name, this.list.length);
      this.list.push(next);
      return;
    }
    const first = this.list[index] as T;
    const home = this.previousFile?.get(name);
    if (home !== undefined && next.file === home && first.file !== home) {
      // The earlier file is the newcomer: keep the declaration the last good revision had.
      this.list[index] = next;
      this.diagnostics.push(duplicate(this.code, this.kind, first, next, this.textOf(first.file)));
      return;
    }
    this.diagnostics.push(duplicate(this.code, this.kind, next, first, this.textOf(next.file)));
  }

  kept(): T[] {
    return this.list;
  }
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

const RESOURCE_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const METADATA_FIELDS = ['name', 'labels', 'annotations'];
const KNOWN_FIELDS = {
  Llm: createKnownFieldsLookup({
    '': RESOURCE_FIELDS,
    metadata: METADATA_FIELDS,
    spec: ['type', 'model', 'url', 'poolName', 'source', 'enabled', 'apiKeyRef'],
    'spec.apiKeyRef': ['env'],
  }),
  LlmPool: createKnownFieldsLookup({ '': RESOURCE_FIELDS, metadata: METADATA_FIELDS, spec: ['minActive', 'description'] }),
};

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
        const secret = urlSecretOf(new URL(value.value));
        if (secret !== null) {
          found.push({ offset: value.range?.[0], path: 'spec.url', scope: 'spec.url', message: `inline secrets are not allowed: ${secret}; use apiKeyRef: { env: VAR_NAME }` });
        }
      } catch {
        // Not a URL: the schema reports it.
      }
    }
  }
  return found;
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
