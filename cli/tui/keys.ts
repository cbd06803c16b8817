// Keys to intents, by mode: the whole key map in one pure function, so every binding is testable
// without a terminal. The container turns intents into reducer actions or async work.
import type { Key } from 'ink';
import type { Tab, TuiState } from './state.js';

export type KeyIntent =
  | { type: 'move'; delta: number }
  | { type: 'moveTo'; where: 'first' | 'last' }
  | { type: 'page'; direction: 1 | -1 }
  | { type: 'enter' }
  | { type: 'back' }
  | { type: 'switchTab'; direction: 1 | -1 }
  | { type: 'plan' }
  | { type: 'apply' }
  | { type: 'confirmApply' }
  | { type: 'cancelApply' }
  | { type: 'startFilter' }
  | { type: 'typeFilter'; text: string }
  | { type: 'eraseFilter' }
  | { type: 'commitFilter' }
  | { type: 'cancelFilter' }
  | { type: 'toggleHelp' }
  | { type: 'quit' };

/** Which keys mean what right now. */
export type KeyMode = 'normal' | 'filter' | 'confirm' | 'help' | 'applying';

export function keyModeOf(state: Pick<TuiState, 'editingFilter' | 'apply' | 'help'>): KeyMode {
  if (state.apply.state === 'confirm') return 'confirm';
  if (state.apply.state === 'running') return 'applying';
  if (state.editingFilter) return 'filter';
  if (state.help) return 'help';
  return 'normal';
}

export type KeyPress = Pick<
  Key,
  'upArrow' | 'downArrow' | 'leftArrow' | 'rightArrow' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'return' | 'escape' | 'ctrl' | 'shift' | 'tab' | 'backspace' | 'delete' | 'meta'
>;

export function intentOfKey(input: string, key: KeyPress, mode: KeyMode): KeyIntent | null {
  switch (mode) {
    case 'confirm':
      if (input === 'y' || input === 'Y') return { type: 'confirmApply' };
      if (input === 'n' || input === 'N' || key.escape || input === 'q') return { type: 'cancelApply' };
      return null;
    case 'filter':
      if (key.return) return { type: 'commitFilter' };
      if (key.escape) return { type: 'cancelFilter' };
      if (key.backspace || key.delete) return { type: 'eraseFilter' };
      if (key.upArrow) return { type: 'move', delta: -1 };
      if (key.downArrow) return { type: 'move', delta: 1 };
      if (key.ctrl || key.meta || key.tab) return null;
      return printable(input) ? { type: 'typeFilter', text: input } : null;
    case 'applying':
      // Writes are under way: only scrolling, so that a stray key cannot quit half-way.
      return scrollIntent(input, key);
    case 'help':
      if (input === '?' || key.escape || key.backspace || key.delete || key.return) return { type: 'toggleHelp' };
      if (input === 'q') return { type: 'quit' };
      return null;
    case 'normal':
      return normalIntent(input, key);
  }
}

function normalIntent(input: string, key: KeyPress): KeyIntent | null {
  const scroll = scrollIntent(input, key);
  if (scroll !== null) return scroll;
  if (key.return) return { type: 'enter' };
  if (key.escape || key.backspace || key.delete) return { type: 'back' };
  if (key.tab) return { type: 'switchTab', direction: key.shift ? -1 : 1 };
  if (key.ctrl || key.meta) return null;
  switch (input) {
    case 'p':
      return { type: 'plan' };
    case 'a':
      return { type: 'apply' };
    case '/':
      return { type: 'startFilter' };
    case '?':
      return { type: 'toggleHelp' };
    case 'q':
      return { type: 'quit' };
    default:
      return null;
  }
}

function scrollIntent(input: string, key: KeyPress): KeyIntent | null {
  if (key.upArrow || (input === 'k' && !key.ctrl)) return { type: 'move', delta: -1 };
  if (key.downArrow || (input === 'j' && !key.ctrl)) return { type: 'move', delta: 1 };
  if (key.pageUp) return { type: 'page', direction: -1 };
  if (key.pageDown || input === ' ') return { type: 'page', direction: 1 };
  if (key.home || input === 'g') return { type: 'moveTo', where: 'first' };
  if (key.end || input === 'G') return { type: 'moveTo', where: 'last' };
  return null;
}

/** Text a filter can hold: one or more visible characters (a paste arrives as one input). */
function printable(input: string): boolean {
  return input !== '' && !/[\u0000-\u001f\u007f]/.test(input);
}

/** The key hints of the footer: at most 80 columns, so that they fit the smallest terminal. */
export function formatKeyHints(mode: KeyMode, tab: Tab, detail: boolean): string {
  switch (mode) {
    case 'confirm':
      return 'y apply  n cancel';
    case 'applying':
      return 'applying… other keys wait until it finishes  (jk scroll)';
    case 'filter':
      return 'enter keep  esc clear';
    case 'help':
      return '? or esc close help  q quit';
    case 'normal':
      if (detail) return '↑↓jk scroll  esc back  tab view  p plan  ? help  q quit';
      if (tab === 'plan') return '↑↓jk scroll  p plan again  a apply  esc back  tab view  ? help  q quit';
      if (tab === 'members') return '↑↓jk move  enter detail  esc back  tab view  p plan  / filter  ? help  q quit';
      return '↑↓jk move  enter open  tab view  p plan  a apply  / filter  ? help  q quit';
  }
}
