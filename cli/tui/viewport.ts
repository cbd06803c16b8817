// Fitting text into the terminal: cells cut to a width, lists windowed around the cursor and long
// texts scrolled, with "↑ N more" / "↓ N more" lines wherever something is hidden.

export const ELLIPSIS = '…';

/** Cuts plain text to `width` columns, ending in `…` when cut. */
export function truncatePlain(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars.slice(0, width - 1).join('')}${ELLIPSIS}`;
}

/** Cuts or pads plain text to exactly `width` columns. */
export function fitPlain(text: string, width: number): string {
  const cut = truncatePlain(text, width);
  return cut + ' '.repeat(Math.max(0, width - [...cut].length));
}

const clamp = (value: number, low: number, high: number): number => Math.max(low, Math.min(high, value));

/**
 * The `height` lines to show of `lines` so that line `focus` is visible, roughly centred; hidden
 * lines above and below are counted on a line of their own. Needs `height` >= 3 to show markers.
 */
export function windowLines(lines: readonly string[], focus: number, height: number): string[] {
  const n = lines.length;
  if (n <= height) return [...lines];
  if (height < 3) {
    const start = clamp(focus, 0, n - height);
    return lines.slice(start, start + height);
  }
  const f = clamp(focus, 0, n - 1);
  const single = height - 1;
  const first = clamp(f - Math.floor(single / 2), 0, n - single);
  if (first === 0) return [...lines.slice(0, single), moreBelow(n - single)];
  if (first + single >= n) return [moreAbove(n - single), ...lines.slice(n - single)];
  const inner = height - 2;
  const start = clamp(f - Math.floor(inner / 2), 1, n - inner - 1);
  return [moreAbove(start), ...lines.slice(start, start + inner), moreBelow(n - start - inner)];
}

/** The largest useful offset for `scrollLines`: the last line is then on the bottom row. */
export function maxScrollOffset(lineCount: number, height: number): number {
  if (lineCount <= height) return 0;
  return height < 2 ? lineCount - height : lineCount - height + 1;
}

/** `height` lines of `lines` starting at `offset` (clamped), with markers for what is hidden. */
export function scrollLines(lines: readonly string[], offset: number, height: number): string[] {
  const n = lines.length;
  if (n <= height) return [...lines];
  const o = clamp(offset, 0, maxScrollOffset(n, height));
  if (height < 2) return lines.slice(o, o + height);
  const top = o > 0;
  let avail = height - (top ? 1 : 0);
  const bottom = o + avail < n;
  if (bottom) avail -= 1;
  const out = lines.slice(o, o + avail);
  if (top) out.unshift(moreAbove(o));
  if (bottom) out.push(moreBelow(n - o - avail));
  return out;
}

function moreAbove(count: number): string {
  return `↑ ${count} more`;
}

function moreBelow(count: number): string {
  return `↓ ${count} more`;
}
