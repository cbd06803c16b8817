// `get pool[s]` renderer (DESIGN §5, §7): POOL KEY SIZE ACTIVE MIN HEALTH MEMBERS.
import { POOL_HEALTHS, type PoolSummary } from '../../schema/views.js';
import { paint, paintHealth } from './color.js';
import { formatTable, type RenderedTable } from './table.js';

export interface PoolTableOptions {
  color: boolean;
  /** `get pools -w`: HEALTH as wide as its widest word, so that a pool turning Degraded does not shift its row. */
  watch?: boolean;
}

export const POOL_COLUMNS = ['POOL', 'KEY', 'SIZE', 'ACTIVE', 'MIN', 'HEALTH', 'MEMBERS'] as const;

/** Past this many characters the MEMBERS cell lists what fits and counts the rest. */
export const MEMBERS_MAX_CHARS = 60;

/**
 * Comma-separated member names, cut at a name boundary to stay within `maxChars` including the
 * `,… (+N)` tail. The first name always shows, even when it alone is longer.
 */
export function formatMembers(members: readonly string[], maxChars: number = MEMBERS_MAX_CHARS): string {
  if (members.length === 0) return '<none>';
  const all = members.join(',');
  if (all.length <= maxChars) return all;
  let shown = 1;
  let length = (members[0] ?? '').length;
  for (let i = 1; i < members.length; i++) {
    const next = length + 1 + (members[i] ?? '').length;
    if (next + `,… (+${members.length - i - 1})`.length > maxChars) break;
    length = next;
    shown = i + 1;
  }
  return `${members.slice(0, shown).join(',')},… (+${members.length - shown})`;
}

export function formatPoolCells(pool: PoolSummary, options: PoolTableOptions): string[] {
  return [
    paint(pool.key, 'cyan', options.color),
    pool.explicit ? 'explicit' : 'implicit',
    String(pool.size),
    String(pool.activeCount),
    String(pool.minActive),
    paintHealth(pool.health, options.color),
    formatMembers(pool.members),
  ];
}

export function formatPoolTable(pools: readonly PoolSummary[], options: PoolTableOptions): RenderedTable {
  const minWidths = options.watch === true ? POOL_COLUMNS.map((c) => (c === 'HEALTH' ? Math.max(...POOL_HEALTHS.map((h) => h.length)) : 0)) : [];
  return formatTable(POOL_COLUMNS, pools.map((pool) => formatPoolCells(pool, options)), undefined, minWidths);
}
