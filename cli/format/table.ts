// kubectl-style tables: upper-case headers, left-aligned columns three spaces apart, no trailing
// spaces, and "No resources found." for the caller to write to stderr when there are no rows.
import { measureWidth, padVisible } from './color.js';

export const COLUMN_GAP = '   ';
export const NO_RESOURCES = 'No resources found.';

/** What a `get` renderer returns: the caller writes each to its own stream. */
export interface TableOutput {
  stdout: string;
  stderr: string;
}

/** A table plus the visible width of each column, so later watch rows can line up with it. */
export interface RenderedTable extends TableOutput {
  widths: number[];
}

/** Visible width of every column over the header and all rows (cells may carry ANSI colour). */
export function measureColumns(headers: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return headers.map((header, i) => {
    let width = measureWidth(header);
    for (const row of rows) width = Math.max(width, measureWidth(row[i] ?? ''));
    return width;
  });
}

/**
 * One line of cells padded to `widths` (a cell wider than its column pushes the rest right
 * rather than being cut). The last cell is never padded, so lines carry no trailing spaces.
 */
export function formatRow(cells: readonly string[], widths: readonly number[]): string {
  const last = cells.length - 1;
  return cells.map((cell, i) => (i === last ? cell : padVisible(cell, widths[i] ?? 0))).join(COLUMN_GAP).trimEnd();
}

export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  emptyMessage: string = NO_RESOURCES,
  /** Columns at least this wide, for rows printed later under the same header (watch lines). */
  minWidths: readonly number[] = [],
): RenderedTable {
  const upper = headers.map((h) => h.toUpperCase());
  const widths = measureColumns(upper, rows).map((w, i) => Math.max(w, minWidths[i] ?? 0));
  if (rows.length === 0) return { stdout: '', stderr: `${emptyMessage}\n`, widths };
  const lines = [formatRow(upper, widths), ...rows.map((row) => formatRow(row, widths))];
  return { stdout: `${lines.join('\n')}\n`, stderr: '', widths };
}
