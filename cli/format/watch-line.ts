// Lines for `get llm[s] -w` and `get pools -w` (DESIGN §7): after the table, one row per change.
import type { LlmView, PoolSummary } from '../../schema/views.js';
import { paint, type Tone } from './color.js';
import { formatLlmCells, indexPools, listLlmColumns, type LlmTableOptions } from './llm-table.js';
import { formatPoolCells } from './pool-table.js';
import { formatRow, formatTable, measureColumns, type RenderedTable } from './table.js';

export type WatchEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

// Wide enough for the longest event, so that every watch line starts its row at the same column.
const EVENT_WIDTH = 'MODIFIED'.length;
const EVENT_TONE: Record<WatchEvent, Tone> = { ADDED: 'green', MODIFIED: 'cyan', DELETED: 'red' };

export interface LlmWatchOptions {
  color: boolean;
  nowMs: number;
  wide?: boolean;
  /**
   * The pools after the change (`summarizePools` over the watched views, or `/api/v1/pools`), so
   * POOL shows `-` only for a solo Llm; without it the row's pool is taken to be itself alone.
   */
  pools?: readonly PoolSummary[] | null;
  /** The column widths of the table printed first (`formatLlmWatchTable(...).widths`) so rows line up. */
  widths?: readonly number[];
}

export interface PoolWatchOptions {
  color: boolean;
  /** The column widths of the table printed first (`formatPoolTable(...).widths`). */
  widths?: readonly number[];
}

/**
 * The table `get llm -w` prints first: an EVENT column, ADDED on every row, then the usual columns
 * (kubectl's `--output-watch-events`), so that the watch lines after it sit under its header.
 */
export function formatLlmWatchTable(views: readonly LlmView[], pools: readonly PoolSummary[] | null, options: LlmTableOptions): RenderedTable {
  const index = indexPools(views, pools);
  return formatTable(
    ['EVENT', ...listLlmColumns(options.wide)],
    views.map((view) => [paintEvent('ADDED', options.color), ...formatLlmCells(view, index, options)]),
    undefined,
    // Wide enough for every event, so a MODIFIED row lines up under a table of ADDED rows.
    [EVENT_WIDTH],
  );
}

/**
 * One row prefixed by its event: `MODIFIED   vllm-gpu2-qwen3   user-vllm-qwen3-thinking   …`.
 * `widths` are those of formatLlmWatchTable, EVENT column first.
 */
export function formatWatchLine(event: WatchEvent, view: LlmView, options: LlmWatchOptions): string {
  const index = indexPools([view], options.pools ?? []);
  const cells = [paintEvent(event, options.color), ...formatLlmCells(view, index, { wide: options.wide ?? false, color: options.color, nowMs: options.nowMs })];
  const widths = options.widths ?? [EVENT_WIDTH, ...measureColumns(cells.slice(1), [])];
  return `${formatRow(cells, widths)}\n`;
}

function paintEvent(event: WatchEvent, color: boolean): string {
  return paint(event, EVENT_TONE[event], color);
}

/** One pool row with the table's columns (pools have no watch events of their own; the caller re-renders a changed pool). */
export function formatPoolWatchLine(pool: PoolSummary, options: PoolWatchOptions): string {
  const cells = formatPoolCells(pool, options);
  return `${formatRow(cells, options.widths ?? measureColumns(cells, []))}\n`;
}
