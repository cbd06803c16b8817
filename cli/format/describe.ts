// `describe llm NAME` (DESIGN §5): a kubectl-describe style view, with the Llm's pool in a block at
// the very top whenever it has one, so that pool membership cannot be missed.
import type { Gpu } from '../../schema/agent-protocol.js';
import { formatAge } from '../../schema/age.js';
import type { LocatedLlm } from '../../schema/codec.js';
import { computePlan, type Finding } from '../../schema/plan.js';
import { llmEnabledOf, llmSourceOf } from '../../schema/resources.js';
import type { Drift, LlmView, MembersAnswer, SyncState } from '../../schema/views.js';
import { measureWidth, padVisible, paint, paintHealth, paintPhase, type Tone } from './color.js';
import { formatHeartbeatAge } from './llm-table.js';
import { formatLoad } from './load.js';

export interface DescribeOptions {
  color: boolean;
  nowMs: number;
}

export const ANCHOR_MARK = '← this row';
/** The pool header wraps its numbers onto a second line rather than run past this width. */
export const DESCRIBE_WIDTH = 80;
/** A pool larger than this lists its first members (and always the anchor), then counts the rest. */
export const POOL_BLOCK_MAX_MEMBERS = 20;

const NONE = '<none>';
const SYNC_TONE: Record<SyncState, Tone> = { Synced: 'green', OutOfSync: 'yellow', Pending: 'dim' };

/**
 * The block shows when the anchor's key is explicit or its pool has more than one member
 * (DESIGN §2: otherwise the Llm is solo). `members` is the `/members` answer; when the caller
 * could not get it, an explicit key still gets a header so the pool stays visible.
 */
export function hasPoolBlock(view: LlmView, members: MembersAnswer | null): boolean {
  if (members === null) return view.status.pool.explicit;
  return members.pool.explicit || members.pool.size > 1;
}

export function formatDescribe(view: LlmView, members: MembersAnswer | null, options: DescribeOptions): string {
  const lines: string[] = [];
  if (hasPoolBlock(view, members)) lines.push(...formatPoolBlock(view, members, options), '');
  lines.push(...renderEntries(describeEntries(view, members, options)));
  return `${lines.join('\n')}\n`;
}

/** The header line(s) and one line per member: name, kind/phase, agent, heartbeat age, anchor mark. */
export function formatPoolBlock(view: LlmView, members: MembersAnswer | null, options: DescribeOptions): string[] {
  const { color } = options;
  const title = `${paint('Pool:', 'bold', color)}  ${paint(view.status.pool.key, 'cyan', color)} (${view.status.pool.explicit ? 'explicit' : 'implicit'})`;
  if (members === null) return [`${title}  members unavailable`];
  const { pool } = members;
  const stats = `size ${pool.size}  active ${pool.activeCount}/${pool.size}  min ${pool.minActive}  ${paintHealth(pool.health, color)}`;
  const header = measureWidth(`${title}  ${stats}`) <= DESCRIBE_WIDTH ? [`${title}  ${stats}`] : [title, `       ${stats}`];

  const shown = pickShownMembers(members.members, members.anchor);
  const rows = shown.map((m) => {
    const anchor = m.metadata.name === members.anchor;
    return [
      anchor ? paint(m.metadata.name, 'bold', color) : m.metadata.name,
      `${m.status.kind}/${paintPhase(m.status.phase, color)}`,
      m.status.agent?.id ?? '-',
      formatHeartbeatAge(m, options.nowMs),
      anchor ? paint(ANCHOR_MARK, 'bold', color) : '',
    ];
  });
  const body = alignColumns(rows, '   ').map((line) => `  ${line}`);
  const hidden = members.members.length - shown.length;
  if (hidden > 0) body.push(`  … ${hidden} more: mcpctl get llms --pool ${pool.key}`);
  return [...header, ...body];
}

function pickShownMembers(members: readonly LlmView[], anchor: string): LlmView[] {
  if (members.length <= POOL_BLOCK_MAX_MEMBERS) return [...members];
  const first = members.slice(0, POOL_BLOCK_MAX_MEMBERS - 1);
  if (first.some((m) => m.metadata.name === anchor)) return members.slice(0, POOL_BLOCK_MAX_MEMBERS);
  const anchorView = members.find((m) => m.metadata.name === anchor);
  return anchorView === undefined ? first : [...first, anchorView];
}

