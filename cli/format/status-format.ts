// The text of `mcpctl status`: one sentence on what is served and why, the errors that keep a
// newer revision out, then the details and the reconcile history (DESIGN §7).
import { formatAge } from '../../schema/age.js';
import { shortRevision } from '../../schema/revision.js';
import { PHASES, type ReconcileAttempt, type SourceError, type StatusAnswer, type StoreStatus } from '../../schema/views.js';
import { paint, type Tone } from './color.js';
import { formatTable } from './table.js';

export interface StatusFormatOptions {
  color: boolean;
  nowMs: number;
}

/**
 * - `current`: the newest revision read is the one served.
 * - `rejected`: the newest revision has errors; an older one (or none) is served.
 * - `unreadable`: the last read of the source failed; what was served before still is.
 * - `unread`: nothing read yet and nothing failed (a reconciler still starting).
 */
export type StatusVerdict = 'current' | 'rejected' | 'unreadable' | 'unread';

export function assessStatus(status: StatusAnswer): StatusVerdict {
  if (status.revision !== null && status.revision !== status.lastGoodRevision) return 'rejected';
  if (status.errors.length > 0) return 'unreadable';
  return status.lastGoodRevision === null ? 'unread' : 'current';
}

/** `mcpctl status` exits 0 only when the newest revision is served and nothing failed. */
export function exitCodeOfStatus(status: StatusAnswer): 0 | 1 {
  const verdict = assessStatus(status);
  return verdict === 'current' || verdict === 'unread' ? 0 : 1;
}

const RESULT_TONE: Record<ReconcileAttempt['result'], Tone> = { applied: 'green', rejected: 'red', unchanged: 'dim' };

export function formatStatus(status: StatusAnswer, options: StatusFormatOptions): string {
  const lines: string[] = [...formatHeadline(status, options), ''];
  const rejected = assessStatus(status) === 'rejected';
  const details: [string, string][] = [
    ['Source', status.source],
    // An older reconciler does not say which store it has.
    ...(status.store === undefined ? [] : [['Store', formatStore(status.store, options)] as [string, string]]),
    ['Newest revision', status.revision === null ? '(none)' : `${shortRevision(status.revision)}${rejected ? ` ${paint('(rejected)', 'red', options.color)}` : ''}`],
    ['Served (last good)', status.lastGoodRevision === null ? '(none)' : shortRevision(status.lastGoodRevision)],
    ['Last sync', status.lastSyncAt === null ? 'never' : `${status.lastSyncAt} (${formatAge(options.nowMs - Date.parse(status.lastSyncAt))} ago)`],
    ['Fleet', formatFleet(status.counts)],
  ];
  const labelWidth = Math.max(...details.map(([label]) => label.length)) + 1;
  for (const [label, value] of details) lines.push(`${`${label}:`.padEnd(labelWidth)}  ${value}`);
  lines.push('');
  lines.push(...formatHistory(status, options));
  return `${lines.join('\n')}\n`;
}

/** The sentence a reader needs first, with the errors that explain it right under it. */
function formatHeadline(status: StatusAnswer, options: StatusFormatOptions): string[] {
  const unavailable = status.store?.unavailable;
  const store =
    unavailable === undefined
      ? []
      : [paint(`The lease store (${status.store?.kind ?? 'etcd'}) has not answered for ${formatAge(options.nowMs - Date.parse(unavailable.since))}: registrations and heartbeats are refused (503), reads serve the last view.`, 'yellow', options.color)];
  return [...formatRevisionHeadline(status, options), ...store];
}

