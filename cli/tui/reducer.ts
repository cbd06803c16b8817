// The one reducer over a tagged union of actions. Data actions come from the informer (list,
// watch events, reconnects); key actions from the screen; plan and apply actions from the
// container's async work. Pure: the clock arrives as `tick` actions.
import type { Snapshot } from '../../client/informer.js';
import { applyCacheEvent, applyHeartbeats, policiesOfPools, relistCache } from '../../client/llm-cache.js';
import type { WatchEvent } from '../../client/watch-stream.js';
import type { PoolSummary } from '../../schema/views.js';
import { APPLY_STEPS, type ApplyOutcome, type PlanResult, type StepProgress } from './data-source.js';
import { resolveCursor, selectBodyHeight, selectDetailLines, selectMemberNames, selectPlanLines, selectPoolsModel } from './selectors.js';
import { TABS, type ApplyState, type Cursor, type Tab, type TuiState } from './state.js';
import { maxScrollOffset } from './viewport.js';

export type TuiAction =
  | { type: 'connecting' }
  | { type: 'listed'; snapshot: Snapshot }
  | { type: 'watchEvent'; event: WatchEvent }
  | { type: 'policies'; pools: PoolSummary[] }
  | { type: 'unreachable'; message: string; retryAtMs: number }
  /** A poll of the gateways: null when none answered. */
  | { type: 'inFlight'; counts: ReadonlyMap<string, number> | null }
  | { type: 'tick'; nowMs: number }
  | { type: 'resize'; columns: number; rows: number }
  | { type: 'move'; delta: number }
  | { type: 'moveTo'; where: 'first' | 'last' }
  | { type: 'page'; direction: 1 | -1 }
  | { type: 'enter' }
  | { type: 'back' }
  | { type: 'switchTab'; direction: 1 | -1 }
  | { type: 'showTab'; tab: Tab }
  | { type: 'startFilter' }
  | { type: 'typeFilter'; text: string }
  | { type: 'eraseFilter' }
  | { type: 'commitFilter' }
  | { type: 'cancelFilter' }
  | { type: 'toggleHelp' }
  | { type: 'notice'; message: string | null }
  /** `afterApply`: the re-plan that follows an apply, which keeps the apply's result on screen. */
  | { type: 'planStarted'; requestId: number; afterApply?: boolean }
  | { type: 'planLoaded'; requestId: number; result: PlanResult }
  | { type: 'planFailed'; requestId: number; message: string }
  | { type: 'askApply' }
  | { type: 'cancelApply' }
  | { type: 'applyStarted' }
  | { type: 'applyProgress'; progress: StepProgress }
  | { type: 'applyFinished'; outcome: ApplyOutcome };

