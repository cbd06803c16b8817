// A file-system error in a few words: its code, with what the usual ones mean.

export function describeFsError(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    if (error.code === 'ENOENT') return 'ENOENT (no such file)';
    if (error.code === 'EACCES') return 'EACCES (permission denied)';
    if (error.code === 'EISDIR') return 'EISDIR (a directory, not a file)';
    return error.code;
  }
  return error instanceof Error ? error.message : String(error);
}
