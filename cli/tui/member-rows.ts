// The Members view's model: one pool's members with `kind/phase`, agent, heartbeat age, the
// engine's load, the requests in flight through the known gateways (when any) and a GPU summary,
// under a header line with the pool's own numbers.
import type { Gpu } from '../../schema/agent-protocol.js';
import { compareNames, membersOf, type PoolPolicy } from '../../schema/pools.js';
import type { LlmView, MembersAnswer } from '../../schema/views.js';
import { paint, paintHealth, paintPhase } from '../format/color.js';
import { formatHeartbeatAge } from '../format/llm-table.js';
import { formatCount, formatKvCache, loadOfView } from '../format/load.js';
import { IN_FLIGHT_WIDTH, paintBar, poolInFlight, type InFlightLayout, type ListLayout } from './pool-rows.js';
import { fitPlain, truncatePlain, windowLines } from './viewport.js';

export interface MembersModel {
  /** The `/members` answer computed from the cache, anchored on the pool's first member. */
  pool: MembersAnswer['pool'];
  /** Members after the filter, sorted by name. */
  members: LlmView[];
  /** How many members the filter hides. */
  hidden: number;
  /** Every member's name, the hidden ones too (the pool's own figures count them). */
  allNames?: string[];
}

/**
 * The members of pool `key` from the cached views; null when no cached Llm has that key (a pool
 * that only an LlmPool names has no members to show).
 */
export function deriveMembersModel(
  views: readonly LlmView[],
  key: string,
  policies: ReadonlyMap<string, PoolPolicy>,
  filter: string,
): MembersModel | null {
  const inPool = views.filter((v) => v.status.pool.key === key).sort((a, b) => compareNames(a.metadata.name, b.metadata.name));
  const anchor = inPool.find((v) => v.spec.poolName === key) ?? inPool[0];
  if (anchor === undefined) return null;
  const answer = membersOf(views, anchor.metadata.name, policies);
  if (answer === null) return null;
  // The pool is explicit when any member sets poolName to its key (the pools list's rule).
  const pool = { ...answer.pool, explicit: inPool.some((v) => v.spec.poolName === key) };
  const needle = filter.trim().toLowerCase();
  const members =
    needle === ''
      ? answer.members
      : answer.members.filter((m) => m.metadata.name.toLowerCase().includes(needle) || (m.status.agent?.id ?? '').toLowerCase().includes(needle));
  return { pool, members, hidden: answer.members.length - members.length, allNames: answer.members.map((m) => m.metadata.name) };
}

const VENDOR_WORDS = new Set(['nvidia', 'geforce', 'tesla', 'amd', 'radeon', 'intel']);

/** `H100 80GB` from `NVIDIA H100 80GB HBM3`: vendor words dropped, the first two words kept. */
export function shortGpuName(name: string): string {
  const words = name.split(/\s+/).filter((w) => w !== '' && !VENDOR_WORDS.has(w.toLowerCase()));
  return words.slice(0, 2).join(' ') || name;
}

/**
 * `2×H100 80GB 87% 120/159GiB`: per GPU model the count, mean utilisation and memory used of
 * total (last, so that a narrow column cuts it first); `-` without GPUs. A figure that any GPU of
 * the group could not report is `-` (`2×H100 80GB - 120/159GiB` on MIG), not a sum that reads low.
 */
export function summarizeGpus(gpus: readonly Gpu[]): string {
  if (gpus.length === 0) return '-';
  const groups = new Map<string, Gpu[]>();
  for (const gpu of [...gpus].sort((a, b) => a.index - b.index)) {
    const name = shortGpuName(gpu.name);
    groups.set(name, [...(groups.get(name) ?? []), gpu]);
  }
  return [...groups.entries()]
    .map(([name, list]) => {
      const used = sumOf(list.map((g) => g.memoryUsedMiB));
      const total = sumOf(list.map((g) => g.memoryTotalMiB));
      const util = sumOf(list.map((g) => g.utilizationPct));
      const show = (value: number | null, divisor: number, unit = ''): string => (value === null ? '-' : `${Math.round(value / divisor)}${unit}`);
      return `${list.length}×${name} ${show(util, list.length, '%')} ${show(used, 1024)}/${show(total, 1024)}GiB`;
    })
    .join(', ');
}

/** `3/1/42%`: requests running, waiting and the KV cache in use; `-` when the engine reports no load. */
export function summarizeLoad(view: LlmView): string {
  const load = loadOfView(view);
  if (load === null) return '-';
  return `${formatCount(load.running)}/${formatCount(load.waiting)}/${formatKvCache(load.kvCacheUsage)}`;
}

