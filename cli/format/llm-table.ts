// `get llm[s]` renderers (DESIGN §5): the table (POOL right after NAME, `-` for a solo Llm),
// its wide variant and `-o name`.
import { formatAge } from '../../schema/age.js';
import { summarizePools } from '../../schema/pools.js';
import type { LlmView, PoolSummary } from '../../schema/views.js';
import { paint, paintPhase } from './color.js';
import { formatCount, formatKvCache, loadOfView } from './load.js';
import { formatTable, NO_RESOURCES, type RenderedTable, type TableOutput } from './table.js';

export interface LlmTableOptions {
  wide: boolean;
  color: boolean;
  nowMs: number;
}

/** What a row needs to know about the pool of its Llm. */
export interface PoolFacts {
  size: number;
  activeCount: number;
}

export type PoolIndex = ReadonlyMap<string, PoolFacts>;

export const SOLO_MARK = '-';
const NONE = '-';

export function listLlmColumns(wide: boolean): string[] {
  const base = ['NAME', 'POOL', 'KIND', 'STATUS', 'TYPE', 'MODEL', 'AGE'];
  return wide ? [...base, 'POOL-ACTIVE', 'URL', 'AGENT', 'RUNNING', 'WAITING', 'KV'] : base;
}

/**
 * Pool sizes by key. `pools` is what the reconciler served (`/api/v1/pools`); without it the
 * pools are derived from `views`, which is only right when `views` is the whole fleet. A key the
 * served list lacks (it raced a change) falls back to counting `views`.
 */
export function indexPools(views: readonly LlmView[], pools: readonly PoolSummary[] | null): PoolIndex {
  const index = new Map<string, PoolFacts>();
  for (const pool of pools ?? summarizePools(views)) index.set(pool.key, { size: pool.size, activeCount: pool.activeCount });
  for (const view of views) {
    const key = view.status.pool.key;
    if (index.has(key)) continue;
    const members = views.filter((v) => v.status.pool.key === key);
    index.set(key, { size: members.length, activeCount: members.filter((v) => v.status.phase === 'active').length });
  }
  return index;
}

/** Solo (DESIGN §2): an implicit key and a pool of one. */
export function isSoloView(view: LlmView, index: PoolIndex): boolean {
  return !view.status.pool.explicit && (index.get(view.status.pool.key)?.size ?? 1) <= 1;
}

/**
 * Time since the agent's last heartbeat. Declared-only and static Llms have no clock in the view
 * (no agent, and a view carries no creation time), so their AGE is `-` rather than an invented one.
 */
export function formatHeartbeatAge(view: LlmView, nowMs: number): string {
  const at = view.status.agent === null ? Number.NaN : Date.parse(view.status.agent.lastHeartbeatAt);
  return Number.isNaN(at) ? NONE : formatAge(nowMs - at);
}

/** The cells of one row, coloured when asked; the same cells feed the table and watch lines. */
export function formatLlmCells(view: LlmView, index: PoolIndex, options: LlmTableOptions): string[] {
  const solo = isSoloView(view, index);
  const pool = index.get(view.status.pool.key);
  const cells = [
    view.metadata.name,
    solo ? SOLO_MARK : paint(view.status.pool.key, 'cyan', options.color),
    view.status.kind,
    paintPhase(view.status.phase, options.color),
    view.spec.type,
    view.spec.model,
    formatHeartbeatAge(view, options.nowMs),
  ];
  if (options.wide) {
    const load = loadOfView(view);
    cells.push(
      solo || pool === undefined ? NONE : `${pool.activeCount}/${pool.size}`,
      view.spec.url ?? view.status.agent?.url ?? NONE,
      view.status.agent?.id ?? NONE,
      // The engine's load at the agent's last beat: `-` where it reports none.
      formatCount(load?.running),
      formatCount(load?.waiting),
      formatKvCache(load?.kvCacheUsage),
    );
  }
  return cells;
}

/** Rows keep the order given (the reconciler serves them sorted by name). */
export function formatLlmTable(views: readonly LlmView[], pools: readonly PoolSummary[] | null, options: LlmTableOptions): RenderedTable {
  const index = indexPools(views, pools);
  return formatTable(
    listLlmColumns(options.wide),
    views.map((view) => formatLlmCells(view, index, options)),
  );
}

/** `-o name`: one `llm/<name>` per line, like kubectl. */
export function formatLlmNames(views: readonly LlmView[]): TableOutput {
  if (views.length === 0) return { stdout: '', stderr: `${NO_RESOURCES}\n` };
  return { stdout: views.map((v) => `llm/${v.metadata.name}\n`).join(''), stderr: '' };
}
