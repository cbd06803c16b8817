// `get pool[s]` renderer (DESIGN §5, §7): POOL KEY SIZE ACTIVE MIN HEALTH MEMBERS, and with
// `-o wide` and a known gateway the requests in flight: IN-FLIGHT per pool, `name=N` per member.
import { POOL_HEALTHS, type PoolSummary } from '../../schema/views.js';
import { paint, paintHealth } from './color.js';
import { formatTable, type RenderedTable } from './table.js';

export interface PoolTableOptions {
  color: boolean;
  /** `get pools -w`: HEALTH as wide as its widest word, so that a pool turning Degraded does not shift its row. */
  watch?: boolean;
  /**
   * Requests in flight per member, summed over the gateways that answered (`-o wide` with
   * --gateway); absent: no gateway known, and the table is the plain one.
   */
  inFlight?: ReadonlyMap<string, number>;
}

export const POOL_COLUMNS = ['POOL', 'KEY', 'SIZE', 'ACTIVE', 'MIN', 'HEALTH', 'MEMBERS'] as const;
export const POOL_IN_FLIGHT_COLUMNS = ['POOL', 'KEY', 'SIZE', 'ACTIVE', 'MIN', 'HEALTH', 'IN-FLIGHT', 'MEMBERS'] as const;

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
  const { inFlight } = options;
  const cells = [
    paint(pool.key, 'cyan', options.color),
    pool.explicit ? 'explicit' : 'implicit',
    String(pool.size),
    String(pool.activeCount),
    String(pool.minActive),
    paintHealth(pool.health, options.color),
  ];
  if (inFlight === undefined) return [...cells, formatMembers(pool.members)];
  const total = pool.members.reduce((sum, name) => sum + (inFlight.get(name) ?? 0), 0);
  return [...cells, String(total), formatMembers(pool.members.map((name) => `${name}=${inFlight.get(name) ?? 0}`))];
}

export function formatPoolTable(pools: readonly PoolSummary[], options: PoolTableOptions): RenderedTable {
  const columns = options.inFlight === undefined ? POOL_COLUMNS : POOL_IN_FLIGHT_COLUMNS;
  const minWidths = options.watch === true ? columns.map((c) => (c === 'HEALTH' ? Math.max(...POOL_HEALTHS.map((h) => h.length)) : 0)) : [];
  return formatTable(columns, pools.map((pool) => formatPoolCells(pool, options)), undefined, minWidths);
}