export function reduceTui(state: TuiState, action: TuiAction): TuiState {
  switch (action.type) {
    case 'connecting':
      // Keep showing "unreachable" while retrying; a live stream that ended says "connecting" until the re-list.
      return state.connection.state !== 'live' ? state : { ...state, connection: { state: 'connecting' } };
    case 'listed':
      return {
        ...state,
        llms: relistCache(state.llms, action.snapshot.llms),
        policies: policiesOfPools(action.snapshot.pools),
        status: action.snapshot.status,
        connection: { state: 'live' },
        listed: true,
      };
    case 'watchEvent': {
      const { event } = action;
      if (event.type === 'STATUS') return { ...state, status: event.status };
      const llms = event.type === 'HEARTBEAT' ? applyHeartbeats(state.llms, event.agents, event.loads) : applyCacheEvent(state.llms, event);
      return llms === state.llms ? state : { ...state, llms };
    }
    case 'policies':
      return { ...state, policies: policiesOfPools(action.pools) };
    case 'unreachable':
      return { ...state, connection: { state: 'unreachable', message: action.message, retryAtMs: action.retryAtMs } };
    case 'inFlight':
      return sameCounts(state.inFlight, action.counts) ? state : { ...state, inFlight: action.counts };
    case 'tick':
      return action.nowMs === state.nowMs ? state : { ...state, nowMs: action.nowMs };
    case 'resize':
      return { ...state, viewport: { columns: action.columns, rows: action.rows } };
    case 'move':
      return moveBy(state, action.delta);
    case 'moveTo':
      return moveBy(state, action.where === 'first' ? -FAR : FAR);
    case 'page':
      return moveBy(state, action.direction * Math.max(1, selectBodyHeight(state) - 2));
    case 'enter':
      return enter(state);
    case 'back':
      return back(state);
    case 'switchTab': {
      const i = TABS.indexOf(state.tab);
      const tab = TABS[(i + action.direction + TABS.length) % TABS.length] ?? 'pools';
      return showTab(state, tab);
    }
    case 'showTab':
      return showTab(state, action.tab);
    case 'startFilter':
      if (state.tab === 'plan' || state.detail !== null) return { ...state, notice: 'the filter works on the Pools and Members lists' };
      return { ...state, editingFilter: true, notice: null };
    case 'typeFilter':
      return withFilter(state, `${currentFilter(state)}${action.text}`);
    case 'eraseFilter':
      return withFilter(state, [...currentFilter(state)].slice(0, -1).join(''));
    case 'commitFilter':
      return { ...state, editingFilter: false };
    case 'cancelFilter':
      return { ...withFilter(state, ''), editingFilter: false };
    case 'toggleHelp':
      return { ...state, help: !state.help, notice: null };
    case 'notice':
      return action.message === state.notice ? state : { ...state, notice: action.message };
    case 'planStarted': {
      const { requestId } = action;
      const apply: ApplyState = action.afterApply === true || state.apply.state === 'running' ? state.apply : { state: 'idle' };
      return { ...state, tab: 'plan', detail: null, help: false, scroll: 0, planRequests: requestId, plan: { state: 'loading', requestId }, apply };
    }
    case 'planLoaded':
      if (action.requestId !== state.planRequests) return state;
      return { ...state, plan: { state: 'ready', requestId: action.requestId, result: action.result }, scroll: 0 };
    case 'planFailed':
      if (action.requestId !== state.planRequests) return state;
      // A hint to review the plan and apply it no longer holds once there is no plan.
      return { ...state, plan: { state: 'failed', requestId: action.requestId, message: action.message }, scroll: 0, notice: null };
    case 'askApply':
      return askApply(state);
    case 'cancelApply':
      return state.apply.state === 'confirm' ? { ...state, apply: { state: 'idle' }, notice: 'apply cancelled; nothing was written' } : state;
    case 'applyStarted':
      return {
        ...state,
        tab: 'plan',
        detail: null,
        scroll: 0,
        notice: null,
        apply: { state: 'running', steps: APPLY_STEPS.map((step) => ({ step, state: 'pending', detail: '' })) },
      };
    case 'applyProgress': {
      if (state.apply.state !== 'running') return state;
      const { progress } = action;
      return { ...state, apply: { state: 'running', steps: state.apply.steps.map((s) => (s.step === progress.step ? progress : s)) } };
    }
    case 'applyFinished': {
      const steps = state.apply.state === 'running' ? state.apply.steps : [];
      return { ...state, apply: { state: 'finished', steps, outcome: action.outcome } };
    }
  }
}

/** Why apply cannot go ahead now, or null when it can ask for confirmation. */
export function refuseApply(state: TuiState): string | null {
  if (state.apply.state === 'running') return 'an apply is already running';
  if (state.plan.state !== 'ready') return 'no plan yet: press p to plan, review it, then press a';
  const { plan } = state.plan.result;
  if (plan.empty) return 'nothing to apply: the reconciler already serves what the working tree declares';
  if (plan.policy.violations.length > 0) {
    const pools = plan.policy.violations.map((v) => v.pool).join(', ');
    return `refusing to apply: the plan takes pool ${pools} below its minActive (mcpctl apply --force overrides)`;
  }
  return null;
}

