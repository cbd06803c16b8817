import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { measureWidth, padVisible, paint, paintHealth, paintPhase, stripAnsi, toneOfPhase } from '../../cli/format/color.js';
import { formatRow, formatTable, NO_RESOURCES } from '../../cli/format/table.js';
import { PHASES } from '../../schema/views.js';

describe('measureWidth', () => {
  it('counts what a terminal shows: the plain-text shortcut and the full measure agree on any text', () => {
    const piece = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('\u001b[32m', '\u001b[39m', '\u001b]8;;https://x\u0007', '🚀', '\ud800'));
    fc.assert(
      fc.property(fc.array(piece), (pieces) => {
        const text = pieces.join('');
        expect(measureWidth(text)).toBe([...stripAnsi(text)].length);
      }),
    );
  });
});

describe('color palette', () => {
  it('leaves text untouched when colour is off', () => {
    expect(paint('active', 'green', false)).toBe('active');
  });

  it('wraps text in ANSI codes when colour is on, and stripping them gives the text back', () => {
    const painted = paint('active', 'green', true);
    expect(painted).toBe('\u001b[32mactive\u001b[39m');
    expect(stripAnsi(painted)).toBe('active');
  });

  it('measures the visible width, not the escape codes', () => {
    expect(measureWidth(paint('Degraded', 'red', true))).toBe(8);
    expect(measureWidth(`${paint('a', 'bold', true)}${paint('bc', 'dim', true)}`)).toBe(3);
    expect(measureWidth('← this row')).toBe(10);
    expect(measureWidth('gpu 🚀 ok')).toBe(8);
    expect(padVisible(paint('ok', 'green', true), 5)).toBe(`${paint('ok', 'green', true)}   `);
  });

  it('colours phases by meaning: active green, stale and draining yellow, unhealthy red, the rest dim', () => {
    expect(Object.fromEntries(PHASES.map((p) => [p, toneOfPhase(p)]))).toEqual({
      active: 'green',
      pending: 'dim',
      stale: 'yellow',
      unhealthy: 'red',
      draining: 'yellow',
      unknown: 'dim',
    });
    expect(paintPhase('unhealthy', true)).toBe('\u001b[31munhealthy\u001b[39m');
    expect(paintHealth('Degraded', true)).toBe('\u001b[31mDegraded\u001b[39m');
    expect(paintHealth('Healthy', true)).toBe('\u001b[32mHealthy\u001b[39m');
  });
});

describe('kubectl-style table', () => {
  it('upper-cases headers, left-aligns columns three spaces apart and leaves no trailing spaces', () => {
    const table = formatTable(['name', 'pool', 'age'], [
      ['a', 'long-pool-key', '4s'],
      ['longer-name', '-', ''],
    ]);
    expect(table.stderr).toBe('');
    expect(table.stdout).toBe(['NAME          POOL            AGE', 'a             long-pool-key   4s', 'longer-name   -'].join('\n') + '\n');
    expect(table.widths).toEqual([11, 13, 3]);
  });

  it('says "No resources found." on stderr and prints nothing on stdout when there are no rows', () => {
    expect(formatTable(['NAME'], [])).toMatchObject({ stdout: '', stderr: `${NO_RESOURCES}\n` });
    expect(NO_RESOURCES).toBe('No resources found.');
  });

  it('aligns coloured cells exactly as plain ones', () => {
    const plain = formatTable(['A', 'B', 'C'], [['active', 'x', 'y'], ['unhealthy', 'xx', 'y']]);
    const coloured = formatTable(['A', 'B', 'C'], [[paintPhase('active', true), 'x', 'y'], [paintPhase('unhealthy', true), 'xx', 'y']]);
    expect(coloured.stdout).not.toBe(plain.stdout);
    expect(stripAnsi(coloured.stdout)).toBe(plain.stdout);
  });

  it('lets a cell wider than its column push the rest of the row right instead of cutting it', () => {
    expect(formatRow(['abcdef', 'x'], [2, 1])).toBe('abcdef   x');
  });
});