/** A describe line: `Key:  value` (values past the first continue under it), a header, or text. */
type Entry =
  | { type: 'field'; indent: number; key: string; values: string[] }
  | { type: 'header'; indent: number; key: string }
  | { type: 'text'; indent: number; text: string };

function describeEntries(view: LlmView, members: MembersAnswer | null, options: DescribeOptions): Entry[] {
  const { color } = options;
  const { spec, status } = view;
  const findings = findLiveFindings(view);
  const reasons = findings.filter((f) => f.type !== 'drift');
  const located = (file: string | null, line: number | null): string =>
    file === null || file === '' ? '' : `  ${paint(`(${line === null || line === 0 ? file : `${file}:${line}`})`, 'dim', color)}`;
  const field = (indent: number, key: string, ...values: string[]): Entry => ({ type: 'field', indent, key, values });
  const header = (indent: number, key: string): Entry => ({ type: 'header', indent, key });
  const text = (indent: number, t: string): Entry => ({ type: 'text', indent, text: t });

  const entries: Entry[] = [
    field(0, 'Name', view.metadata.name),
    field(0, 'Labels', ...formatMap(view.metadata.labels)),
    field(0, 'Annotations', ...formatMap(view.metadata.annotations)),
    header(0, 'Spec'),
    field(2, 'Type', spec.type),
    field(2, 'Model', spec.model),
    field(2, 'URL', spec.url ?? view.status.agent?.url ?? (llmSourceOf(spec) === 'agent' ? '<from agent>' : NONE)),
    field(2, 'Pool Name', spec.poolName ?? NONE),
    field(2, 'Source', llmSourceOf(spec)),
    field(2, 'Enabled', String(llmEnabledOf(spec))),
    // The reference only: a view never carries a key's value.
    field(2, 'API Key Ref', spec.apiKeyRef === undefined ? NONE : `env:${spec.apiKeyRef.env}`),
    header(0, 'Status'),
    field(2, 'Kind', status.kind),
    field(2, 'Phase', paintPhase(status.phase, color)),
    field(2, 'Sync', paint(status.sync, SYNC_TONE[status.sync], color)),
    // The plan's live findings, worded and located as `plan` prints them; the view's own reason when
    // all is well. Drift has its own block below (with its location), so it is not said twice.
    reasons.length === 0 ? field(2, 'Reason', status.reason) : field(2, 'Reason', ...reasons.map((f) => `${f.reason}${located(f.file, f.line)}`)),
    field(2, 'Pool', describePoolMembership(view, members)),
    field(2, 'Source', describeSource(view)),
  ];
  if (status.agent === null) entries.push(field(2, 'Agent', NONE));
  else {
    const at = Date.parse(status.agent.lastHeartbeatAt);
    const age = Number.isNaN(at) ? '' : ` (${formatAge(options.nowMs - at)} ago)`;
    entries.push(
      header(2, 'Agent'),
      field(4, 'ID', status.agent.id),
      field(4, 'Host', status.agent.host),
      field(4, 'Last Heartbeat', `${status.agent.lastHeartbeatAt}${age}`),
      // What the serving engine's /metrics said at that beat.
      field(4, 'Load', formatLoad(status.agent.load)),
    );
  }
  const gpus = status.agent?.gpus ?? [];
  if (gpus.length === 0) entries.push(field(2, 'GPUs', NONE));
  else entries.push(header(2, 'GPUs'), ...formatGpus(gpus).map((line) => text(4, line)));
  if (status.drift.length === 0) entries.push(field(2, 'Drift', NONE));
  else {
    const lines = status.drift.map((d) => {
      const finding = findings.find((f) => f.type === 'drift' && f.path === d.path);
      const at = finding === undefined ? located(status.source?.file ?? null, status.source?.line ?? null) : located(finding.file, finding.line);
      return text(4, `${paint(formatDrift(d), 'yellow', color)}${at}`);
    });
    entries.push(header(2, 'Drift'), ...lines);
  }
  return entries;
}

/**
 * The plan's live findings for this one Llm (DESIGN §7: the same reasons in `plan` and in
 * `describe`), worded by the plan engine itself: the view's revision planned against itself
 * with the view as the live state, so nothing changes and only the findings remain. A view
 * carries no per-field lines, so every finding points at its document (`status.source`).
 */
