// The one name rule (DESIGN §1): checkName (CLI flags, agent config) and nameSchema (files,
// registrations) accept and refuse exactly the same names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkName, NAME_MAX_LENGTH, NAME_PATTERN, NAME_RULE_TEXT, nameSchema } from '../../schema/names.js';
import { nameProblem } from '../../schema/name-rule.js';

const valid = [
  ['one letter', 'a'],
  ['one digit', '0'],
  ['dashes inside', 'vllm-gpu1-qwen3'],
  ['dots inside', 'qwen3.8b'],
  ['underscores inside', 'user_vllm_pool'],
  ['all three inside', 'a.b_c-d'],
  ['digits only', '007'],
  ['63 characters', `a${'b'.repeat(61)}c`],
] as const;

const invalid = [
  ['empty', '', 'a name cannot be empty'],
  ['uppercase', 'Qwen3', 'capital letters are not allowed: "Qwen3"'],
  ['the issue\'s example', 'Gpu_Pool', 'capital letters are not allowed: "Gpu_Pool"'],
  ['leading dash', '-gpu1', 'a name must start and end with a letter or digit, not "-": "-gpu1"'],
  ['trailing dash', 'gpu1-', 'a name must start and end with a letter or digit, not "-": "gpu1-"'],
  ['leading dot', '.hidden', 'a name must start and end with a letter or digit, not ".": ".hidden"'],
  ['trailing underscore', 'gpu1_', 'a name must start and end with a letter or digit, not "_": "gpu1_"'],
  ['a space', 'qwen 3', 'a space is not allowed: "qwen 3"'],
  ['a slash and capitals', 'Qwen/Qwen3-8B', 'capital letters are not allowed: "Qwen/Qwen3-8B"'],
  ['a slash', 'qwen/qwen3', '"/" is not allowed: "qwen/qwen3"'],
  ['a colon', 'qwen3:8b', '":" is not allowed: "qwen3:8b"'],
  ['non-ASCII', 'qwén', '"é" is not allowed: "qwén"'],
  ['64 characters', 'a'.repeat(64), '64 characters is too long (at most 63)'],
  ['a newline', 'a\nb', 'whitespace ("\\n") is not allowed: "a\\nb"'],
] as const;

describe('checkName', () => {
  it.each(valid)('accepts %s', (_label, name) => {
    expect(checkName(name)).toBeNull();
  });

  it.each(invalid)('refuses %s, saying what is wrong in the value, then the rule', (_label, name, problem) => {
    expect(nameProblem(name)).toBe(problem);
    expect(checkName(name)).toBe(`${problem}; a name is ${NAME_RULE_TEXT}`);
  });
});

describe('nameSchema', () => {
  it.each(valid)('accepts %s', (_label, name) => {
    expect(nameSchema.safeParse(name).success).toBe(true);
  });

  it.each(invalid)('refuses %s with exactly one issue', (_label, name) => {
    const result = nameSchema.safeParse(name);
    expect(result.success).toBe(false);
    expect(result.error?.issues).toHaveLength(1);
    expect(result.error?.issues[0]?.message).toMatch(/^invalid name: expected 1-63 characters/);
  });

  it('refuses what is not a string', () => {
    for (const value of [1, null, undefined, ['a'], { name: 'a' }]) expect(nameSchema.safeParse(value).success).toBe(false);
  });
});

describe('one rule everywhere', () => {
  // Mostly near-misses: name characters plus a few that are not, around the length limit.
  const candidate = fc.oneof(
    fc.string({ unit: fc.constantFrom(...'abz09._-A /:é'.split('')), maxLength: 70 }),
    fc.stringMatching(NAME_PATTERN),
  );

  it('checkName, nameSchema and the pattern plus length agree on every string', () => {
    fc.assert(
      fc.property(candidate, (name) => {
        const byRule = NAME_PATTERN.test(name) && name.length <= NAME_MAX_LENGTH;
        expect(checkName(name) === null).toBe(byRule);
        expect(nameSchema.safeParse(name).success).toBe(byRule);
      }),
      { numRuns: 2000 },
    );
  });
});
