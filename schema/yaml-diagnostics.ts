// Turns what goes wrong in a parsed YAML document (yaml's syntax errors, zod's issues) into
// `file:line:col: path: message` diagnostics that say what was expected and what was found.
// Shared by resource files (codec.ts), the agent config and the --auth file. Pure: no fs, no clock.
import { isMap, isScalar, isSeq, visit, type Alias, type Document, type LineCounter, type Node, type YAMLError } from 'yaml';
import type { z } from 'zod';
import type { Diagnostic, DiagnosticCode } from './diagnostics.js';
import { checkName } from './name-rule.js';

export type PathPart = string | number;

/** `dotted`: `spec.poolName`, `tokens.0.sha256`; `brackets`: `providers[0].model`, as users count list entries. */
export type PathStyle = 'dotted' | 'brackets';

export interface IssueDescription {
  code: DiagnosticCode;
  path: PathPart[];
  message: string;
  /** For an unknown field: the known field it is probably a misspelling of. */
  suggestion?: string;
}

export interface DescribeIssueOptions {
  /** The document's value as validated: tells a field that is absent from one that is wrong. */
  data: unknown;
  /** The fields a mapping may hold, for "did you mean" and "expected one of"; undefined where unknown. */
  knownFieldsAt?: (path: readonly PathPart[]) => readonly string[] | undefined;
  /** Keys whose values are never shown (a token pasted there by mistake would end up in logs). */
  secretFields?: readonly string[];
}

export interface LocateIssuesOptions extends DescribeIssueOptions {
  pathStyle?: PathStyle;
  /** Paths already reported another way (an inline secret): no issue at or under them is reported. */
  omit?: (path: string) => boolean;
}

export function formatPath(path: readonly PathPart[], style: PathStyle = 'dotted'): string {
  if (style === 'dotted') return path.join('.');
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`;
  return text;
}

/**
 * `knownFieldsAt` from a table keyed by path pattern: `''` for the top level, `providers[]` for
 * any entry of the `providers` list, `spec.apiKeyRef` for a nested mapping.
 */
export function createKnownFieldsLookup(table: Readonly<Record<string, readonly string[]>>): (path: readonly PathPart[]) => readonly string[] | undefined {
  return (path) => {
    const pattern = path.map((p) => (typeof p === 'number' ? '[]' : `.${p}`)).join('').replace(/^\./, '');
    return Object.hasOwn(table, pattern) ? table[pattern] : undefined;
  };
}

/**
 * Places zod issues: a wrong value at the value, an unknown field at its key, a missing field at
 * the nearest ancestor that exists. One line per field, and a misspelt key is one mistake: its
 * did-you-mean says it, so "the field it misspells is missing" is not said again.
 */
export function locateZodIssues(
  file: string,
  doc: Document,
  lineCounter: LineCounter,
  issues: readonly z.core.$ZodIssue[],
  options: LocateIssuesOptions,
): Diagnostic[] {
  const style = options.pathStyle ?? 'dotted';
  const described = issues.flatMap((issue) => describeZodIssue(issue, options));
  const misspelt = new Set(described.flatMap((d) => (d.suggestion === undefined ? [] : [formatPath([...d.path.slice(0, -1), d.suggestion], style)])));
  const reported = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of described) {
    const path = formatPath(d.path, style);
    if (d.code === 'MissingField' && misspelt.has(path)) continue;
    if (options.omit?.(path) === true) continue;
    // One reason per field: a name both too long and badly formed needs one line, not two.
    if (reported.has(path)) continue;
    reported.add(path);
    const offset = (d.code === 'UnknownField' ? findKeyOffset(doc, d.path) : findValueOffset(doc, d.path)) ?? findNearestOffset(doc, d.path);
    const pos = lineCounter.linePos(offset ?? 0);
    out.push({ code: d.code, file, line: pos.line, col: pos.col, path, message: d.message });
  }
  return out;
}

export function describeZodIssue(issue: z.core.$ZodIssue, options: DescribeIssueOptions): IssueDescription[] {
  const path = issue.path.filter((p): p is PathPart => typeof p !== 'symbol');
  const input = 'input' in issue ? issue.input : undefined;
  const last = path[path.length - 1];
  const secret = typeof last === 'string' && options.secretFields?.includes(last) === true;
  // What was found, unless it is a secret's value: then only what kind of value it is.
  const found = (value: unknown): string => (secret ? describeKind(value) : describeValue(value));
  if (issue.message.startsWith('invalid name')) {
    const reason = typeof input === 'string' ? checkName(input) : null;
    return [{ code: 'InvalidName', path, message: reason === null ? `${issue.message}, found ${found(input)}` : `invalid name: ${reason}` }];
  }
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = options.knownFieldsAt?.(path);
      return issue.keys.map((key) => {
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
    }
    case 'invalid_type': {
      const expected = isZodDefault(issue.message) ? describeType(issue.expected) : issue.message.replace(/^expected /, '');
      if (input === undefined) return [{ code: 'MissingField', path, message: `required field is missing (expected ${expected})` }];
      const hint = secret ? '' : quoteHint(issue.expected, input);
      return [{ code: 'InvalidValue', path, message: `expected ${expected}, found ${found(input)}${hint}` }];
    }
    case 'invalid_value': {
      const expected = issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => String(v)).join(', ')}`;
      if (input === undefined) return [{ code: 'MissingField', path, message: `required field is missing (expected ${expected})` }];
      return [{ code: 'InvalidValue', path, message: `expected ${expected}, found ${found(input)}` }];
    }
    case 'too_small':
    case 'too_big': {
      const expected = isZodDefault(issue.message) ? describeBound(issue) : issue.message;
      const shown =
        typeof input === 'string'
          ? input.length === 0
            ? 'an empty string'
            : count(input.length, 'character')
          : Array.isArray(input)
            ? input.length === 0
              ? 'an empty list'
              : count(input.length, 'item')
            : found(input);
      return [{ code: 'InvalidValue', path, message: `${expected}, found ${shown}` }];
    }
    case 'custom':
      // Refinements (a static Llm's url) report fields that may be absent: absent is "missing".
      if (valueAt(options.data, path) === undefined) return [{ code: 'MissingField', path, message: `required field is missing: ${issue.message}` }];
      return [{ code: 'InvalidValue', path, message: issue.message }];
    default:
      // A secret's format failure says what was expected; "found a string" would add nothing.
      return [{ code: 'InvalidValue', path, message: `${issue.message}${input === undefined || secret ? '' : `, found ${describeValue(input)}`}` }];
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
  if (issue.origin === 'string') return small ? `expected at least ${count(inclusive ? bound : bound + 1, 'character')}` : `expected at most ${count(inclusive ? bound : bound - 1, 'character')}`;
  if (issue.origin === 'array' || issue.origin === 'set') return small ? `expected at least ${count(bound, 'item')}` : `expected at most ${count(bound, 'item')}`;
  const op = small ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<';
  return `expected a number ${op} ${bound}`;
}

