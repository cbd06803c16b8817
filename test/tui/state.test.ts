import { describe, expect, test } from 'vitest';
import { stripAnsi } from '../../cli/format/color.js';
import type { PlanResult } from '../../cli/tui/data-source.js';
import { selectBodyHeight, selectDetailLines, selectMember, selectPlanLines, selectPoolKey } from '../../cli/tui/selectors.js';
import { reduceTui, refuseApply, type TuiAction } from '../../cli/tui/reducer.js';
import { createInitialState, type TuiState } from '../../cli/tui/state.js';
import { buildRealisticLive, buildStatus, buildTuiFleet, degradedFiles, editedFiles, liveLlm, NOW_MS, planOf, REALISTIC_FILES, snapshotOf } from './support/tui-fleet.js';

const fleet = buildTuiFleet();

function start(...actions: TuiAction[]): TuiState {
  const initial = createInitialState({ color: false, server: 'http://127.0.0.1:7420', nowMs: NOW_MS, columns: 80, rows: 24 });
  return [{ type: 'listed', snapshot: snapshotOf(fleet) } as TuiAction, ...actions].reduce(reduceTui, initial);
}

const run = (state: TuiState, ...actions: TuiAction[]): TuiState => actions.reduce(reduceTui, state);
const move = (delta: number): TuiAction => ({ type: 'move', delta });

describe('data from the informer', () => {
  test('before any list the state is connecting and empty', () => {
    const initial = createInitialState({ color: false, server: 's', nowMs: 0, columns: 80, rows: 24 });
    expect(initial).toMatchObject({ listed: false, connection: { state: 'connecting' } });
    expect(initial.llms.size).toBe(0);
  });

  test('a list fills the cache, the policies and the status, and goes live', () => {
    const state = start();
    expect(state.llms.size).toBe(fleet.views.length);
    expect(state.policies.get('user-vllm-qwen3-thinking')?.minActive).toBe(1);
    expect(state).toMatchObject({ listed: true, connection: { state: 'live' } });
  });

  test('unreachable keeps the last known Llms and says when it retries', () => {
    const state = run(start(), { type: 'unreachable', message: 'ECONNREFUSED', retryAtMs: NOW_MS + 2000 });
    expect(state.llms.size).toBe(fleet.views.length);
    expect(state.connection).toEqual({ state: 'unreachable', message: 'ECONNREFUSED', retryAtMs: NOW_MS + 2000 });
    // Retrying does not flip the banner back and forth.
    expect(run(state, { type: 'connecting' }).connection.state).toBe('unreachable');
  });

  test('a re-list after reconnecting drops what was deleted meanwhile', () => {
    const smaller = buildTuiFleet({ live: buildRealisticLive().filter((l) => l.name !== 'ollama-laptop') });
    const state = run(start(), { type: 'unreachable', message: 'x', retryAtMs: 0 }, { type: 'listed', snapshot: snapshotOf(smaller) });
    expect(state.llms.has('ollama-laptop')).toBe(false);
    expect(state.connection.state).toBe('live');
  });

  test('an event that repeats the cache returns the same state (no re-render)', () => {
    const state = start();
    expect(reduceTui(state, { type: 'watchEvent', event: { type: 'MODIFIED', view: structuredClone(fleet.view('vllm-gpu1-qwen3')) } })).toBe(state);
  });

  test('a gateway poll that says what the last one said returns the same state; a change or no answer replaces it', () => {
    const polled = run(start(), { type: 'inFlight', counts: new Map([['vllm-gpu1-qwen3', 2]]) });
    expect(polled.inFlight?.get('vllm-gpu1-qwen3')).toBe(2);
    expect(reduceTui(polled, { type: 'inFlight', counts: new Map([['vllm-gpu1-qwen3', 2]]) })).toBe(polled);
    expect(reduceTui(polled, { type: 'inFlight', counts: new Map([['vllm-gpu1-qwen3', 1]]) }).inFlight?.get('vllm-gpu1-qwen3')).toBe(1);
    expect(reduceTui(polled, { type: 'inFlight', counts: null }).inFlight).toBeNull();
    expect(start().inFlight).toBeNull();
  });

  test('a STATUS event replaces the status', () => {
    const errors = [{ file: 'llms/a.yaml', line: 3, col: 5, message: 'spec.model: expected a string' }];
    const state = run(start(), { type: 'watchEvent', event: { type: 'STATUS', status: buildStatus(fleet.views, errors) } });
    expect(state.status?.errors).toEqual(errors);
  });
});

