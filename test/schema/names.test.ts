// The one name rule (DESIGN §1): checkName (CLI flags, agent config) and nameSchema (files,
// registrations) accept and refuse exactly the same names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkName, NAME_MAX_LENGTH, NAME_PATTERN, nameSchema } from '../../schema/names.js';

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
  ['empty', '', 'found an empty string'],
  ['uppercase', 'Qwen3', 'found "Qwen3"'],
  ['leading dash', '-gpu1', 'found "-gpu1"'],
  ['trailing dash', 'gpu1-', 'found "gpu1-"'],
  ['leading dot', '.hidden', 'found ".hidden"'],
  ['trailing underscore', 'gpu1_', 'found "gpu1_"'],
  ['a space', 'qwen 3', 'found "qwen 3"'],
  ['a slash', 'Qwen/Qwen3-8B', 'found "Qwen/Qwen3-8B"'],
  ['a colon', 'qwen3:8b', 'found "qwen3:8b"'],
  ['non-ASCII', 'qwén', 'found "qwén"'],
  ['64 characters', 'a'.repeat(64), 'found 64 characters'],
  ['a newline', 'a\nb', 'found "a\\nb"'],
] as const;

describe('checkName', () => {
  it.each(valid)('accepts %s', (_label, name) => {
    expect(checkName(name)).toBeNull();
  });

  it.each(invalid)('refuses %s, saying what it found', (_label, name, found) => {
    const reason = checkName(name);
    expect(reason).toMatch(/^expected 1-63 characters of a-z, 0-9/);
    expect(reason?.endsWith(found)).toBe(true);
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
