// Which files under --path are resource files, and how both sources name and hash them.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';

/** `*.yaml` and `*.yml`, as DESIGN §3 declares; anything else under --path is ignored. */
export function isResourceFileName(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/** `llms`, `./llms/`, `llms//` all mean `llms`; `.` and `` mean the whole tree (returned as ``). */
export function normalizeSourcePath(path: string): string {
  const normalized = posix.normalize(path.replaceAll('\\', '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

/** Whether `file` (relative to the repository root) lies under the normalised `--path`. */
export function isUnderSourcePath(file: string, sourcePath: string): boolean {
  return sourcePath === '' || file === sourcePath || file.startsWith(`${sourcePath}/`);
}

/**
 * The Git blob id of some content, so that a worktree file and the same file committed
 * share one parse-cache entry and one notion of "changed".
 */
export function hashBlob(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}
