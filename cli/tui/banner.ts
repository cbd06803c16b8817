// The banner over every view: the reconciler cannot be reached, or its newest revision was
// rejected (each error as `file:line:col: message`). Empty when all is well.
import { shortRevision } from '../../schema/revision.js';
import type { StatusAnswer } from '../../schema/views.js';
import { paint } from '../format/color.js';

export type Connection =
  | { state: 'connecting' }
  | { state: 'live' }
  | { state: 'unreachable'; message: string; retryAtMs: number };

export interface BannerInput {
  connection: Connection;
  status: StatusAnswer | null;
  /** Whether a list ever succeeded: then the screen shows the last known state. */
  listed: boolean;
  nowMs: number;
  color: boolean;
}

export const BANNER_MAX_ERRORS = 3;

export function formatBanner(input: BannerInput): string[] {
  const { connection, status, color } = input;
  const lines: string[] = [];
  if (connection.state === 'unreachable') {
    const seconds = Math.max(0, Math.ceil((connection.retryAtMs - input.nowMs) / 1000));
    const retry = seconds > 0 ? `retrying in ${seconds}s` : 'retrying';
    const known = input.listed ? '; showing the last known state' : '';
    // Two lines: the state and what to expect first, so that a long cause cannot push them off.
    lines.push(paint(`✗ Reconciler unreachable, ${retry}${known}`, 'red', color), `  ${connection.message}`);
  }
  const errors = status?.errors ?? [];
  if (status !== null && errors.length > 0) {
    const head = `! Revision ${shortRevision(status.revision)} has ${errors.length} error${errors.length === 1 ? '' : 's'}; serving ${shortRevision(status.lastGoodRevision)}:`;
    lines.push(paint(head, 'yellow', color));
    for (const e of errors.slice(0, BANNER_MAX_ERRORS)) lines.push(`  ${e.file}:${e.line}:${e.col}: ${e.message}`);
    if (errors.length > BANNER_MAX_ERRORS) lines.push(`  … ${errors.length - BANNER_MAX_ERRORS} more: mcpctl status`);
  }
  return lines;
}
