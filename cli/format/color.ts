// A tiny ANSI palette for the renderers. The caller decides whether colour is on (TTY, NO_COLOR);
// everything here is pure, and widths are always measured on the visible text.
import type { Phase, PoolHealth } from '../../schema/views.js';

export type Tone = 'green' | 'yellow' | 'red' | 'dim' | 'bold' | 'cyan';

const OPEN: Record<Tone, string> = {
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  red: '\u001b[31m',
  dim: '\u001b[2m',
  bold: '\u001b[1m',
  cyan: '\u001b[36m',
};
// Bold and dim share one reset (22); colours reset with 39. Specific resets keep nested paint intact.
const CLOSE: Record<Tone, string> = {
  green: '\u001b[39m',
  yellow: '\u001b[39m',
  red: '\u001b[39m',
  dim: '\u001b[22m',
  bold: '\u001b[22m',
  cyan: '\u001b[39m',
};

// CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks, titles).
const ANSI_PATTERN = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

export function paint(text: string, tone: Tone, enabled: boolean): string {
  if (!enabled || text.length === 0) return text;
  return `${OPEN[tone]}${text}${CLOSE[tone]}`;
}

export function stripAnsi(text: string): string {
  return text.replace(ANSI_PATTERN, '');
}

/** Text with neither an escape nor a surrogate: one column per UTF-16 unit. */
const PLAIN_TEXT = /^[^\u001b\ud800-\udfff]*$/;

/** Columns the text takes on a terminal: ANSI codes take none, a surrogate pair takes one. */
export function measureWidth(text: string): number {
  // Most cells are plain ASCII: a table of 1,000 rows measures each of its cells once or twice.
  if (PLAIN_TEXT.test(text)) return text.length;
  let width = 0;
  for (const _ of stripAnsi(text)) width++;
  return width;
}

/** Pads on the right to `width` visible columns (never truncates). */
export function padVisible(text: string, width: number): string {
  const missing = width - measureWidth(text);
  return missing > 0 ? text + ' '.repeat(missing) : text;
}

export function toneOfPhase(phase: Phase): Tone {
  switch (phase) {
    case 'active':
      return 'green';
    case 'stale':
    case 'draining':
      return 'yellow';
    case 'unhealthy':
      return 'red';
    case 'pending':
    case 'unknown':
      return 'dim';
  }
}

export function paintPhase(phase: Phase, enabled: boolean): string {
  return paint(phase, toneOfPhase(phase), enabled);
}

export function paintHealth(health: PoolHealth, enabled: boolean): string {
  return paint(health, health === 'Healthy' ? 'green' : 'red', enabled);
}
