// Which files under --path are resource files, and how both sources name and hash them.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';

export { isResourceFileName, isResourcePath } from '../schema/resource-paths.js';

/** `llms`, `./llms/`, `llms//` all mean `llms`; `.` and `` mean the whole tree (returned as ``). */
export function normalizeSourcePath(path: string): string {
  const normalized = posix.normalize(path.replaceAll('\\', '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

/** Whether `file` (relative to the repository root) lies under the normalised `--path`. */
export function isUnderSourcePath(file: string, sourcePath: string): boolean {
  return sourcePath === '' || file === sourcePath || file.startsWith(`${sourcePath}/`);
}

/** `file` (under the normalised `--path`) relative to it; a `--path` naming a file gives its base name. */
export function relativeToSourcePath(file: string, sourcePath: string): string {
  if (sourcePath === '') return file;
  return file === sourcePath ? posix.basename(file) : file.slice(sourcePath.length + 1);
}

/**
 * The Git blob id of some content, so that a worktree file and the same file committed
 * share one parse-cache entry and one notion of "changed".
 */
export function hashBlob(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}
