import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../service/durations.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['2h0m5s', 7_205_000],
    ['1s500ms', 1_500],
    ['1.5s', 1_500],
    ['0.25ms', 0],
    ['0s', 0],
    [' 45s ', 45_000],
  ])('reads %j as %i ms', (text, expectedMs) => {
    expect(parseDuration(text, '--poll')).toBe(expectedMs);
  });

  it.each(['', 'x', '30', 's', '30sec', '30S', '1m 30s', '-5s', '+5s', '1e3s', '.5s', '5.s', '10 s', 'ms', '1d', '1h30', '99999999999999999999h'])(
    'rejects %j and names the flag',
    (text) => {
      expect(() => parseDuration(text, '--ttl')).toThrow(`--ttl: expected a duration like 30s, 500ms, 10m or 1h, found ${JSON.stringify(text)}`);
    },
  );

  it('says which flag and which value were wrong', () => {
    expect(() => parseDuration('x', '--poll')).toThrow(new Error('--poll: expected a duration like 30s, 500ms, 10m or 1h, found "x"'));
  });
});
