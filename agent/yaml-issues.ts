// Places zod issues found in a parsed YAML document at file:line:col, the way schema/codec.ts
// does for resource files: a wrong value points at the value, an unknown field at its key, a
// missing field at the nearest enclosing node that exists.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import type { Diagnostic, DiagnosticCode } from '../schema/diagnostics.js';

/** Known fields per mapping, keyed by the path pattern (`''` root, `providers[]` an entry). */
export type KnownFields = Record<string, string>;

export function locateZodIssues(
  file: string,
  doc: Document,
  lineCounter: LineCounter,
  issues: readonly z.core.$ZodIssue[],
  knownFields: KnownFields,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    for (const d of describeIssue(issue, path, knownFields)) {
      const offset = d.code === 'UnknownField' ? findKeyOffset(doc, d.path) : findValueOffset(doc, d.path);
      const pos = lineCounter.linePos(offset ?? findNearestOffset(doc, d.path) ?? 0);
      out.push({ code: d.code, file, line: pos.line, col: pos.col, path: formatPath(d.path), message: d.message });
    }
  }
  return out;
}

/** `providers[0].model`: indices in brackets, as users count list entries. */
export function formatPath(path: readonly (string | number)[]): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`;
  return text;
}

interface IssueDescription {
  code: DiagnosticCode;
  path: (string | number)[];
  message: string;
}

function describeIssue(issue: z.core.$ZodIssue, path: (string | number)[], knownFields: KnownFields): IssueDescription[] {
  const input = 'input' in issue ? issue.input : undefined;
  if (issue.message.startsWith('invalid name')) {
    const found = typeof input === 'string' && input.length > 63 ? `${input.length} characters` : describeValue(input);
    return [{ code: 'InvalidName', path, message: `${issue.message}, found ${found}` }];
  }
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownFields[toPathPattern(path)];
      const hint = known === undefined ? '' : ` (expected one of ${known})`;
      return issue.keys.map((key) => ({ code: 'UnknownField', path: [...path, key], message: `unknown field ${JSON.stringify(key)}${hint}` }));
    }
    case 'invalid_type':
      if (input === undefined) return [{ code: 'MissingField', path, message: `required field is missing (expected ${issue.expected})` }];
      return [{ code: 'InvalidValue', path, message: `expected ${issue.expected}, found ${describeValue(input)}` }];
    case 'invalid_value':
      return [{ code: 'InvalidValue', path, message: `expected ${issue.values.map((v) => String(v)).join(' | ')}, found ${describeValue(input)}` }];
    case 'custom':
      return [{ code: 'InvalidValue', path, message: issue.message }];
    default:
      return [{ code: 'InvalidValue', path, message: `${issue.message}${input === undefined ? '' : `, found ${describeValue(input)}`}` }];
  }
}

function toPathPattern(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? '[]' : p)).join('.').replace(/\.\[\]/g, '[]');
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

export function describeNode(node: Node): string {
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeValue(node.value);
  return 'something else';
}

function findParent(doc: Document, path: readonly (string | number)[]): unknown {
  return path.length <= 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
}

/** Offset of the value at `path` (of its key when the value is empty). */
export function findValueOffset(doc: Document, path: readonly (string | number)[]): number | undefined {
  if (path.length === 0) return doc.contents?.range?.[0];
  const parent = findParent(doc, path);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isScalar(pair.key) && pair.key.value === last) {
        const value = pair.value as Node | null;
        return value?.range?.[0] ?? pair.key.range?.[0];
      }
    }
    return undefined;
  }
  if (isSeq(parent) && typeof last === 'number') return (parent.items[last] as Node | undefined)?.range?.[0];
  return undefined;
}

function findKeyOffset(doc: Document, path: readonly (string | number)[]): number | undefined {
  const parent = findParent(doc, path);
  const last = path[path.length - 1];
  if (!isMap(parent)) return undefined;
  for (const pair of parent.items) if (isScalar(pair.key) && pair.key.value === last) return pair.key.range?.[0];
  return undefined;
}

/** For a missing field: the nearest ancestor that exists (a list entry's start, a mapping's key). */
function findNearestOffset(doc: Document, path: readonly (string | number)[]): number | undefined {
  for (let n = path.length - 1; n >= 1; n--) {
    const ancestor = path.slice(0, n);
    const last = ancestor[ancestor.length - 1];
    if (typeof last === 'number') {
      const offset = findValueOffset(doc, ancestor);
      if (offset !== undefined) return offset;
    } else {
      const offset = findKeyOffset(doc, ancestor);
      if (offset !== undefined) return offset;
    }
  }
  return doc.contents?.range?.[0];
}