describe('cursor and navigation', () => {
  test('the cursor starts on the first pool and j/k move it within bounds', () => {
    let state = start();
    expect(selectPoolKey(state)).toBe('llama3-70b');
    state = run(state, move(1));
    expect(selectPoolKey(state)).toBe('user-vllm-qwen3-thinking');
    state = run(state, move(1), move(1), move(1), move(1), move(1));
    expect(selectPoolKey(state)).toBe('openai-gpt4o');
    state = run(state, move(-100));
    expect(selectPoolKey(state)).toBe('llama3-70b');
    expect(selectPoolKey(run(state, { type: 'moveTo', where: 'last' }))).toBe('openai-gpt4o');
  });

  test('the cursor stays on its row when a row is inserted above it', () => {
    const state = run(start(), move(1));
    const early = buildTuiFleet({ live: [...buildRealisticLive(), liveLlm({ name: 'aaa-first', agentId: 'h0' })] }).view('aaa-first');
    const next = run(state, { type: 'watchEvent', event: { type: 'ADDED', view: early } });
    expect(selectPoolKey(next)).toBe('user-vllm-qwen3-thinking');
  });

  test('when its row is deleted the cursor takes the row now at its place', () => {
    const state = run(start(), { type: 'moveTo', where: 'last' }, move(-1));
    expect(selectPoolKey(state)).toBe('ollama-workstation');
    const next = run(state, { type: 'watchEvent', event: { type: 'DELETED', view: fleet.view('ollama-workstation') } });
    expect(selectPoolKey(next)).toBe('openai-gpt4o');
  });

  test('enter on a pool opens its members; enter on a member opens its detail; esc goes back one level at a time', () => {
    let state = run(start(), move(1), { type: 'enter' });
    expect(state.tab).toBe('members');
    expect(selectMember(state)).toBe('vllm-gpu1-qwen3');
    state = run(state, move(1), { type: 'enter' });
    expect(state.detail).toBe('vllm-gpu2-qwen3');
    state = run(state, { type: 'back' });
    expect(state).toMatchObject({ tab: 'members', detail: null });
    expect(selectMember(state)).toBe('vllm-gpu2-qwen3');
    state = run(state, { type: 'back' });
    expect(state.tab).toBe('pools');
    expect(selectPoolKey(state)).toBe('user-vllm-qwen3-thinking');
  });

  test('enter on a solo Llm goes straight to its detail', () => {
    const state = run(start(), { type: 'moveTo', where: 'last' }, { type: 'enter' });
    expect(state).toMatchObject({ tab: 'pools', detail: 'openai-gpt4o' });
  });

  test('the detail is the describe view of the cached Llm, and says so when the Llm goes away', () => {
    let state = run(start(), { type: 'enter' }, { type: 'enter' });
    expect(selectDetailLines(state)).toContain('Name:         llama3-70b');
    state = run(state, { type: 'watchEvent', event: { type: 'DELETED', view: fleet.view('llama3-70b') } });
    expect(selectDetailLines(state)).toEqual(['Llm llama3-70b is gone: the reconciler no longer serves it.']);
  });

  test('in the detail, j/k scroll within the text, never past its end', () => {
    let state = run(start(), { type: 'enter' }, { type: 'enter' });
    const lines = selectDetailLines(state).length;
    state = run(state, move(3));
    expect(state.scroll).toBe(3);
    state = run(state, { type: 'moveTo', where: 'last' });
    expect(state.scroll).toBe(lines - selectBodyHeight(state) + 1);
    expect(run(state, move(5)).scroll).toBe(state.scroll);
    expect(run(state, { type: 'moveTo', where: 'first' }).scroll).toBe(0);
  });

  test('tab cycles pools → members → plan → pools; shift+tab goes the other way; switching closes the detail', () => {
    let state = run(start(), { type: 'enter' }, { type: 'enter' });
    state = run(state, { type: 'switchTab', direction: 1 });
    expect(state).toMatchObject({ tab: 'plan', detail: null });
    expect(run(state, { type: 'switchTab', direction: 1 }).tab).toBe('pools');
    expect(run(state, { type: 'switchTab', direction: -1 }).tab).toBe('members');
  });

  test('esc on the plan tab returns to the pools', () => {
    expect(run(start(), { type: 'showTab', tab: 'plan' }, { type: 'back' }).tab).toBe('pools');
  });

  test('page moves by the body height less two', () => {
    const live = Array.from({ length: 40 }, (_, i) => liveLlm({ name: `solo-${String(i).padStart(2, '0')}`, agentId: `h${i}` }));
    const many = buildTuiFleet({ files: {}, live });
    let state = run(createInitialState({ color: false, server: 's', nowMs: NOW_MS, columns: 80, rows: 24 }), { type: 'listed', snapshot: snapshotOf(many) });
    state = run(state, { type: 'page', direction: 1 });
    expect(selectPoolKey(state)).toBe(`solo-${String(selectBodyHeight(state) - 2).padStart(2, '0')}`);
  });
});

