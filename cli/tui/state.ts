// The TUI's whole state: its shape and its first value. The reducer (reducer.ts) changes it and
// the selectors (selectors.ts) derive what the screen shows from it.
import type { PoolPolicy } from '../../schema/pools.js';
import type { StatusAnswer } from '../../schema/views.js';
import type { Connection } from './banner.js';
import type { ApplyOutcome, PlanResult, StepProgress } from './data-source.js';
import type { LlmCache } from '../../client/llm-cache.js';

export type Tab = 'pools' | 'members' | 'plan';
export const TABS: readonly Tab[] = ['pools', 'members', 'plan'];

/** A list cursor: the selected row's key, and its index to fall back on when that row goes away. */
export interface Cursor {
  key: string | null;
  index: number;
}

export type PlanState =
  | { state: 'idle' }
  | { state: 'loading'; requestId: number }
  | { state: 'ready'; requestId: number; result: PlanResult }
  | { state: 'failed'; requestId: number; message: string };

export type ApplyState =
  | { state: 'idle' }
  | { state: 'confirm' }
  | { state: 'running'; steps: StepProgress[] }
  | { state: 'finished'; steps: StepProgress[]; outcome: ApplyOutcome };

export interface TuiState {
  color: boolean;
  server: string;
  /** The informer cache: Llm views by name. */
  llms: LlmCache;
  policies: ReadonlyMap<string, PoolPolicy>;
  status: StatusAnswer | null;
  connection: Connection;
  /** A list has succeeded at least once. */
  listed: boolean;
  nowMs: number;
  viewport: { columns: number; rows: number };
  tab: Tab;
  /** The Llm whose detail is open over the current tab. */
  detail: string | null;
  poolCursor: Cursor;
  memberCursor: Cursor;
  filters: { pools: string; members: string };
  editingFilter: boolean;
  help: boolean;
  /** First line shown of the detail or the plan text. */
  scroll: number;
  plan: PlanState;
  /** The newest plan request: a slow answer to an older one is dropped. */
  planRequests: number;
  apply: ApplyState;
  /** A one-line message in the footer until the next key. */
  notice: string | null;
  /**
   * Requests in flight per member, summed over the gateways that answered the last poll; null
   * while no gateway is known or none answered (the views then show no in-flight column).
   */
  inFlight: ReadonlyMap<string, number> | null;
}

export interface InitialStateOptions {
  color: boolean;
  server: string;
  nowMs: number;
  columns: number;
  rows: number;
}

export function createInitialState(options: InitialStateOptions): TuiState {
  return {
    color: options.color,
    server: options.server,
    llms: new Map(),
    policies: new Map(),
    status: null,
    connection: { state: 'connecting' },
    listed: false,
    nowMs: options.nowMs,
    viewport: { columns: options.columns, rows: options.rows },
    tab: 'pools',
    detail: null,
    poolCursor: { key: null, index: 0 },
    memberCursor: { key: null, index: 0 },
    filters: { pools: '', members: '' },
    editingFilter: false,
    help: false,
    scroll: 0,
    plan: { state: 'idle' },
    planRequests: 0,
    apply: { state: 'idle' },
    notice: null,
    inFlight: null,
  };
}