function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** YAML reads `1`, `1.5` and `true` as numbers and booleans; where text is expected, say how to keep it text. */
function quoteHint(expected: string, input: unknown): string {
  if (expected !== 'string' || (typeof input !== 'number' && typeof input !== 'boolean')) return '';
  return ` (put it in quotes: ${JSON.stringify(String(input))})`;
}

function valueAt(data: unknown, path: readonly PathPart[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PathPart, unknown>)[key];
  }
  return value;
}

/** The known field a key most likely misspells: same letters in another case, or at most two edits away. */
function closestField(known: readonly string[], key: string): string | undefined {
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

export function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** What kind of value, never the value itself. */
function describeKind(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return describeValue(value);
}

export function describeNode(node: Node): string {
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeValue(node.value);
  return 'something else';
}

/**
 * A document's syntax errors, one per line: yaml often reports one mistake several times over
 * (a bad indent is also a multi-line key), and the first error of each line is the one worth reading.
 */
export function locateYamlErrors(file: string, doc: Document, text: string, lineCounter: LineCounter): Diagnostic[] {
  const lines = new Set<number>();
  const out: Diagnostic[] = [];
  for (const error of doc.errors) {
    const described = describeYamlError(error, text, doc.range?.[0] ?? 0);
    const { line, col } = lineCounter.linePos(described.offset);
    if (lines.has(line)) continue;
    lines.add(line);
    out.push({ code: 'YamlSyntax', file, line, col, path: '', message: `invalid YAML: ${described.message}` });
  }
  return out;
}

/**
 * yaml's own words, reworded where they name parser internals, and moved to where the mistake is
 * (the opening quote or bracket) rather than where the parser gave up.
 */
export function describeYamlError(error: YAMLError, text: string, docStart: number): { offset: number; message: string } {
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

/**
 * The document as plain values, or the reason it has none: toJS throws (rather than reporting) on
 * an alias with no anchor in its document and on alias bombs.
 */
export function resolveDocumentData(file: string, doc: Document, lineCounter: LineCounter): { ok: true; data: unknown } | { ok: false; diagnostic: Diagnostic } {
  try {
    return { ok: true, data: doc.toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    const alias = findUnresolvedAlias(doc);
    let offset: number | undefined;
    let reason: string;
    if (alias !== undefined) {
      offset = alias.range?.[0];
      reason = `alias *${alias.source} has no anchor &${alias.source} before it in this document (anchors do not cross ---)`;
    } else {
      offset = doc.contents?.range?.[0];
      const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      reason = /excessive alias count/i.test(message) ? 'aliases expand too far (an alias bomb?): refusing to expand them' : message;
    }
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { ok: false, diagnostic: { code: 'YamlSyntax', file, line, col, path: '', message: `invalid YAML: ${reason}` } };
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

/** Offset of the value at `path` when it is written (a wrong value), of its key otherwise (`spec:` left empty). */
export function findValueOffset(doc: Document, path: readonly PathPart[]): number | undefined {
  if (path.length === 0) return doc.contents?.range?.[0];
  const parent = findParent(doc, path);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isScalar(pair.key) && pair.key.value === last) {
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

export function findKeyOffset(doc: Document, path: readonly PathPart[]): number | undefined {
  const parent = findParent(doc, path);
  const last = path[path.length - 1];
  if (!isMap(parent)) return undefined;
  for (const pair of parent.items) if (isScalar(pair.key) && pair.key.value === last) return pair.key.range?.[0];
  return undefined;
}

/** For a missing field: the nearest ancestor that exists (a mapping's key, a list entry's start). */
export function findNearestOffset(doc: Document, path: readonly PathPart[]): number | undefined {
  for (let n = path.length - 1; n >= 1; n--) {
    const ancestor = path.slice(0, n);
    const offset = typeof ancestor[n - 1] === 'number' ? findValueOffset(doc, ancestor) : findKeyOffset(doc, ancestor);
    if (offset !== undefined) return offset;
  }
  return doc.contents?.range?.[0];
}

function findParent(doc: Document, path: readonly PathPart[]): unknown {
  return path.length <= 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
}