describe('filter', () => {
  test('typing narrows the list and resets the cursor; erase and esc undo it', () => {
    let state = run(start(), move(3), { type: 'startFilter' }, { type: 'typeFilter', text: 'qwen' });
    expect(state.editingFilter).toBe(true);
    expect(selectPoolKey(state)).toBe('user-vllm-qwen3-thinking');
    state = run(state, { type: 'eraseFilter' });
    expect(state.filters.pools).toBe('qwe');
    state = run(state, { type: 'commitFilter' });
    expect(state).toMatchObject({ editingFilter: false, filters: { pools: 'qwe' } });
    state = run(state, { type: 'back' });
    expect(state.filters.pools).toBe('');
    expect(run(state, { type: 'startFilter' }, { type: 'typeFilter', text: 'x' }, { type: 'cancelFilter' })).toMatchObject({ editingFilter: false, filters: { pools: '' } });
  });

  test('the members tab has a filter of its own', () => {
    const state = run(start(), { type: 'enter' }, { type: 'startFilter' }, { type: 'typeFilter', text: 'gpu5' }, { type: 'commitFilter' });
    expect(state.filters).toEqual({ pools: '', members: 'gpu5' });
    expect(selectMember(state)).toBe('llamacpp-gpu5-llama3');
  });

  test('the plan and the detail have no filter: a notice says where it works', () => {
    const state = run(start(), { type: 'showTab', tab: 'plan' }, { type: 'startFilter' });
    expect(state.editingFilter).toBe(false);
    expect(state.notice).toMatch(/filter works on the Pools and Members/);
  });
});

