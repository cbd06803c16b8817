import { describe, expect, test } from 'vitest';
import { formatKeyHints, intentOfKey, keyModeOf, type KeyMode, type KeyPress } from '../../cli/tui/keys.js';

const NO_KEY: KeyPress = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageUp: false,
  pageDown: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
};
const key = (k: Partial<KeyPress> = {}): KeyPress => ({ ...NO_KEY, ...k });

describe('normal mode', () => {
  test.each<[string, string, Partial<KeyPress>, unknown]>([
    ['up arrow', '', { upArrow: true }, { type: 'move', delta: -1 }],
    ['k', 'k', {}, { type: 'move', delta: -1 }],
    ['down arrow', '', { downArrow: true }, { type: 'move', delta: 1 }],
    ['j', 'j', {}, { type: 'move', delta: 1 }],
    ['page up', '', { pageUp: true }, { type: 'page', direction: -1 }],
    ['page down', '', { pageDown: true }, { type: 'page', direction: 1 }],
    ['space', ' ', {}, { type: 'page', direction: 1 }],
    ['g', 'g', {}, { type: 'moveTo', where: 'first' }],
    ['G', 'G', {}, { type: 'moveTo', where: 'last' }],
    ['home', '', { home: true }, { type: 'moveTo', where: 'first' }],
    ['end', '', { end: true }, { type: 'moveTo', where: 'last' }],
    ['enter', '\r', { return: true }, { type: 'enter' }],
    ['esc', '', { escape: true }, { type: 'back' }],
    ['backspace', '', { backspace: true }, { type: 'back' }],
    ['delete (what most terminals send for backspace)', '', { delete: true }, { type: 'back' }],
    ['tab', '', { tab: true }, { type: 'switchTab', direction: 1 }],
    ['shift+tab', '', { tab: true, shift: true }, { type: 'switchTab', direction: -1 }],
    ['p', 'p', {}, { type: 'plan' }],
    ['a', 'a', {}, { type: 'apply' }],
    ['/', '/', {}, { type: 'startFilter' }],
    ['?', '?', {}, { type: 'toggleHelp' }],
    ['q', 'q', {}, { type: 'quit' }],
    ['an unbound letter', 'x', {}, null],
    ['ctrl+p', 'p', { ctrl: true }, null],
  ])('%s', (_name, input, k, intent) => {
    expect(intentOfKey(input, key(k), 'normal')).toEqual(intent);
  });
});

describe('filter mode: keys are text', () => {
  test.each<[string, string, Partial<KeyPress>, unknown]>([
    ['a letter that is a command elsewhere', 'q', {}, { type: 'typeFilter', text: 'q' }],
    ['j types j', 'j', {}, { type: 'typeFilter', text: 'j' }],
    ['a pasted word', 'qwen3', {}, { type: 'typeFilter', text: 'qwen3' }],
    ['enter keeps the filter', '\r', { return: true }, { type: 'commitFilter' }],
    ['esc clears it', '', { escape: true }, { type: 'cancelFilter' }],
    ['backspace erases', '', { backspace: true }, { type: 'eraseFilter' }],
    ['delete erases', '', { delete: true }, { type: 'eraseFilter' }],
    ['arrows still move', '', { downArrow: true }, { type: 'move', delta: 1 }],
    ['tab is not text', '', { tab: true }, null],
    ['a control character is not text', '\u0001', {}, null],
  ])('%s', (_name, input, k, intent) => {
    expect(intentOfKey(input, key(k), 'filter')).toEqual(intent);
  });
});

describe('confirm mode: only yes or no', () => {
  test.each<[string, string, Partial<KeyPress>, unknown]>([
    ['y', 'y', {}, { type: 'confirmApply' }],
    ['Y', 'Y', {}, { type: 'confirmApply' }],
    ['n', 'n', {}, { type: 'cancelApply' }],
    ['esc', '', { escape: true }, { type: 'cancelApply' }],
    ['q cancels rather than quits', 'q', {}, { type: 'cancelApply' }],
    ['enter does not confirm', '\r', { return: true }, null],
    ['a does not confirm', 'a', {}, null],
  ])('%s', (_name, input, k, intent) => {
    expect(intentOfKey(input, key(k), 'confirm')).toEqual(intent);
  });
});

describe('help and applying modes', () => {
  test('help closes on ? or esc and still quits on q', () => {
    expect(intentOfKey('?', key(), 'help')).toEqual({ type: 'toggleHelp' });
    expect(intentOfKey('', key({ escape: true }), 'help')).toEqual({ type: 'toggleHelp' });
    expect(intentOfKey('q', key(), 'help')).toEqual({ type: 'quit' });
    expect(intentOfKey('j', key(), 'help')).toBeNull();
  });

  test('while applying only scrolling works: q, tab and p wait', () => {
    expect(intentOfKey('j', key(), 'applying')).toEqual({ type: 'move', delta: 1 });
    for (const input of ['q', 'p', 'a', '/']) expect(intentOfKey(input, key(), 'applying')).toBeNull();
    expect(intentOfKey('', key({ tab: true }), 'applying')).toBeNull();
  });
});

describe('keyModeOf', () => {
  const base = { editingFilter: false, help: false, apply: { state: 'idle' as const } };
  test.each<[string, Parameters<typeof keyModeOf>[0], KeyMode]>([
    ['nothing open', base, 'normal'],
    ['typing a filter', { ...base, editingFilter: true }, 'filter'],
    ['help open', { ...base, help: true }, 'help'],
    ['asked to confirm (wins over help)', { ...base, help: true, apply: { state: 'confirm' } }, 'confirm'],
    ['applying', { ...base, apply: { state: 'running', steps: [] } }, 'applying'],
  ])('%s', (_name, state, mode) => {
    expect(keyModeOf(state)).toBe(mode);
  });
});

describe('formatKeyHints', () => {
  test('every hint line fits 80 columns', () => {
    for (const mode of ['normal', 'filter', 'confirm', 'help', 'applying'] as const) {
      for (const tab of ['pools', 'members', 'plan'] as const) {
        for (const detail of [false, true]) expect([...formatKeyHints(mode, tab, detail)].length).toBeLessThanOrEqual(80);
      }
    }
  });
});
