// The one name rule for Llm names, pool names and agent-published names, without zod: the CLI's
// read commands check names too and do not pay for loading zod.

export const NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 63;
export const NAME_RULE_TEXT =
  "1-63 characters of a-z, 0-9, '.', '_' or '-', starting and ending with a letter or digit";

const ALLOWED_CHAR = /[a-z0-9._-]/;

/** What is wrong with `value` as a name, in words that point at it, or null when it is valid. */
export function nameProblem(value: string): string | null {
  if (NAME_PATTERN.test(value) && value.length <= NAME_MAX_LENGTH) return null;
  const shown = JSON.stringify(value);
  if (value.length === 0) return 'a name cannot be empty';
  if (value.length > NAME_MAX_LENGTH) return `${value.length} characters is too long (at most ${NAME_MAX_LENGTH})`;
  if (/[A-Z]/.test(value)) return `capital letters are not allowed: ${shown}`;
  const bad = [...value].find((c) => !ALLOWED_CHAR.test(c));
  if (bad !== undefined) return `${describeChar(bad)} is not allowed: ${shown}`;
  const edge = /^[a-z0-9]/.test(value) ? value.slice(-1) : value.slice(0, 1);
  return `a name must start and end with a letter or digit, not ${JSON.stringify(edge)}: ${shown}`;
}

function describeChar(c: string): string {
  if (c === ' ') return 'a space';
  if (/\s/.test(c)) return `whitespace (${JSON.stringify(c)})`;
  return JSON.stringify(c);
}

/** Returns null when `value` is a valid name, else what is wrong and the rule. */
export function checkName(value: string): string | null {
  const problem = nameProblem(value);
  return problem === null ? null : `${problem}; a name is ${NAME_RULE_TEXT}`;
}
