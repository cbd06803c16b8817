import { describe, expect, test } from 'vitest';
import { shortRevision } from '../../schema/revision.js';

describe('shortRevision', () => {
  test.each([
    ['3f2c1e9a4b5c6d7e8f9012345678901234567890', '3f2c1e9'],
    ['3f2c1e9a4b5c6d7e8f90123456789012345678903f2c1e9a4b5c6d7e8f901234', '3f2c1e9'],
    ['worktree-9f8e7d6c5b4a', 'worktree-9f8e7d6c5b4a'],
    ['3f2c1e9', '3f2c1e9'],
    ['3F2C1E9A4B5C6D7E8F9012345678901234567890', '3F2C1E9A4B5C6D7E8F9012345678901234567890'],
    ['', ''],
    [null, '(none)'],
  ])('%j shows as %j', (revision, short) => {
    expect(shortRevision(revision)).toBe(short);
  });
});