/** The sum of `values`, or null when any of them is unknown. */
function sumOf(values: readonly (number | null)[]): number | null {
  let sum = 0;
  for (const value of values) {
    if (value === null) return null;
    sum += value;
  }
  return sum;
}

export interface MembersViewLines {
  /** Pool header and column header: they stay on top while the rows scroll. */
  header: string[];
  lines: string[];
}

const CURSOR = '› ';
const NO_CURSOR = '  ';
const GAP = '  ';
const KIND_PHASE_WIDTH = 17;
const HEARTBEAT_WIDTH = 9;
const LOAD_WIDTH = 11;

export function formatMembersView(model: MembersModel, selected: string | null, layout: ListLayout & InFlightLayout & { nowMs: number }): MembersViewLines {
  const { color, width } = layout;
  const { pool } = model;
  const inFlight = layout.inFlight ?? null;
  const inFlightColumns = inFlight === null ? 0 : IN_FLIGHT_WIDTH + GAP.length;
  const degraded = pool.health !== 'Healthy';
  const title = [
    `${paint('Pool', 'bold', color)} ${paint(pool.key, degraded ? 'red' : 'cyan', color)}`,
    pool.explicit ? 'explicit' : 'implicit',
    `${pool.activeCount}/${pool.size} active`,
    paintBar(pool.activeCount, pool.size, degraded, color),
    `min ${pool.minActive}`,
    degraded ? paint(paintHealth(pool.health, color), 'bold', color) : paintHealth(pool.health, color),
    // The whole pool, filter or not: the count of requests its members are serving.
    ...(inFlight === null ? [] : [`${poolInFlight(model.allNames ?? model.members.map((m) => m.metadata.name), inFlight)} in flight`]),
  ].join(GAP);
  const names = model.members.map((m) => m.metadata.name);
  const agents = model.members.map((m) => m.status.agent?.id ?? '-');
  const nw = Math.max(4, Math.min(Math.max(4, ...names.map((n) => [...n].length)), 30));
  const aw = Math.max(5, Math.min(Math.max(5, ...agents.map((a) => [...a].length)), 12));
  const gpuWidth = Math.max(0, width - (CURSOR.length + nw + KIND_PHASE_WIDTH + aw + HEARTBEAT_WIDTH + LOAD_WIDTH + 5 * GAP.length + inFlightColumns));
  const columns = paint(
    [
      NO_CURSOR + fitPlain('NAME', nw),
      fitPlain('KIND/PHASE', KIND_PHASE_WIDTH),
      fitPlain('AGENT', aw),
      fitPlain('HEARTBEAT', HEARTBEAT_WIDTH),
      fitPlain('RUN/WAIT/KV', LOAD_WIDTH),
      ...(inFlight === null ? [] : ['IN-FLIGHT']),
      'GPUS',
    ].join(GAP),
    'bold',
    color,
  );
  const lines: string[] = [];
  let focus = 0;
  model.members.forEach((m, i) => {
    const isSelected = m.metadata.name === selected;
    if (isSelected) focus = i;
    const kindPhase = `${m.status.kind}/${m.status.phase}`;
    lines.push(
      [
        (isSelected ? CURSOR : NO_CURSOR) + paint(fitPlain(truncatePlain(m.metadata.name, nw), nw), isSelected ? 'bold' : 'cyan', color),
        `${m.status.kind}/${paintPhase(m.status.phase, color)}${' '.repeat(Math.max(0, KIND_PHASE_WIDTH - kindPhase.length))}`,
        fitPlain(truncatePlain(agents[i] ?? '-', aw), aw),
        fitPlain(formatHeartbeatAge(m, layout.nowMs), HEARTBEAT_WIDTH),
        fitPlain(truncatePlain(summarizeLoad(m), LOAD_WIDTH), LOAD_WIDTH),
        ...(inFlight === null ? [] : [fitPlain(String(inFlight.get(m.metadata.name) ?? 0), IN_FLIGHT_WIDTH)]),
        truncatePlain(summarizeGpus(m.status.agent?.gpus ?? []), gpuWidth),
      ]
        .join(GAP)
        .trimEnd(),
    );
  });
  if (model.members.length === 0) lines.push(`${NO_CURSOR}(no member matches the filter)`);
  if (model.hidden > 0 && model.members.length > 0) lines.push(paint(`${NO_CURSOR}${model.hidden} more hidden by the filter`, 'dim', color));
  return { header: [title, columns], lines: windowLines(lines, focus, Math.max(1, layout.height - 2)) };
}