describe('plan and apply', () => {
  const result: PlanResult = planOf(REALISTIC_FILES, editedFiles(), fleet.views);
  const empty: PlanResult = planOf(REALISTIC_FILES, REALISTIC_FILES, fleet.views);

  test('planStarted opens the plan tab loading; only the newest request lands', () => {
    let state = run(start(), { type: 'planStarted', requestId: 1 }, { type: 'planStarted', requestId: 2 });
    expect(state.plan).toEqual({ state: 'loading', requestId: 2 });
    state = run(state, { type: 'planLoaded', requestId: 1, result: empty });
    expect(state.plan.state).toBe('loading');
    state = run(state, { type: 'planLoaded', requestId: 2, result });
    expect(state.plan).toMatchObject({ state: 'ready', requestId: 2 });
    expect(stripAnsi(selectPlanLines(state).at(-1) ?? '')).toBe('Plan: 1 to add, 1 to change, 1 to remove.');
  });

  test('a failed plan shows its reasons', () => {
    const state = run(start(), { type: 'planStarted', requestId: 1 }, { type: 'planFailed', requestId: 1, message: 'llms/a.yaml:3:5: bad\nllms/b.yaml:1:1: worse' });
    expect(selectPlanLines(state)).toEqual(['Cannot plan:', '  llms/a.yaml:3:5: bad', '  llms/b.yaml:1:1: worse']);
  });

  test('a failed plan wraps a long reason to the width instead of cutting it, and drops a hint to apply', () => {
    const message = '/home/me/work is not inside a Git repository (give --repo DIR or set MCPCTL_REPO, or run mcpctl from the repository)';
    const state = run(
      start(),
      { type: 'resize', columns: 60, rows: 24 },
      { type: 'notice', message: 'review the plan, then press a to apply it' },
      { type: 'planStarted', requestId: 1 },
      { type: 'planFailed', requestId: 1, message },
    );
    const lines = selectPlanLines(state);
    expect(lines.every((l) => l.length <= 60)).toBe(true);
    expect(lines.slice(1).map((l) => l.trim()).join(' ')).toBe(message);
    expect(state.notice).toBeNull();
  });

  test.each<[string, TuiAction[], RegExp]>([
    ['without a plan', [], /no plan yet/],
    ['with an empty plan', [{ type: 'planStarted', requestId: 1 }, { type: 'planLoaded', requestId: 1, result: empty }], /nothing to apply/],
  ])('apply is refused %s', (_name, actions, reason) => {
    const state = run(start(), ...actions, { type: 'askApply' });
    expect(state.apply.state).toBe('idle');
    expect(state.notice).toMatch(reason);
  });

  test('apply is refused when the plan takes a pool below its minActive', () => {
    const degraded = buildTuiFleet({ files: degradedFiles() });
    const drained = { ...degradedFiles() };
    drained['llms/qwen3-thinking-pool.yaml'] = (drained['llms/qwen3-thinking-pool.yaml'] ?? '').replace(
      'name: vllm-gpu1-qwen3\n  labels: { team: research }\nspec:\n',
      'name: vllm-gpu1-qwen3\n  labels: { team: research }\nspec:\n  enabled: false\n',
    );
    const violating = planOf(degradedFiles(), drained, degraded.views);
    expect(violating.plan.policy.violations).toHaveLength(1);
    const state = run(start(), { type: 'planStarted', requestId: 1 }, { type: 'planLoaded', requestId: 1, result: violating }, { type: 'askApply' });
    expect(refuseApply(state)).toMatch(/refusing to apply: the plan takes pool user-vllm-qwen3-thinking below its minActive/);
    expect(state.apply.state).toBe('idle');
  });

  test('confirm, cancel, then run: steps update in place and the outcome stays after a re-plan', () => {
    let state = run(start(), { type: 'planStarted', requestId: 1 }, { type: 'planLoaded', requestId: 1, result }, { type: 'askApply' });
    expect(state.apply.state).toBe('confirm');
    expect(run(state, { type: 'cancelApply' })).toMatchObject({ apply: { state: 'idle' }, notice: 'apply cancelled; nothing was written' });
    state = run(state, { type: 'applyStarted' });
    expect(state.apply.state === 'running' && state.apply.steps.map((s) => `${s.step}:${s.state}`)).toEqual([
      'write:pending',
      'commit:pending',
      'push:pending',
      'sync:pending',
      'converged:pending',
    ]);
    state = run(state, { type: 'applyProgress', progress: { step: 'write', state: 'done', detail: 'llms/gpu4.yaml (working tree)' } });
    state = run(state, { type: 'applyProgress', progress: { step: 'commit', state: 'running', detail: '' } });
    expect(selectPlanLines(state).slice(0, 4)).toEqual(['Applying…', '  ✓ write      llms/gpu4.yaml (working tree)', '  … commit     running', '  · push       pending']);
    state = run(state, { type: 'applyFinished', outcome: { ok: true, message: 'Applied: Plan: 1 to add, 1 to change, 1 to remove.' } });
    state = run(state, { type: 'planStarted', requestId: 2, afterApply: true });
    expect(state.apply.state).toBe('finished');
    expect(selectPlanLines(state)).toContain('Applied: Plan: 1 to add, 1 to change, 1 to remove.');
    // A plan the user asks for later starts clean.
    expect(run(state, { type: 'planStarted', requestId: 3 }).apply.state).toBe('idle');
  });
});

describe('viewport', () => {
  test('the body shrinks by the banner: header, banner, body and footer fit one row short of the terminal', () => {
    const errors = [{ file: 'llms/a.yaml', line: 3, col: 5, message: 'bad' }];
    const plain = start();
    expect(selectBodyHeight(plain)).toBe(24 - 3);
    const withBanner = run(plain, { type: 'watchEvent', event: { type: 'STATUS', status: buildStatus(fleet.views, errors) } });
    expect(selectBodyHeight(withBanner)).toBe(24 - 3 - 2);
    expect(selectBodyHeight(run(plain, { type: 'resize', columns: 120, rows: 40 }))).toBe(40 - 3);
  });
});
