import { describe, expect, test } from 'vitest';
import { measureWidth, stripAnsi } from '../../cli/format/color.js';
import { formatBanner } from '../../cli/tui/banner.js';
import { formatFooterLine, formatHeaderLine } from '../../cli/tui/status-bars.js';
import { buildStatus, buildTuiFleet, NOW_MS, REVISION } from './support/tui-fleet.js';

const views = buildTuiFleet().views;

describe('formatBanner', () => {
  test('all well: no banner', () => {
    expect(formatBanner({ connection: { state: 'live' }, status: buildStatus(views), listed: true, nowMs: NOW_MS, color: false })).toEqual([]);
  });

  test('unreachable: the cause, the countdown to the next try, and that the screen shows the last known state', () => {
    const lines = formatBanner({
      connection: { state: 'unreachable', message: 'cannot reach the reconciler at http://127.0.0.1:7420: ECONNREFUSED', retryAtMs: NOW_MS + 3500 },
      status: null,
      listed: true,
      nowMs: NOW_MS,
      color: false,
    });
    expect(lines).toEqual([
      '✗ Reconciler unreachable, retrying in 4s; showing the last known state',
      '  cannot reach the reconciler at http://127.0.0.1:7420: ECONNREFUSED',
    ]);
  });

  test('unreachable before anything was listed does not claim a last known state', () => {
    const lines = formatBanner({ connection: { state: 'unreachable', message: 'ECONNREFUSED', retryAtMs: NOW_MS - 1 }, status: null, listed: false, nowMs: NOW_MS, color: false });
    expect(lines).toEqual(['✗ Reconciler unreachable, retrying', '  ECONNREFUSED']);
  });

  test('a rejected revision lists its errors as file:line:col, at most three, then how many more', () => {
    const errors = [1, 2, 3, 4, 5].map((n) => ({ file: `llms/f${n}.yaml`, line: n, col: 2 * n, message: `problem ${n}` }));
    const lines = formatBanner({ connection: { state: 'live' }, status: buildStatus(views, errors), listed: true, nowMs: NOW_MS, color: false });
    expect(lines).toEqual([
      '! Revision a1b2c3d has 5 errors; serving 3f2c1e9:',
      '  llms/f1.yaml:1:2: problem 1',
      '  llms/f2.yaml:2:4: problem 2',
      '  llms/f3.yaml:3:6: problem 3',
      '  … 2 more: mcpctl status',
    ]);
  });

  test('colour is never the only signal: the words are the same with and without it', () => {
    const input = { connection: { state: 'unreachable' as const, message: 'x', retryAtMs: NOW_MS }, status: buildStatus(views, [{ file: 'a', line: 1, col: 1, message: 'm' }]), listed: true, nowMs: NOW_MS };
    const coloured = formatBanner({ ...input, color: true });
    expect(coloured.map(stripAnsi)).toEqual(formatBanner({ ...input, color: false }));
    expect(coloured[0]).toContain('\u001b[31m');
  });
});

describe('formatHeaderLine', () => {
  const base = { tab: 'pools' as const, revision: REVISION, llmCount: 9, connection: { state: 'live' as const }, filter: '', width: 80, color: false };

  test('the active tab is in brackets; revision, count and connection sit on the right edge', () => {
    const line = formatHeaderLine(base);
    expect(line).toMatch(/^mcpctl {2}\[Pools\] {2}Members {3}Plan +rev 3f2c1e9 · 9 llms · ● live$/);
    expect(line.length).toBe(80);
  });

  test('connection states are words, not only colours', () => {
    expect(formatHeaderLine({ ...base, connection: { state: 'connecting' } })).toMatch(/○ connecting$/);
    expect(formatHeaderLine({ ...base, connection: { state: 'unreachable', message: 'x', retryAtMs: 0 } })).toMatch(/✗ offline$/);
  });

  test('a filter shows next to the tabs; when space runs out the count goes first', () => {
    const line = formatHeaderLine({ ...base, tab: 'members', filter: 'a-long-filter-text' });
    expect(line).toMatch(/\[Members\]  Plan   \/a-long-filter-text  /);
    expect(line).not.toContain('llms');
    expect(line).toMatch(/rev 3f2c1e9 · ● live$/);
  });

  test('never wider than the terminal, coloured or not', () => {
    for (const width of [60, 80, 120]) {
      for (const color of [false, true]) expect(measureWidth(formatHeaderLine({ ...base, width, color }))).toBeLessThanOrEqual(width);
    }
  });
});

describe('formatFooterLine', () => {
  const base = { mode: 'normal' as const, tab: 'pools' as const, detail: false, filter: '', notice: null, planLine: null, color: false };
  test('hints by default, a notice over them, the filter being typed, the apply question', () => {
    expect(formatFooterLine(base)).toBe('↑↓jk move  enter open  tab view  p plan  a apply  / filter  ? help  q quit');
    expect(formatFooterLine({ ...base, notice: 'nothing to apply' })).toBe('nothing to apply');
    expect(formatFooterLine({ ...base, mode: 'filter', filter: 'qwen' })).toBe('/qwen▏  enter keep  esc clear');
    expect(formatFooterLine({ ...base, mode: 'confirm', planLine: 'Plan: 1 to add, 0 to change, 0 to remove.' })).toBe(
      'Apply? Plan: 1 to add, 0 to change, 0 to remove.  y apply  n cancel',
    );
  });
});
