import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fitPlain, maxScrollOffset, scrollLines, truncatePlain, windowLines } from '../../cli/tui/viewport.js';

const numbered = (n: number): string[] => Array.from({ length: n }, (_, i) => `line ${i}`);

describe('truncatePlain and fitPlain', () => {
  test.each([
    ['abc', 5, 'abc'],
    ['abcdef', 5, 'abcd…'],
    ['abcde', 5, 'abcde'],
    ['abc', 1, '…'],
    ['abc', 0, ''],
    ['←→↑↓x', 4, '←→↑…'],
  ])('truncatePlain(%j, %i) is %j', (text, width, expected) => {
    expect(truncatePlain(text, width)).toBe(expected);
  });

  test('fitPlain pads short text and cuts long text to exactly the width', () => {
    expect(fitPlain('ab', 4)).toBe('ab  ');
    expect(fitPlain('abcdef', 4)).toBe('abc…');
  });
});

describe('windowLines', () => {
  test('a list that fits is shown whole', () => {
    expect(windowLines(numbered(3), 2, 5)).toEqual(numbered(3));
  });

  test('near the top only the lines below are counted', () => {
    expect(windowLines(numbered(10), 0, 4)).toEqual(['line 0', 'line 1', 'line 2', '↓ 7 more']);
  });

  test('near the bottom only the lines above are counted', () => {
    expect(windowLines(numbered(10), 9, 4)).toEqual(['↑ 7 more', 'line 7', 'line 8', 'line 9']);
  });

  test('in the middle both sides are counted and the focus is centred', () => {
    expect(windowLines(numbered(20), 10, 5)).toEqual(['↑ 9 more', 'line 9', 'line 10', 'line 11', '↓ 8 more']);
  });

  test('the focused line is always visible and the window is exactly the height', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 30 }), (n, focusSeed, height) => {
        const lines = numbered(n);
        const focus = focusSeed % n;
        const shown = windowLines(lines, focus, height);
        expect(shown.length).toBe(Math.min(n, height));
        expect(shown).toContain(`line ${focus}`);
        // With room for markers (3 rows), the counts add up: shown lines plus hidden ones are all.
        if (height < 3) return;
        const hidden = shown.filter((l) => /^[↑↓] \d+ more$/.test(l)).reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
        expect(hidden + shown.filter((l) => l.startsWith('line ')).length).toBe(n);
      }),
    );
  });
});

describe('scrollLines', () => {
  test('offset 0 shows the top and counts what is below', () => {
    expect(scrollLines(numbered(10), 0, 4)).toEqual(['line 0', 'line 1', 'line 2', '↓ 7 more']);
  });

  test('the largest offset shows the last line on the bottom row', () => {
    const max = maxScrollOffset(10, 4);
    expect(scrollLines(numbered(10), max, 4)).toEqual(['↑ 7 more', 'line 7', 'line 8', 'line 9']);
  });

  test('an offset past the end is clamped', () => {
    expect(scrollLines(numbered(10), 99, 4)).toEqual(scrollLines(numbered(10), maxScrollOffset(10, 4), 4));
  });

  test('every offset shows exactly the height and accounts for every line', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 2, max: 20 }), (n, offset, height) => {
        const shown = scrollLines(numbered(n), offset, height);
        expect(shown.length).toBe(Math.min(n, height));
        const hidden = shown.filter((l) => /^[↑↓] \d+ more$/.test(l)).reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
        expect(hidden + shown.filter((l) => l.startsWith('line ')).length).toBe(n);
      }),
    );
  });

  test('a text that fits never scrolls', () => {
    expect(maxScrollOffset(3, 5)).toBe(0);
    expect(scrollLines(numbered(3), 2, 5)).toEqual(numbered(3));
  });
});
