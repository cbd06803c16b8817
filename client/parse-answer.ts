// Parses a reconciler's answer with the zod schema of its route: a body of another shape is one
// line naming the route and the first field that is wrong, never a value cast to a type it lacks.
// Not schema/yaml-diagnostics.ts's describer: that one loads the YAML parser, which `get` must not.
import type { z } from 'zod';
import { MalformedAnswer } from './errors.js';

/** `value` as `schema` parses it; MalformedAnswer naming `where` (method and URL) and the field otherwise. */
export function parseAnswer<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  const [first, ...rest] = parsed.error.issues;
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : '';
  throw new MalformedAnswer(`${where} answered with a body of the wrong shape: ${first === undefined ? 'unknown problem' : describeIssue(first)}${more}`);
}

/** `items.0.status.phase: expected one of "active", …, found "up"`. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  const input = 'input' in issue ? issue.input : undefined;
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message = input === undefined ? `missing (expected ${issue.expected})` : `expected ${issue.expected}, found ${describeValue(input)}`;
      break;
    case 'invalid_value': {
      const expected = `${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      message = input === undefined ? `missing (expected ${expected})` : `expected ${expected}, found ${describeValue(input)}`;
      break;
    }
    case 'unrecognized_keys':
      message = `unexpected ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      break;
    default:
      message = input === undefined ? issue.message : `${issue.message}, found ${describeValue(input)}`;
  }
  return path === '' ? `the body: ${message}` : `${path}: ${message}`;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}