function formatRevisionHeadline(status: StatusAnswer, options: StatusFormatOptions): string[] {
  const served = status.lastGoodRevision === null ? null : shortRevision(status.lastGoodRevision);
  const errors = status.errors.map((e) => `  ${formatSourceError(e)}`);
  switch (assessStatus(status)) {
    case 'current':
      return [paint(`Serving the newest revision, ${served ?? '(none)'}.`, 'green', options.color)];
    case 'unread':
      return ['Serving nothing yet: the source has not been read.'];
    case 'rejected': {
      const newest = shortRevision(status.revision ?? '');
      const count = plural(status.errors.length, 'error');
      if (served === null) {
        return [paint(`Serving nothing: no revision has loaded yet, and the newest, ${newest}, was rejected with ${count}:`, 'red', options.color), ...errors, 'Push a fix; the reconciler serves no Llms until a revision loads.'];
      }
      return [
        paint(`Serving an older revision, ${served}, because the newest, ${newest}, was rejected with ${count}:`, 'red', options.color),
        ...errors,
        `Push a fix; the reconciler keeps serving ${served} meanwhile.`,
      ];
    }
    case 'unreadable':
      return [
        paint(served === null ? 'Serving nothing: the source could not be read:' : `Serving ${served}, but the last read of the source failed:`, 'yellow', options.color),
        ...errors,
        ...(served === null ? [] : ['Newer commits, if any, are served once the source can be read again.']),
      ];
  }
}

function formatHistory(status: StatusAnswer, options: StatusFormatOptions): string[] {
  if (status.history.length === 0) return ['History: no reconcile attempts yet.'];
  // The attempt that put the served revision in place (or last confirmed it) is marked.
  const servingIndex = status.history.findIndex((h) => h.result !== 'rejected' && h.revision !== null && h.revision === status.lastGoodRevision);
  const rows = status.history.map((h, i) => [
    h.revision === null ? '-' : shortRevision(h.revision),
    paint(h.result, RESULT_TONE[h.result], options.color),
    formatAge(options.nowMs - Date.parse(h.at)),
    formatDuration(h.durationMs),
    [i === servingIndex ? 'serving' : '', formatErrorsCell(h.errors)].filter((s) => s !== '').join('; '),
  ]);
  const table = formatTable(['REVISION', 'RESULT', 'AGE', 'DURATION', 'NOTE'], rows).stdout.trimEnd();
  return ['History, newest first:', ...table.split('\n').map((line) => `  ${line}`)];
}

function formatErrorsCell(errors: SourceError[]): string {
  const first = errors[0];
  if (first === undefined) return '';
  if (first.file === '') return truncate(first.message, 60);
  // Positions belong to the current errors above the table; a past attempt only says how many it had.
  return plural(errors.length, 'error');
}

/** `file:line:col: message`, or the message alone for a failure that is not in a file (a fetch). */
export function formatSourceError(error: SourceError): string {
  return error.file === '' ? error.message : `${error.file}:${error.line}:${error.col}: ${error.message}`;
}

/** `etcd HOST:PORT,… (leader: ID)`, `file` or `memory (…)`, and why it does not answer when it does not. */
function formatStore(store: StoreStatus, options: StatusFormatOptions): string {
  let text: string;
  if (store.kind === 'etcd') text = `etcd ${store.endpoints.join(',')} (${store.leader === null ? 'no leader known' : `leader: ${store.leader}`})`;
  else if (store.kind === 'memory') text = 'memory (leases are lost when the reconciler restarts)';
  else text = store.leader === null ? 'file' : `file (leader: ${store.leader})`;
  if (store.unavailable === undefined) return text;
  return `${text}, ${paint(`unavailable since ${store.unavailable.since}`, 'red', options.color)}: ${store.unavailable.reason}`;
}

function formatFleet(counts: StatusAnswer['counts']): string {
  const phases = PHASES.map((p) => [p, counts.byPhase[p] ?? 0] as const)
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${n} ${p}`);
  const llms = `${plural(counts.llms, 'Llm')} in ${plural(counts.pools, 'pool')}`;
  return `${llms}${phases.length > 0 ? ` (${phases.join(', ')})` : ''}, ${plural(counts.agents, 'agent')}`;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}


function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