function askApply(state: TuiState): TuiState {
  const refusal = refuseApply(state);
  if (refusal !== null) return { ...state, notice: refusal };
  return { ...state, tab: 'plan', detail: null, help: false, apply: { state: 'confirm' }, notice: null };
}

function showTab(state: TuiState, tab: Tab): TuiState {
  return { ...state, tab, detail: null, editingFilter: false, help: false, scroll: 0, notice: null };
}

function currentFilter(state: TuiState): string {
  return state.tab === 'members' ? state.filters.members : state.filters.pools;
}

function withFilter(state: TuiState, text: string): TuiState {
  if (state.tab === 'members') return { ...state, filters: { ...state.filters, members: text }, memberCursor: { key: null, index: 0 } };
  return { ...state, filters: { ...state.filters, pools: text }, poolCursor: { key: null, index: 0 } };
}

function moveCursor(order: readonly string[], cursor: Cursor, delta: number): Cursor {
  if (order.length === 0) return { key: null, index: 0 };
  const current = resolveCursor(order, cursor);
  const at = current === null ? 0 : order.indexOf(current);
  const index = Math.max(0, Math.min(order.length - 1, at + delta));
  return { key: order[index] ?? null, index };
}

/** Further than any list or text is long: `moveTo` is a move by this much. */
const FAR = 1_000_000_000;

/** Moves the cursor of a list, or scrolls the detail or plan text, by `delta` lines. */
function moveBy(state: TuiState, delta: number): TuiState {
  if (state.help) return state;
  if (state.detail !== null || state.tab === 'plan') {
    const lines = state.detail !== null ? selectDetailLines(state) : selectPlanLines(state);
    const max = maxScrollOffset(lines.length, selectBodyHeight(state));
    const scroll = Math.max(0, Math.min(max, state.scroll + delta));
    return scroll === state.scroll ? state : { ...state, scroll };
  }
  if (state.tab === 'pools') return { ...state, poolCursor: moveCursor(selectPoolsModel(state).order, state.poolCursor, delta) };
  return { ...state, memberCursor: moveCursor(selectMemberNames(state), state.memberCursor, delta) };
}

function enter(state: TuiState): TuiState {
  if (state.help || state.detail !== null || state.tab === 'plan') return state;
  if (state.tab === 'pools') {
    const model = selectPoolsModel(state);
    const key = resolveCursor(model.order, state.poolCursor);
    if (key === null) return state;
    const solo = model.solos.find((s) => s.key === key);
    // A solo Llm has no pool worth a list: enter goes straight to its detail.
    if (solo !== undefined) return { ...state, poolCursor: { key, index: model.order.indexOf(key) }, detail: solo.view.metadata.name, scroll: 0 };
    return {
      ...state,
      poolCursor: { key, index: model.order.indexOf(key) },
      tab: 'members',
      memberCursor: { key: null, index: 0 },
      filters: { ...state.filters, members: '' },
      scroll: 0,
    };
  }
  const names = selectMemberNames(state);
  const name = resolveCursor(names, state.memberCursor);
  if (name === null) return state;
  return { ...state, memberCursor: { key: name, index: names.indexOf(name) }, detail: name, scroll: 0 };
}

function back(state: TuiState): TuiState {
  if (state.help) return { ...state, help: false };
  if (state.detail !== null) return { ...state, detail: null, scroll: 0 };
  if (state.tab === 'members') return state.filters.members !== '' ? withFilter(state, '') : showTab(state, 'pools');
  if (state.tab === 'plan') return showTab(state, 'pools');
  return state.filters.pools !== '' ? withFilter(state, '') : state;
}

/** Whether two polls say the same, so that an unchanged poll renders nothing. */
function sameCounts(a: ReadonlyMap<string, number> | null, b: ReadonlyMap<string, number> | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const [name, count] of a) if (b.get(name) !== count) return false;
  return true;
}
