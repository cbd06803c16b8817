// The Pools view's model: every pool with its key, explicit/implicit, `active/size`, a bar and its
// health, sorted by key; solo Llms in a section of their own. Rows are plain data; `formatPoolsView`
// lays them out for a width, and colour only ever repeats what the words already say.
import { summarizePools, type PoolPolicy } from '../../schema/pools.js';
import { POOL_HEALTHS, type LlmView, type PoolHealth, type PoolSummary } from '../../schema/views.js';
import { paint, paintHealth, paintPhase } from '../format/color.js';
import { fitPlain, truncatePlain, windowLines } from './viewport.js';

export interface PoolRow {
  type: 'pool';
  key: string;
  explicit: boolean;
  size: number;
  activeCount: number;
  minActive: number;
  health: PoolHealth;
  members: string[];
}

export interface SoloRow {
  type: 'solo';
  /** A solo Llm's pool key is its own name. */
  key: string;
  view: LlmView;
}

export interface PoolsModel {
  pools: PoolRow[];
  solos: SoloRow[];
  /** Row keys in cursor order: pools first, then solo Llms. */
  order: string[];
}

/** Solo (DESIGN §2): an implicit key and one member. */
export function isSoloPool(pool: Pick<PoolSummary, 'explicit' | 'size'>): boolean {
  return !pool.explicit && pool.size === 1;
}

/** Pools and solo Llms of the cached views; `filter` keeps those whose key or a member name contains it. */
export function derivePoolsModel(views: readonly LlmView[], policies: ReadonlyMap<string, PoolPolicy>, filter: string): PoolsModel {
  const byName = new Map(views.map((v) => [v.metadata.name, v]));
  const needle = filter.trim().toLowerCase();
  const matches = (summary: PoolSummary): boolean =>
    needle === '' || summary.key.toLowerCase().includes(needle) || summary.members.some((m) => m.toLowerCase().includes(needle));
  const pools: PoolRow[] = [];
  const solos: SoloRow[] = [];
  for (const summary of summarizePools(views, policies)) {
    if (!matches(summary)) continue;
    const soloView = isSoloPool(summary) ? byName.get(summary.members[0] ?? '') : undefined;
    if (soloView !== undefined) solos.push({ type: 'solo', key: summary.key, view: soloView });
    else {
      pools.push({
        type: 'pool',
        key: summary.key,
        explicit: summary.explicit,
        size: summary.size,
        activeCount: summary.activeCount,
        minActive: summary.minActive,
        health: summary.health,
        members: summary.members,
      });
    }
  }
  return { pools, solos, order: [...pools.map((p) => p.key), ...solos.map((s) => s.key)] };
}

export const BAR_WIDTH = 10;
export const BAR_FULL = '█';
export const BAR_EMPTY = '░';

/**
 * `active` of `size` as a bar of `width` cells. Any active member shows at least one full cell and
 * any missing one at least one empty cell, so 1/40 and 39/40 never look like 0 and all.
 */
export function formatBar(active: number, size: number, width: number = BAR_WIDTH): { full: number; empty: number } {
  if (size <= 0 || width <= 0) return { full: 0, empty: Math.max(0, width) };
  const a = Math.max(0, Math.min(active, size));
  let full = Math.round((a / size) * width);
  if (a > 0 && full === 0) full = 1;
  if (a < size && full === width) full = width - 1;
  return { full, empty: width - full };
}

export function paintBar(active: number, size: number, degraded: boolean, color: boolean, width: number = BAR_WIDTH): string {
  const { full, empty } = formatBar(active, size, width);
  return paint(BAR_FULL.repeat(full), degraded ? 'red' : 'green', color) + paint(BAR_EMPTY.repeat(empty), 'dim', color);
}

export interface ListLayout {
  width: number;
  height: number;
  color: boolean;
}

/** Requests in flight per member from the gateways; null or absent: no gateway known, no column. */
export interface InFlightLayout {
  inFlight?: ReadonlyMap<string, number> | null;
}

/** The IN-FLIGHT column's width: its header. */
export const IN_FLIGHT_WIDTH = 'IN-FLIGHT'.length;
/** HEALTH as wide as its widest word, when a column follows it. */
const HEALTH_CELL_WIDTH = Math.max(...POOL_HEALTHS.map((h) => h.length));

/** A pool's requests in flight: the sum over its members. */
export function poolInFlight(members: readonly string[], inFlight: ReadonlyMap<string, number>): number {
  return members.reduce((sum, name) => sum + (inFlight.get(name) ?? 0), 0);
}

export interface PoolsViewLines {
  /** The column header: stays on top while the rows scroll. */
  header: string;
  lines: string[];
}

const CURSOR = '› ';
const NO_CURSOR = '  ';
const GAP = '  ';
const KIND_WIDTH = 8; // explicit / implicit
const ACTIVE_WIDTH = 7;
const MIN_WIDTH = 3;
const HEALTH_WIDTH = 8;
const KIND_PHASE_WIDTH = 17; // virtual/unhealthy
const TYPE_WIDTH = 9; // anthropic
const FIXED_POOL_WIDTH = CURSOR.length + KIND_WIDTH + ACTIVE_WIDTH + BAR_WIDTH + MIN_WIDTH + HEALTH_WIDTH + 5 * GAP.length;

