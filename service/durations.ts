// Duration flags (`--poll 30s`, `--gc 10m`, `--ttl 1m30s`): text in, milliseconds out.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
// `ms` must come before `m` in the alternation, or `500ms` would read as 500 minutes and a stray `s`.
const COMPONENT = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Parses a duration such as `30s`, `500ms`, `10m`, `1h` or a combination (`1m30s`, `1h30m`).
 * Every number needs a unit; the result is rounded to whole milliseconds.
 * Throws an Error naming `flag` when the text is not a duration.
 */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  let totalMs = 0;
  let offset = 0;
  while (offset < trimmed.length) {
    COMPONENT.lastIndex = offset;
    const match = COMPONENT.exec(trimmed);
    if (match === null) throw invalidDuration(text, flag);
    totalMs += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
    offset += match[0].length;
  }
  if (offset === 0 || !Number.isFinite(totalMs) || totalMs > Number.MAX_SAFE_INTEGER) throw invalidDuration(text, flag);
  return Math.round(totalMs);
}

function invalidDuration(text: string, flag: string): Error {
  return new Error(`${flag}: expected a duration like 30s, 500ms, 10m or 1h, found ${JSON.stringify(text)}`);
}
