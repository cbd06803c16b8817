// The text of `mcpctl status`: where desired state comes from, what is served, what went wrong.
import { formatAge } from '../../schema/effective.js';
import type { StatusAnswer } from '../../schema/views.js';
import { paint } from './color.js';
import { formatTable } from './table.js';

export function formatStatus(status: StatusAnswer, options: { color: boolean; nowMs: number }): string {
  const short = (r: string | null): string => (r === null ? '(none)' : /^[0-9a-f]{40}$/.test(r) ? r.slice(0, 7) : r);
  const ago = (iso: string | null): string => (iso === null ? 'never' : `${iso} (${formatAge(options.nowMs - Date.parse(iso))} ago)`);
  const rejected = status.revision !== null && status.revision !== status.lastGoodRevision;
  const lines: string[] = [];
  lines.push(`Source:              ${status.source}`);
  lines.push(`Newest revision:     ${short(status.revision)}${rejected ? paint('  (rejected)', 'red', options.color) : ''}`);
  lines.push(`Served (last good):  ${short(status.lastGoodRevision)}`);
  lines.push(`Last sync:           ${ago(status.lastSyncAt)}`);
  lines.push(`Llms:                ${status.counts.llms} in ${status.counts.pools} pools, ${status.counts.agents} agents`);
  if (status.errors.length > 0) {
    lines.push('');
    lines.push(paint(`Errors in ${short(status.revision)}:`, 'red', options.color));
    for (const e of status.errors) lines.push(`  ${e.file}:${e.line}:${e.col}: ${e.message}`);
  }
  lines.push('');
  lines.push('History:');
  const rows = status.history.map((h) => [short(h.revision), h.at, `${h.durationMs}ms`, h.result, h.errors.length === 0 ? '-' : `${h.errors.length} error${h.errors.length === 1 ? '' : 's'}`]);
  if (rows.length === 0) lines.push('  (no attempts yet)');
  else lines.push(...formatTable(['REVISION', 'AT', 'DURATION', 'RESULT', 'ERRORS'], rows).stdout.trimEnd().split('\n').map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}
