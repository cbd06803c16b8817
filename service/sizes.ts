// Size flags (`--max-body 32MiB`): text in, bytes out.

const UNIT_BYTES: Record<string, number> = { '': 1, b: 1, kb: 1000, kib: 1024, mb: 1000 ** 2, mib: 1024 ** 2, gb: 1000 ** 3, gib: 1024 ** 3 };

/** Parses `32MiB`, `512KiB`, `1GB`, `1048576` (bytes); throws an Error naming `flag` otherwise. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const factor = match === null ? undefined : UNIT_BYTES[(match[2] ?? '').toLowerCase()];
  if (match === null || factor === undefined) throw new Error(`${flag}: expected a size like 32MiB, 512KiB or 1048576 (bytes), found ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`${flag}: must be more than 0 bytes, found ${JSON.stringify(text)}`);
  return bytes;
}
