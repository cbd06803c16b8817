// What the screen shows, derived from the state alone: the rows of each list, the selected pool
// and member, the detail and plan texts, the banner and the room left for the body.
import { cachedViews } from '../../client/llm-cache.js';
import { membersOf } from '../../schema/pools.js';
import type { LlmView } from '../../schema/views.js';
import { paint } from '../format/color.js';
import { formatDescribe } from '../format/describe.js';
import { formatBanner } from './banner.js';
import { deriveMembersModel, type MembersModel } from './member-rows.js';
import { formatApplyLines, formatPlanLines } from './plan-lines.js';
import { derivePoolsModel, type PoolsModel } from './pool-rows.js';
import type { Cursor, TuiState } from './state.js';

// Memoised on the inputs' identities: the reducer and every render ask for the same models, and
// a state change that leaves the cache alone (a key, a tick) must not recompute them.
let poolsMemo: { llms: unknown; policies: unknown; filter: string; model: PoolsModel } | null = null;

export function selectViews(state: TuiState): LlmView[] {
  return cachedViews(state.llms);
}

export function selectPoolsModel(state: TuiState): PoolsModel {
  const memo = poolsMemo;
  if (memo !== null && memo.llms === state.llms && memo.policies === state.policies && memo.filter === state.filters.pools) return memo.model;
  const model = derivePoolsModel(selectViews(state), state.policies, state.filters.pools);
  poolsMemo = { llms: state.llms, policies: state.policies, filter: state.filters.pools, model };
  return model;
}

/** The key at `cursor` within `order`: its own row while it exists, else the row now at its index. */
export function resolveCursor(order: readonly string[], cursor: Cursor): string | null {
  if (cursor.key !== null && order.includes(cursor.key)) return cursor.key;
  if (order.length === 0) return null;
  return order[Math.max(0, Math.min(cursor.index, order.length - 1))] ?? null;
}

/** The pool (or solo Llm) under the Pools cursor: the one the Members tab shows. */
export function selectPoolKey(state: TuiState): string | null {
  return resolveCursor(selectPoolsModel(state).order, state.poolCursor);
}

export function selectMembersModel(state: TuiState): MembersModel | null {
  const key = selectPoolKey(state);
  if (key === null) return null;
  return deriveMembersModel(selectViews(state), key, state.policies, state.filters.members);
}

export function selectMemberNames(state: TuiState): string[] {
  return selectMembersModel(state)?.members.map((m) => m.metadata.name) ?? [];
}

export function selectMember(state: TuiState): string | null {
  return resolveCursor(selectMemberNames(state), state.memberCursor);
}

/** `describe llm NAME` for the open detail, from the cache: the same facts, live. */
export function selectDetailLines(state: TuiState): string[] {
  if (state.detail === null) return [];
  const view = state.llms.get(state.detail);
  if (view === undefined) return [paint(`Llm ${state.detail} is gone: the reconciler no longer serves it.`, 'yellow', state.color)];
  const members = membersOf(selectViews(state), state.detail, state.policies);
  return formatDescribe(view, members, { color: state.color, nowMs: state.nowMs }).replace(/\n+$/, '').split('\n');
}

export function selectPlanLines(state: TuiState): string[] {
  const { color } = state;
  const apply: string[] = [];
  if (state.apply.state === 'running') apply.push(...formatApplyLines(state.apply.steps, null, color), '');
  if (state.apply.state === 'finished') apply.push(...formatApplyLines(state.apply.steps, state.apply.outcome, color), '');
  switch (state.plan.state) {
    case 'idle':
      return [...apply, 'Press p to plan the working tree against the reconciler.'];
    case 'loading':
      return [...apply, 'Planning: reading the working tree and asking the reconciler…'];
    case 'failed': {
      // Wrapped, not cut: the message is the one thing that says what to fix.
      const width = Math.max(20, state.viewport.columns - 2);
      return [...apply, paint('Cannot plan:', 'red', color), ...state.plan.message.split('\n').flatMap((l) => wrapText(l, width)).map((l) => `  ${l}`)];
    }
    case 'ready':
      return [...apply, ...formatPlanLines(state.plan.result, color)];
  }
}

export function selectBannerLines(state: TuiState): string[] {
  return formatBanner({ connection: state.connection, status: state.status, listed: state.listed, nowMs: state.nowMs, color: state.color });
}

/**
 * Rows left for the body: the terminal's rows less the header, banner and footer, and less one
 * more, because Ink clears the whole screen on every frame as tall as the terminal.
 */
export function selectBodyHeight(state: TuiState): number {
  return Math.max(3, state.viewport.rows - 1 - 1 - selectBannerLines(state).length - 1);
}

/** `text` in lines of at most `width` characters, broken at spaces where it can be. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const space = rest.lastIndexOf(' ', width);
    const cut = space > 0 ? space : width;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^ /, '');
  }
  lines.push(rest);
  return lines;
}