export function keyColumnWidth(model: PoolsModel, width: number, extraWidth = 0): number {
  let longest = 'POOL'.length;
  for (const p of model.pools) longest = Math.max(longest, [...p.key].length);
  for (const s of model.solos) longest = Math.max(longest, [...s.key].length);
  return Math.max(4, Math.min(longest, width - FIXED_POOL_WIDTH - extraWidth));
}

/** The rows for `width`, windowed to `height` around the cursor (`selected`, a row key). */
export function formatPoolsView(model: PoolsModel, selected: string | null, layout: ListLayout & InFlightLayout): PoolsViewLines {
  const { color } = layout;
  const inFlight = layout.inFlight ?? null;
  // With a gateway, IN-FLIGHT follows HEALTH (as wide as its widest word) and the key gives way.
  const kw = keyColumnWidth(model, layout.width, inFlight === null ? 0 : HEALTH_CELL_WIDTH - HEALTH_WIDTH + GAP.length + IN_FLIGHT_WIDTH);
  const header = [
    NO_CURSOR + fitPlain('POOL', kw),
    fitPlain('KEY', KIND_WIDTH),
    fitPlain('ACTIVE', ACTIVE_WIDTH),
    fitPlain('BAR', BAR_WIDTH),
    fitPlain('MIN', MIN_WIDTH),
    ...(inFlight === null ? ['HEALTH'] : [fitPlain('HEALTH', HEALTH_CELL_WIDTH), 'IN-FLIGHT']),
  ].join(GAP);
  const lines: string[] = [];
  let focus = 0;
  for (const pool of model.pools) {
    const isSelected = pool.key === selected;
    if (isSelected) focus = lines.length;
    const degraded = pool.health !== 'Healthy';
    const key = fitPlain(truncatePlain(pool.key, kw), kw);
    const active = fitPlain(`${pool.activeCount}/${pool.size}`, ACTIVE_WIDTH);
    lines.push(
      [
        (isSelected ? CURSOR : NO_CURSOR) + paint(key, isSelected ? 'bold' : degraded ? 'red' : 'cyan', color),
        fitPlain(pool.explicit ? 'explicit' : 'implicit', KIND_WIDTH),
        degraded ? paint(active, 'red', color) : active,
        paintBar(pool.activeCount, pool.size, degraded, color),
        fitPlain(String(pool.minActive), MIN_WIDTH),
        degraded ? paint(paintHealth(pool.health, color), 'bold', color) : paintHealth(pool.health, color),
      ].join(GAP) + (inFlight === null ? '' : `${' '.repeat(Math.max(0, HEALTH_CELL_WIDTH - pool.health.length))}${GAP}${poolInFlight(pool.members, inFlight)}`),
    );
  }
  if (model.pools.length === 0) lines.push(`${NO_CURSOR}(no pools)`);
  if (model.solos.length > 0) {
    lines.push('');
    const inFlightColumns = inFlight === null ? 0 : IN_FLIGHT_WIDTH + GAP.length;
    const modelWidth = Math.max(0, layout.width - (CURSOR.length + kw + KIND_PHASE_WIDTH + TYPE_WIDTH + 3 * GAP.length + inFlightColumns));
    lines.push(
      paint(
        [NO_CURSOR + fitPlain('SOLO LLM', kw), fitPlain('KIND/PHASE', KIND_PHASE_WIDTH), fitPlain('TYPE', TYPE_WIDTH), ...(inFlight === null ? [] : ['IN-FLIGHT']), 'MODEL'].join(GAP),
        'bold',
        color,
      ),
    );
    for (const solo of model.solos) {
      const isSelected = solo.key === selected;
      if (isSelected) focus = lines.length;
      const { status, spec } = solo.view;
      const kindPhase = `${status.kind}/${status.phase}`;
      lines.push(
        [
          (isSelected ? CURSOR : NO_CURSOR) + paint(fitPlain(truncatePlain(solo.key, kw), kw), isSelected ? 'bold' : 'cyan', color),
          `${status.kind}/${paintPhase(status.phase, color)}${' '.repeat(Math.max(0, KIND_PHASE_WIDTH - kindPhase.length))}`,
          fitPlain(spec.type, TYPE_WIDTH),
          ...(inFlight === null ? [] : [fitPlain(String(inFlight.get(solo.key) ?? 0), IN_FLIGHT_WIDTH)]),
          truncatePlain(spec.model, modelWidth),
        ]
          .join(GAP)
          .trimEnd(),
      );
    }
  }
  return { header: paint(header.trimEnd(), 'bold', color), lines: windowLines(lines.map((l) => l.trimEnd()), focus, Math.max(1, layout.height - 1)) };
}