export function findLiveFindings(view: LlmView): Finding[] {
  const { source } = view.status;
  const declared: LocatedLlm[] =
    source === null
      ? []
      : [
          {
            resource: { apiVersion: view.apiVersion, kind: 'Llm', metadata: view.metadata, spec: view.spec },
            file: source.file,
            line: source.line,
            col: 1,
            docIndex: 0,
            fieldLines: {},
          },
        ];
  const revision = source === null || source.revision === '' ? null : source.revision;
  const plan = computePlan({
    desired: { llms: declared, pools: [] },
    base: { llms: declared, pools: [], revision, label: 'served revision' },
    live: [view],
  });
  return plan.findings.filter((f) => f.name === view.metadata.name);
}

function describePoolMembership(view: LlmView, members: MembersAnswer | null): string {
  const { key, explicit } = view.status.pool;
  if (!hasPoolBlock(view, members)) return '- (solo)';
  const size = members === null ? '' : `, ${members.pool.size} member${members.pool.size === 1 ? '' : 's'}`;
  return `${key} (${explicit ? 'explicit' : 'implicit'}${size})`;
}

function describeSource(view: LlmView): string {
  const source = view.status.source;
  if (source === null) return '<none> (published by an agent, not declared in Git)';
  return source.revision === '' ? `${source.file}:${source.line}` : `${source.file}:${source.line} @ ${source.revision}`;
}

function formatMap(map: Record<string, string> | undefined): string[] {
  const keys = Object.keys(map ?? {}).sort();
  return keys.length === 0 ? [NONE] : keys.map((k) => `${k}=${map?.[k] ?? ''}`);
}

/**
 * `0  NVIDIA H100 80GB HBM3  61234/81559 MiB  87%`, columns aligned across GPUs; a figure the
 * agent could not read is `-` (`-/81559 MiB`, `-` for the utilisation of a MIG device).
 */
export function formatGpus(gpus: readonly Gpu[]): string[] {
  const figure = (value: number | null, unit: string): string => (value === null ? '-' : `${Math.round(value)}${unit}`);
  const rows = [...gpus]
    .sort((a, b) => a.index - b.index)
    .map((g) => [
      String(g.index),
      g.name,
      g.memoryUsedMiB === null && g.memoryTotalMiB === null ? '-' : `${figure(g.memoryUsedMiB, '')}/${figure(g.memoryTotalMiB, '')} MiB`,
      figure(g.utilizationPct, '%'),
    ]);
  return alignColumns(rows, '  ');
}

/** `spec.poolName: declared a, live b` (an unset side reads `<unset>`). */
export function formatDrift(drift: Drift): string {
  const show = (v: Drift['declared']): string => (v === null ? '<unset>' : String(v));
  return `${drift.path}: declared ${show(drift.declared)}, live ${show(drift.live)}`;
}

/** Pads every column but the last to its widest visible cell; drops trailing blanks. */
function alignColumns(rows: readonly (readonly string[])[], gap: string): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, measureWidth(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : padVisible(cell, widths[i] ?? 0)))
      .join(gap)
      .trimEnd(),
  );
}

/**
 * The values of a block's fields (same indent, same parent header) start in one column, as
 * kubectl's tabwriter lines them up; nested blocks and text lines do not break the column.
 */
function renderEntries(entries: readonly Entry[]): string[] {
  const parents: number[] = [];
  const parentOf = entries.map((entry, i) => {
    while (parents.length > 0 && (entries[parents[parents.length - 1] ?? 0]?.indent ?? 0) >= entry.indent) parents.pop();
    const parent = parents[parents.length - 1] ?? -1;
    if (entry.type === 'header') parents.push(i);
    return parent;
  });
  const keyWidth = new Map<number, number>();
  entries.forEach((entry, i) => {
    if (entry.type !== 'field') return;
    const parent = parentOf[i] ?? -1;
    keyWidth.set(parent, Math.max(keyWidth.get(parent) ?? 0, entry.key.length + 1));
  });
  const lines: string[] = [];
  entries.forEach((entry, i) => {
    const pad = ' '.repeat(entry.indent);
    if (entry.type === 'header') lines.push(`${pad}${entry.key}:`);
    else if (entry.type === 'text') lines.push(`${pad}${entry.text}`);
    else {
      const column = (keyWidth.get(parentOf[i] ?? -1) ?? 0) + 2;
      entry.values.forEach((value, v) => {
        const label = v === 0 ? `${entry.key}:` : '';
        lines.push(`${pad}${label.padEnd(column)}${value}`.trimEnd());
      });
    }
  });
  return lines;
}
