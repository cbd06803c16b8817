// The one name rule for Llm names, pool names and agent-published names (DESIGN §1), without
// zod: the CLI's read commands check names too and do not pay for loading zod.

export const NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 63;
export const NAME_RULE_TEXT =
  "1-63 characters of a-z, 0-9, '.', '_' or '-', starting and ending with a letter or digit";

/** Returns null when `value` is a valid name, else a reason naming what was found. */
export function checkName(value: string): string | null {
  if (value.length === 0) return `expected ${NAME_RULE_TEXT}, found an empty string`;
  if (value.length > NAME_MAX_LENGTH) return `expected ${NAME_RULE_TEXT}, found ${value.length} characters`;
  if (!NAME_PATTERN.test(value)) return `expected ${NAME_RULE_TEXT}, found ${JSON.stringify(value)}`;
  return null;
}
