// In-place edits of resource files (DESIGN §1): only the changed fields are spliced into the
// original text, so comments, document order and formatting survive and a one-field change
// is a one-line Git diff. Pure: text in, text out.
import { Document, isAlias, isMap, isNode, isScalar, parseAllDocuments, parseDocument, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { parseResourceFile, toCanonicalYaml } from './codec.js';
import { canonicalizeResource, llmPoolSchema, llmSchema, type LlmPool, type Resource } from './resources.js';

export type EditResult = { ok: true; text: string; changed: boolean } | { ok: false; message: string };

type ResourceKind = 'Llm' | 'LlmPool';
type Leaf = string | number | boolean;
interface ValueMap {
  [key: string]: Value;
}
type Value = Leaf | ValueMap;

/** One leaf-level difference between the document and the wanted resource, by key path. */
type FieldOp =
  | { op: 'set'; path: string[]; value: Value }
  | { op: 'add'; path: string[]; value: Value }
  | { op: 'remove'; path: string[] };

interface Splice {
  start: number;
  end: number;
  text: string;
}

interface ParsedText {
  text: string;
  docs: Document.Parsed[];
  eol: string;
}

interface DocContext {
  parsed: ParsedText;
  doc: Document.Parsed;
  root: YAMLMap;
  kind: ResourceKind;
  indentStep: number;
}

/** Thrown when a change cannot be spliced safely; the caller re-renders the one document instead. */
class SpliceImpossible extends Error {}

/** Thrown for a document this editor cannot reason about (a mapping key that is not a scalar). */
class UnsupportedDocument extends Error {}

const FILE_LABEL = '<edited file>';
const MODELINE = /^\s*#\s*yaml-language-server:/;

// Canonical key order (DESIGN §1), used to place an added key next to its canonical neighbour.
const CANONICAL_ORDER: Record<string, readonly string[]> = {
  '': ['apiVersion', 'kind', 'metadata', 'spec'],
  metadata: ['name', 'labels', 'annotations'],
  'Llm spec': ['type', 'model', 'url', 'poolName', 'source', 'enabled', 'apiKeyRef'],
  'Llm spec.apiKeyRef': ['env'],
  'LlmPool spec': ['minActive', 'description'],
};

// Fields whose default canonical output omits: stating the default explicitly is not a difference.
const DEFAULTS: Record<string, Leaf> = {
  'Llm spec.enabled': true,
  'Llm spec.source': 'agent',
  'LlmPool spec.minActive': 0,
};

// Maps that canonical output omits when empty: `labels: {}` in a file equals no labels.
const OPTIONAL_MAPS = new Set(['metadata.labels', 'metadata.annotations', 'LlmPool spec']);

/** Replace the document declaring (kind, name) in `text` with `next` (same kind; the name may stay the same). */
export function replaceResourceInText(text: string, kind: ResourceKind, name: string, next: Resource): EditResult {
  if (next.kind !== kind) return fail(`cannot replace ${kind} ${JSON.stringify(name)} with a ${next.kind}`);
  // A pool read from YAML may lack its optional spec even where the type says otherwise.
  if (next.kind === 'LlmPool' && (next.spec as LlmPool['spec'] | undefined) === undefined) next = { ...next, spec: {} };
  const invalid = describeInvalidResource(next);
  if (invalid !== undefined) return fail(`the new ${kind} ${JSON.stringify(next.metadata.name)} is invalid: ${invalid}`);
  const parsed = parseText(text);
  const found = locateDocument(parsed, kind, name);
  if (!found.ok) return found;
  if (next.metadata.name !== name) {
    const clash = locateDocument(parsed, kind, next.metadata.name);
    if (clash.ok) return fail(`cannot rename ${kind} ${JSON.stringify(name)} to ${JSON.stringify(next.metadata.name)}: this file already declares that name`);
  }
  return editDocument(parsed, found.index, next);
}

/**
 * Remove the document declaring (kind, name), with the comment lines directly above it that
 * belong to it and its `---` separator; other documents untouched byte for byte. The result may
 * be '' (or only comments) when nothing is left: the caller then deletes the file.
 */
export function removeResourceFromText(text: string, kind: ResourceKind, name: string): EditResult {
  const parsed = parseText(text);
  const found = locateDocument(parsed, kind, name);
  if (!found.ok) return found;
  let result: string;
  try {
    result = applySplices(text, planDocumentRemoval(parsed, found.index));
  } catch (error) {
    if (error instanceof SpliceImpossible) return fail(`cannot remove ${kind} ${JSON.stringify(name)}: ${error.message}`);
    throw error;
  }
  const problem = verifyRemoval(parsed, found.index, result);
  if (problem !== undefined) return fail(`cannot remove ${kind} ${JSON.stringify(name)} safely: ${problem}`);
  return { ok: true, text: result, changed: true };
}

/** Append a new document (canonical YAML) after a `---` separator, keeping a trailing newline. */
export function appendResourceToText(text: string, resource: Resource): string {
  const eol = detectEol(text);
  const rendered = toCanonicalYaml([resource]).replace(/\n/g, eol);
  if (text.trim() === '') return rendered;
  const base = text.endsWith('\n') ? text : text + eol;
  const hasDocument = parseText(text).docs.some((doc) => doc.contents !== null);
  const lastLine = base.trimEnd().split('\n').pop()?.trim();
  // A file that already ends with `---` has its separator; one that holds only comments needs none.
  if (!hasDocument || lastLine === '---') return base + rendered;
  return `${base}---${eol}${rendered}`;
}

/**
 * Set one field, e.g. setFieldInText(text, 'Llm', 'x', ['spec', 'enabled'], false); `undefined`
 * removes the key (a defaulted field stated in the file is set to its default in place instead).
 */
export function setFieldInText(
  text: string,
  kind: ResourceKind,
  name: string,
  path: string[],
  value: string | number | boolean | undefined,
): EditResult {
  if (path.length === 0) return fail('no field path given');
  const parse = parseResourceFile(FILE_LABEL, text);
  const located = (kind === 'Llm' ? parse.llms : parse.pools).find((l) => l.resource.metadata.name === name);
  if (located === undefined) {
    const found = locateDocument(parseText(text), kind, name);
    if (!found.ok) return found;
    const first = parse.diagnostics[0];
    const reason = first === undefined ? '' : `: line ${first.line}:${first.col}: ${first.message}`;
    return fail(`${kind} ${JSON.stringify(name)} is not valid in this file; fix it first${reason}`);
  }
  const next = structuredClone(located.resource) as unknown as Record<string, unknown>;
  let parent = next;
  for (const key of path.slice(0, -1)) {
    const child = parent[key];
    if (child === undefined) {
      if (value === undefined) return { ok: true, text, changed: false };
      parent[key] = {};
    } else if (!isRecord(child)) {
      return fail(`cannot set ${path.join('.')}: ${key} is not a mapping`);
    }
    parent = parent[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return replaceResourceInText(text, kind, name, next as unknown as Resource);
}

// ---------------------------------------------------------------- replace

function editDocument(parsed: ParsedText, index: number, next: Resource): EditResult {
  const ctx = buildContext(parsed, index);
  const desired = toValueMap(canonicalizeResource(next));
  const label = `${next.kind} ${JSON.stringify(next.metadata.name)}`;
  let ops: FieldOp[];
  try {
    ops = diffMap(ctx, ctx.root, desired, []).ops;
  } catch (error) {
    if (error instanceof UnsupportedDocument) return fail(`cannot edit ${label} in place: ${error.message}`);
    throw error;
  }
  if (ops.length === 0) return { ok: true, text: parsed.text, changed: false };

  let spliceProblem: string | undefined;
  try {
    const spliced = applySplices(parsed.text, planSplices(ctx, ops));
    spliceProblem = verifyReplacement(parsed, index, spliced, next);
    if (spliceProblem === undefined) return { ok: true, text: spliced, changed: spliced !== parsed.text };
  } catch (error) {
    if (!(error instanceof SpliceImpossible)) throw error;
  }
  // Re-render only this one document; the others keep their text byte for byte.
  let rendered: string;
  try {
    rendered = renderWithDocumentApi(parsed, index, ops);
  } catch (error) {
    // yaml's Document API refuses some shapes (a path through an alias, say): report, write nothing.
    return fail(`cannot edit ${label} in place: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const problem = verifyReplacement(parsed, index, rendered, next);
  if (problem !== undefined) {
    return fail(`cannot edit ${label} in place: ${problem}${spliceProblem !== undefined && spliceProblem !== problem ? ` (${spliceProblem})` : ''}`);
  }
  return { ok: true, text: rendered, changed: rendered !== parsed.text };
}

interface MapDiff {
  ops: FieldOp[];
  /** How many of the map's entries remain after the ops. */
  kept: number;
}

function diffMap(ctx: DocContext, map: YAMLMap, desired: ValueMap, path: string[]): MapDiff {
  const ops: FieldOp[] = [];
  const seen = new Set<string>();
  let kept = 0;
  for (const pair of map.items) {
    const key = keyOf(pair);
    if (key === undefined) throw new UnsupportedDocument(`it has a key that is not a plain scalar under ${path.join('.') || 'the document root'}`);
    if (path.length === 0 && key === 'status') {
      kept++; // input-ignored: left exactly as it is
      continue;
    }
    seen.add(key);
    const childPath = [...path, key];
    const node = isNode(pair.value) ? pair.value : null;
    const want = Object.hasOwn(desired, key) ? desired[key] : undefined;
    if (want === undefined) {
      const defaultValue = findDefault(ctx.kind, childPath);
      if (defaultValue !== undefined && isLeafValue(jsOf(ctx, node))) {
        // Prefer `enabled: false` → `enabled: true` over deleting the line: undrain stays a one-line diff.
        kept++;
        if (jsOf(ctx, node) !== defaultValue) ops.push({ op: 'set', path: childPath, value: defaultValue });
        continue;
      }
      if (isOptionalMap(ctx.kind, childPath) && isMap(node) && node.items.length === 0) {
        kept++;
        continue;
      }
      ops.push({ op: 'remove', path: childPath });
      continue;
    }
    kept++;
    if (isValueMap(want)) {
      if (!isMap(node)) {
        // An alias to an equal map needs nothing; anything else is replaced whole.
        if (JSON.stringify(jsOf(ctx, node)) !== JSON.stringify(want)) ops.push({ op: 'set', path: childPath, value: want });
        continue;
      }
      const sub = diffMap(ctx, node, want, childPath);
      if (sub.kept === 0 && Object.keys(want).length === 0 && sub.ops.length > 0) {
        // A map emptied by the edit goes with its key.
        ops.push({ op: 'remove', path: childPath });
        kept--;
      } else {
        ops.push(...sub.ops);
      }
      continue;
    }
    if (jsOf(ctx, node) !== want) ops.push({ op: 'set', path: childPath, value: want });
  }
  for (const [key, want] of Object.entries(desired)) {
    if (seen.has(key)) continue;
    if (isValueMap(want) && Object.keys(want).length === 0) continue;
    ops.push({ op: 'add', path: [...path, key], value: want });
    kept++;
  }
  return { ops, kept };
}

function planSplices(ctx: DocContext, ops: FieldOp[]): Splice[] {
  const splices: Splice[] = [];
  const flowGroups = new Map<YAMLMap, { path: string[]; ops: FieldOp[] }>();
  for (const op of ops) {
    const flow = findOutermostFlowMap(ctx, op.path.slice(0, -1));
    if (flow === undefined) {
      splices.push(spliceBlockOp(ctx, op));
      continue;
    }
    const group = flowGroups.get(flow.map) ?? { path: flow.path, ops: [] };
    group.ops.push(op);
    flowGroups.set(flow.map, group);
  }
  for (const [map, group] of flowGroups) {
    const [start, end] = rangeOf(map);
    splices.push({ start, end, text: renderFlowMap(ctx, map, group.path, group.ops) });
  }
  return splices;
}

/** The outermost flow map among the containers on `parentPath` (a change inside it rewrites it whole). */
function findOutermostFlowMap(ctx: DocContext, parentPath: string[]): { map: YAMLMap; path: string[] } | undefined {
  let node: unknown = ctx.root;
  for (let depth = 0; depth <= parentPath.length; depth++) {
    if (!isMap(node)) return undefined;
    if (node.flow === true) return { map: node, path: parentPath.slice(0, depth) };
    if (depth === parentPath.length) return undefined;
    node = findPair(node, parentPath[depth] as string)?.value;
  }
  return undefined;
}

function spliceBlockOp(ctx: DocContext, op: FieldOp): Splice {
  const text = ctx.parsed.text;
  const parent = mapAt(ctx, op.path.slice(0, -1));
  const key = op.path[op.path.length - 1] as string;
  if (parent === undefined) throw new SpliceImpossible(`no mapping at ${op.path.slice(0, -1).join('.')}`);
  if (op.op === 'add') return spliceAddition(ctx, parent, op.path, op.value);
  const pair = findPair(parent, key);
  if (pair === undefined) throw new SpliceImpossible(`no field ${op.path.join('.')}`);
  if (op.op === 'remove') return { ...spanPairRemoval(text, pair), text: '' };
  const node = pair.value;
  if (isValueMap(op.value) || !(isScalar(node) || isAlias(node))) throw new SpliceImpossible(`${op.path.join('.')} changes shape`);
  const [start, end] = rangeOf(node);
  if (isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')) {
    return { start, end, text: renderInPlaceOfBlockScalar(ctx, pair, op.value) };
  }
  const rendered = renderScalar(op.value, isScalar(node) ? node.type : undefined, 'block');
  // An empty value (`enabled:`) has an empty range right after the colon.
  return { start, end, text: start === end && text[start - 1] === ':' ? ` ${rendered}` : rendered };
}

/**
 * A new value where a block scalar (`|`, `>`) was: a literal block again when the value spans
 * lines, one line otherwise. The block's range runs to the end of its last line.
 */
function renderInPlaceOfBlockScalar(ctx: DocContext, pair: Pair, value: Leaf): string {
  const text = ctx.parsed.text;
  const eol = ctx.parsed.eol;
  // The block ends with a line break unless it ends the file without one.
  const [start, end] = rangeOf(pair.value);
  const lineBreak = /\n$/.test(text.slice(start, end)) ? eol : '';
  if (typeof value !== 'string' || !value.includes('\n') || /^[ \t]|\r/.test(value)) {
    return renderScalar(value, undefined, 'block') + lineBreak;
  }
  const keyStart = rangeOf(pair.key)[0];
  const indent = ' '.repeat(keyStart - findLineStart(text, keyStart) + ctx.indentStep);
  const body = value.replace(/\n+$/, '');
  const trailing = value.length - body.length;
  const header = trailing === 0 ? '|-' : trailing === 1 ? '|' : '|+';
  const lines = body.split('\n').map((line) => (line === '' ? '' : indent + line));
  const extra = trailing > 1 ? Array.from({ length: trailing - 1 }, () => '') : [];
  return [header, ...lines, ...extra].join(eol) + lineBreak;
}

function spliceAddition(ctx: DocContext, parent: YAMLMap, path: string[], value: Value): Splice {
  const text = ctx.parsed.text;
  const eol = ctx.parsed.eol;
  const first = parent.items[0];
  if (parent.flow === true || first === undefined) throw new SpliceImpossible('the parent mapping is empty');
  const firstKeyStart = rangeOf(first.key)[0];
  const lineOfFirst = findLineStart(text, firstKeyStart);
  if (text.slice(lineOfFirst, firstKeyStart).trim() !== '') throw new SpliceImpossible('the mapping does not start its own line');
  const indent = text.slice(lineOfFirst, firstKeyStart);
  const lines = renderBlockEntry(ctx, path[path.length - 1] as string, value, indent);
  const anchor = findInsertionAnchor(ctx.kind, parent, path);
  let at: number;
  if (anchor.after !== undefined) {
    at = spanPairLines(text, anchor.after).end;
  } else {
    const keyStart = rangeOf(anchor.before.key)[0];
    at = findLineStart(text, keyStart);
    if (text.slice(at, keyStart).trim() !== '') throw new SpliceImpossible('the sibling does not start its own line');
  }
  if (at === text.length && !text.endsWith('\n')) return { start: at, end: at, text: eol + lines.join(eol) };
  return { start: at, end: at, text: lines.join(eol) + eol };
}

/** Where a new key goes: after its nearest preceding canonical sibling, else before the nearest following one. */
function findInsertionAnchor(kind: ResourceKind, parent: YAMLMap, path: string[]): { after: Pair; before?: undefined } | { after?: undefined; before: Pair } {
  const items = parent.items;
  const last = items[items.length - 1] as Pair;
  const order = findCanonicalOrder(kind, path.slice(0, -1));
  const rank = order?.indexOf(path[path.length - 1] as string) ?? -1;
  if (order === undefined || rank < 0) return { after: last };
  let after: { pair: Pair; rank: number } | undefined;
  let before: { pair: Pair; rank: number } | undefined;
  for (const pair of items) {
    const r = order.indexOf(keyOf(pair) ?? '');
    if (r < 0) continue;
    if (r < rank && (after === undefined || r > after.rank)) after = { pair, rank: r };
    if (r > rank && (before === undefined || r < before.rank)) before = { pair, rank: r };
  }
  if (after !== undefined) return { after: after.pair };
  if (before !== undefined) return { before: before.pair };
  return { after: last };
}

function renderBlockEntry(ctx: DocContext, key: string, value: Value, indent: string): string[] {
  const renderedKey = renderKey(key, 'block');
  if (!isValueMap(value)) return [`${indent}${renderedKey}: ${renderScalar(value, undefined, 'block')}`];
  const childIndent = indent + ' '.repeat(ctx.indentStep);
  return [`${indent}${renderedKey}:`, ...Object.entries(value).flatMap(([k, v]) => renderBlockEntry(ctx, k, v, childIndent))];
}

/** Rewrites one flow map in flow style, keeping the source text of every entry the edit does not touch. */
function renderFlowMap(ctx: DocContext, map: YAMLMap, path: string[], ops: FieldOp[]): string {
  const text = ctx.parsed.text;
  const entries: string[] = [];
  for (const pair of map.items) {
    const key = keyOf(pair);
    if (key === undefined) throw new SpliceImpossible('a flow mapping with a complex key');
    const childPath = [...path, key];
    const keySource = text.slice(...sliceOf(pair.key));
    if (ops.some((o) => o.op === 'remove' && samePath(o.path, childPath))) continue;
    const set = ops.find((o): o is Extract<FieldOp, { op: 'set' }> => o.op === 'set' && samePath(o.path, childPath));
    if (set !== undefined) {
      const style = isScalar(pair.value) ? pair.value.type : undefined;
      entries.push(`${keySource}: ${renderFlowValue(set.value, style)}`);
    } else if (isMap(pair.value) && ops.some((o) => o.path.length > childPath.length && samePath(o.path.slice(0, childPath.length), childPath))) {
      entries.push(`${keySource}: ${renderFlowMap(ctx, pair.value, childPath, ops)}`);
    } else {
      const end = isNode(pair.value) ? rangeOf(pair.value)[1] : rangeOf(pair.key)[1];
      entries.push(text.slice(rangeOf(pair.key)[0], end));
    }
  }
  for (const op of ops) {
    if (op.op === 'add' && samePath(op.path.slice(0, -1), path)) {
      entries.push(`${renderKey(op.path[op.path.length - 1] as string, 'flow')}: ${renderFlowValue(op.value, undefined)}`);
    }
  }
  const source = text.slice(...sliceOf(map));
  const padded = map.items.length === 0 || /^\{\s/.test(source);
  if (entries.length === 0) return '{}';
  return padded ? `{ ${entries.join(', ')} }` : `{${entries.join(', ')}}`;
}

function renderFlowValue(value: Value, style: Scalar.Type | undefined): string {
  if (!isValueMap(value)) return renderScalar(value, style, 'flow');
  const entries = Object.entries(value).map(([k, v]) => `${renderKey(k, 'flow')}: ${renderFlowValue(v, undefined)}`);
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}

/**
 * A scalar's source: the original quoting style when it still represents the value, else plain,
 * else double-quoted; each candidate is checked by parsing it back.
 */
function renderScalar(value: Leaf, style: Scalar.Type | undefined, context: 'block' | 'flow'): string {
  const candidates: string[] = [];
  if (typeof value !== 'string') {
    candidates.push(String(value));
  } else {
    const single = `'${value.replace(/'/g, "''")}'`;
    const double = JSON.stringify(value);
    if (style === 'QUOTE_SINGLE') candidates.push(single);
    if (style === 'QUOTE_DOUBLE') candidates.push(double);
    candidates.push(value, double);
  }
  for (const candidate of candidates) {
    if (candidate === '' || /[\r\n]/.test(candidate)) continue;
    const source = context === 'block' ? `k: ${candidate}\n` : `{k: ${candidate}}\n`;
    if (parsesTo(source, (data) => isRecord(data) && Object.keys(data).length === 1 && data.k === value)) return candidate;
  }
  throw new SpliceImpossible(`cannot write ${JSON.stringify(value)} on one line`);
}

function renderKey(key: string, context: 'block' | 'flow'): string {
  for (const candidate of [key, JSON.stringify(key)]) {
    if (candidate === '' || /[\r\n]/.test(candidate)) continue;
    const source = context === 'block' ? `${candidate}: x\n` : `{${candidate}: x}\n`;
    if (parsesTo(source, (data) => isRecord(data) && Object.keys(data).length === 1 && data[key] === 'x')) return candidate;
  }
  throw new SpliceImpossible(`cannot write the key ${JSON.stringify(key)}`);
}

function parsesTo(source: string, accept: (data: unknown) => boolean): boolean {
  const doc = parseDocument(source, { uniqueKeys: true });
  return doc.errors.length === 0 && doc.warnings.length === 0 && accept(doc.toJS());
}

/** Fallback: applies the ops through yaml's Document API and re-renders the document's root only. */
function renderWithDocumentApi(parsed: ParsedText, index: number, ops: FieldOp[]): string {
  const fresh = parseText(parsed.text);
  const ctx = buildContext(fresh, index);
  const { doc, root } = ctx;
  const firstKey = root.items[0]?.key;
  for (const op of ops) {
    const parentPath = op.path.slice(0, -1);
    const key = op.path[op.path.length - 1] as string;
    const path = resolveKeyPath(root, op.path);
    if (op.op === 'remove') {
      doc.deleteIn(path);
    } else if (op.op === 'set') {
      const node = doc.getIn(path, true);
      if (isScalar(node) && !isValueMap(op.value)) {
        node.value = op.value;
        if ((node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') && !String(op.value).includes('\n')) node.type = 'PLAIN';
      } else {
        doc.setIn(path, doc.createNode(op.value));
      }
    } else {
      const parent = mapAt(ctx, parentPath);
      if (parent === undefined) {
        doc.setIn(path, doc.createNode(op.value));
        continue;
      }
      const pair = doc.createPair(key, op.value);
      const anchor = parent.flow === true || parent.items.length === 0 ? undefined : findInsertionAnchor(ctx.kind, parent, op.path);
      const at = anchor === undefined ? parent.items.length : anchor.after !== undefined ? parent.items.indexOf(anchor.after) + 1 : parent.items.indexOf(anchor.before);
      parent.items.splice(at, 0, pair);
    }
  }
  const [start, end] = rangeOf(root);
  const original = parsed.text.slice(start, end);
  // The comment above the root (held by the root or by its first key) lies outside its range:
  // leave it where it is, not rendered twice.
  root.commentBefore = null;
  if (isNode(firstKey)) firstKey.commentBefore = null;
  const holder = new Document();
  holder.contents = root;
  const body = holder
    .toString({ indent: ctx.indentStep, lineWidth: 0 })
    .replace(/\r\n/g, '\n')
    .replace(/\n+$/, '')
    .replace(/\n/g, parsed.eol);
  const trailing = /[\r\n]*$/.exec(original)?.[0] ?? '';
  return parsed.text.slice(0, start) + body + trailing + parsed.text.slice(end);
}

/**
 * A field path as yaml's Document API matches it: by the key's value, so a label written `1:` or
 * `true:` is the number 1 or the boolean true there, while our paths hold the text ("1", "true").
 */
function resolveKeyPath(root: YAMLMap, path: string[]): unknown[] {
  const out: unknown[] = [];
  let node: unknown = root;
  for (const key of path) {
    const pair = isMap(node) ? findPair(node, key) : undefined;
    out.push(pair !== undefined && isScalar(pair.key) ? pair.key.value : key);
    node = pair?.value;
  }
  return out;
}

function verifyReplacement(before: ParsedText, index: number, result: string, next: Resource): string | undefined {
  const after = parseText(result);
  if (after.docs.length !== before.docs.length) return `the edit would change the number of documents from ${before.docs.length} to ${after.docs.length}`;
  for (let j = 0; j < before.docs.length; j++) {
    if (j !== index && sliceDocument(before, j) !== sliceDocument(after, j)) return `the edit would change document ${j + 1}`;
  }
  const parse = parseResourceFile(FILE_LABEL, result);
  const located = [...parse.llms, ...parse.pools].find((l) => l.docIndex === index);
  if (located === undefined) {
    const docLines = findDocumentLines(after, index);
    const diagnostic = parse.diagnostics.find((d) => d.line >= docLines.first && d.line <= docLines.last) ?? parse.diagnostics[0];
    return `the edited document does not read back${diagnostic === undefined ? '' : ` (line ${diagnostic.line}:${diagnostic.col}: ${diagnostic.message})`}`;
  }
  if (JSON.stringify(canonicalizeResource(located.resource)) !== JSON.stringify(canonicalizeResource(next))) {
    return 'the edited document does not read back as the new resource';
  }
  return undefined;
}

// ---------------------------------------------------------------- remove

function planDocumentRemoval(parsed: ParsedText, index: number): Splice[] {
  const { text } = parsed;
  const doc = parsed.docs[index] as Document.Parsed;
  const nextDoc = parsed.docs[index + 1];
  let start = findRegionStart(parsed, index);
  let end = findLineEnd(text, doc.range[2]);
  if (nextDoc !== undefined) end = Math.min(end, findRegionStart(parsed, index + 1));
  const splices: Splice[] = [];
  // Without a `---` of its own, the document takes the separator below it (the next one's marker).
  if (!doc.directives.docStart && nextDoc?.directives.docStart === true) {
    const markerStart = findLineStart(text, nextDoc.range[0]);
    const markerEnd = findLineEnd(text, nextDoc.range[0] + 1);
    if (/^---\s*(#.*)?$/.test(text.slice(markerStart, markerEnd).trimEnd())) {
      if (markerStart <= end) end = Math.max(end, markerEnd);
      else splices.push({ start: markerStart, end: markerEnd, text: '' });
    }
  }
  const endsFile = text.slice(end).trim() === '';
  if (endsFile) {
    end = text.length;
    while (start > 0 && isBlankLine(text, findLineStart(text, start - 1), start)) start = findLineStart(text, start - 1);
  } else if (start === 0 || isBlankLine(text, findLineStart(text, start - 1), start)) {
    while (end < text.length && isBlankLine(text, end, findLineEnd(text, end + 1))) end = findLineEnd(text, end + 1);
  }
  splices.push({ start, end, text: '' });
  // Keep a file without a trailing newline that way.
  if (endsFile && !text.endsWith('\n') && start > 0) {
    const eolStart = text[start - 2] === '\r' ? start - 2 : start - 1;
    splices[splices.length - 1] = { start: eolStart, end, text: '' };
  }
  return splices;
}

/** The first line of a document's region: its `---`, or the comments directly above it that belong to it. */
function findRegionStart(parsed: ParsedText, index: number): number {
  const { text } = parsed;
  const doc = parsed.docs[index] as Document.Parsed;
  const previous = parsed.docs[index - 1];
  const floor = previous === undefined ? 0 : findLineEnd(text, previous.range[1]);
  if (doc.directives.docStart) {
    const marker = findLineStart(text, doc.range[0]);
    const comments = findCommentBlockAbove(text, marker, floor);
    // Comments above a `---` belong to the document below only when a blank line parts them from the one above.
    if (comments < marker && comments > floor && isBlankLine(text, findLineStart(text, comments - 1), comments)) return comments;
    return marker;
  }
  const content = doc.contents === null ? doc.range[0] : rangeOf(doc.contents)[0];
  return findCommentBlockAbove(text, findLineStart(text, content), floor);
}

/** Start of the run of comment lines directly above `lineBegin` (no blank line between), never a modeline. */
function findCommentBlockAbove(text: string, lineBegin: number, floor: number): number {
  let start = lineBegin;
  while (start > floor) {
    const previous = findLineStart(text, start - 1);
    const line = text.slice(previous, start);
    if (!/^\s*#/.test(line) || MODELINE.test(line)) break;
    start = previous;
  }
  return start;
}

function verifyRemoval(before: ParsedText, index: number, result: string): string | undefined {
  const after = parseText(result);
  const expected = before.docs.map((_, j) => j).filter((j) => j !== index && before.docs[j]?.contents !== null);
  const remaining = after.docs.map((_, j) => j).filter((j) => after.docs[j]?.contents !== null);
  if (expected.length !== remaining.length) return `expected ${expected.length} documents to remain, found ${remaining.length}`;
  for (let k = 0; k < expected.length; k++) {
    const was = before.docs[expected[k] as number] as Document.Parsed;
    const now = after.docs[remaining[k] as number] as Document.Parsed;
    if (sliceContent(before, was) !== sliceContent(after, now) || was.errors.length !== now.errors.length) {
      return `document ${(expected[k] as number) + 1} would change`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- shared

function parseText(text: string): ParsedText {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  return { text, docs: Array.isArray(docs) ? docs : [], eol: detectEol(text) };
}

function detectEol(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function locateDocument(parsed: ParsedText, kind: ResourceKind, name: string): { ok: true; index: number } | { ok: false; message: string } {
  const matches: number[] = [];
  let broken = 0;
  parsed.docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      broken++;
      return;
    }
    if (!isMap(doc.contents)) return;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch {
      return;
    }
    if (isRecord(data) && data.kind === kind && isRecord(data.metadata) && data.metadata.name === name) matches.push(index);
  });
  const label = `${kind} ${JSON.stringify(name)}`;
  if (matches.length > 1) return fail(`${label} is declared ${matches.length} times in this file; remove the duplicate first`);
  const index = matches[0];
  if (index === undefined) {
    const note = broken === 0 ? '' : ` (${broken} document${broken === 1 ? ' has' : 's have'} YAML errors)`;
    return fail(`${label} is not declared in this file${note}`);
  }
  return { ok: true, index };
}

function buildContext(parsed: ParsedText, index: number): DocContext {
  const doc = parsed.docs[index] as Document.Parsed;
  const root = doc.contents;
  if (!isMap(root)) throw new Error('the located document is not a mapping');
  const data = doc.toJS() as Record<string, unknown>;
  const kind = data.kind === 'LlmPool' ? 'LlmPool' : 'Llm';
  return { parsed, doc, root, kind, indentStep: detectIndentStep(parsed.text, root) };
}

/** The document's own indentation step (2 unless a nested block mapping says otherwise). */
function detectIndentStep(text: string, root: YAMLMap): number {
  const column = (offset: number): number => offset - findLineStart(text, offset);
  for (const pair of root.items) {
    const child = pair.value;
    const inner = isMap(child) && child.flow !== true ? child.items[0] : undefined;
    if (inner === undefined || !isNode(inner.key) || !isNode(pair.key)) continue;
    const step = column(rangeOf(inner.key)[0]) - column(rangeOf(pair.key)[0]);
    if (step > 0) return step;
  }
  return 2;
}

/** The line(s) a block-map pair occupies: its key line to its value's last line, plus deeper-indented comments under it. */
function spanPairLines(text: string, pair: Pair): { start: number; end: number } {
  const keyStart = rangeOf(pair.key)[0];
  const start = findLineStart(text, keyStart);
  if (text.slice(start, keyStart).trim() !== '') throw new SpliceImpossible('the key does not start its own line');
  const keyColumn = keyStart - start;
  const valueEnd = isNode(pair.value) && pair.value.range ? pair.value.range[1] : rangeOf(pair.key)[1];
  let end = findLineEnd(text, Math.max(valueEnd, rangeOf(pair.key)[1]));
  while (end < text.length) {
    const lineEnd = findLineEnd(text, end + 1);
    const line = text.slice(end, lineEnd);
    const indent = line.length - line.trimStart().length;
    if (!line.trimStart().startsWith('#') || indent <= keyColumn) break;
    end = lineEnd;
  }
  return { start, end };
}

/**
 * What removing a block-map pair deletes: its lines, the comment lines directly above it at its
 * own indentation (they describe it), and, at the end of a file without a final newline, the
 * line break before it instead of one after.
 */
function spanPairRemoval(text: string, pair: Pair): { start: number; end: number } {
  const span = spanPairLines(text, pair);
  const keyStart = rangeOf(pair.key)[0];
  const indent = text.slice(span.start, keyStart);
  let start = span.start;
  while (start > 0) {
    const previous = findLineStart(text, start - 1);
    const line = text.slice(previous, start).replace(/\r?\n$/, '');
    if (!line.startsWith(`${indent}#`) || MODELINE.test(line)) break;
    start = previous;
  }
  if (span.end === text.length && !text.endsWith('\n') && start > 0) {
    start -= text[start - 2] === '\r' ? 2 : 1;
  }
  return { start, end: span.end };
}

function mapAt(ctx: DocContext, path: string[]): YAMLMap | undefined {
  let node: unknown = ctx.root;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    node = findPair(node, key)?.value;
  }
  return isMap(node) ? node : undefined;
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((pair) => keyOf(pair) === key);
}

function keyOf(pair: Pair): string | undefined {
  if (!isScalar(pair.key)) return undefined;
  const value = pair.key.value;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

function jsOf(ctx: DocContext, node: Node | null): unknown {
  return node === null ? null : node.toJS(ctx.doc);
}

function rangeOf(node: unknown): [number, number, number] {
  if (!isNode(node) || !node.range) throw new SpliceImpossible('a node without a source range');
  return node.range;
}

function sliceOf(node: unknown): [number, number] {
  const [start, end] = rangeOf(node);
  return [start, end];
}

function sliceDocument(parsed: ParsedText, index: number): string {
  const doc = parsed.docs[index] as Document.Parsed;
  return parsed.text.slice(doc.range[0], doc.range[2]);
}

/** A document's content; its final line break is not its own (a file may lose it with the document after). */
function sliceContent(parsed: ParsedText, doc: Document.Parsed): string {
  return doc.contents === null ? '' : parsed.text.slice(...sliceOf(doc.contents)).replace(/(\r?\n)+$/, '');
}

function findDocumentLines(parsed: ParsedText, index: number): { first: number; last: number } {
  const doc = parsed.docs[index] as Document.Parsed;
  const lineAt = (offset: number): number => parsed.text.slice(0, offset).split('\n').length;
  return { first: lineAt(doc.range[0]), last: lineAt(doc.range[2]) };
}

function findLineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset just past the line that holds the character before `offset`. */
function findLineEnd(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const newline = text.indexOf('\n', offset);
  return newline === -1 ? text.length : newline + 1;
}

function isBlankLine(text: string, start: number, end: number): boolean {
  return end > start && text.slice(start, end).trim() === '';
}

function applySplices(text: string, splices: Splice[]): string {
  const ordered = splices.map((s, order) => ({ ...s, order })).sort((a, b) => a.start - b.start || a.end - b.end || a.order - b.order);
  let out = '';
  let cursor = 0;
  for (const splice of ordered) {
    if (splice.start < cursor) throw new SpliceImpossible('two changes overlap');
    out += text.slice(cursor, splice.start) + splice.text;
    cursor = splice.end;
  }
  return out + text.slice(cursor);
}

function findCanonicalOrder(kind: ResourceKind, parentPath: string[]): readonly string[] | undefined {
  const joined = parentPath.join('.');
  return CANONICAL_ORDER[`${kind} ${joined}`] ?? CANONICAL_ORDER[joined];
}

function findDefault(kind: ResourceKind, path: string[]): Leaf | undefined {
  return DEFAULTS[`${kind} ${path.join('.')}`];
}

function isOptionalMap(kind: ResourceKind, path: string[]): boolean {
  const joined = path.join('.');
  return OPTIONAL_MAPS.has(joined) || OPTIONAL_MAPS.has(`${kind} ${joined}`);
}

function samePath(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

function describeInvalidResource(resource: Resource): string | undefined {
  const result = resource.kind === 'Llm' ? llmSchema.safeParse(resource) : llmPoolSchema.safeParse(resource);
  if (result.success) return undefined;
  return result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}

function toValueMap(resource: Resource): ValueMap {
  return JSON.parse(JSON.stringify(resource)) as ValueMap;
}

function isValueMap(value: unknown): value is ValueMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLeafValue(value: unknown): boolean {
  return value === null || typeof value !== 'object';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(message: string): { ok: false; message: string } {
  return { ok: false, message };
}
