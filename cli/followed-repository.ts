// Whether the local repository is the one the reconciler follows: they share a root commit. A plan
// of some other repository against the reconciler would remove everything it serves.
import { ReconcilerUnreachable } from '../client/errors.js';
import type { ReconcilerApi } from '../client/reconciler-client.js';
import { shortRevision } from '../schema/revision.js';
import { CliError, UnreachableError } from './errors.js';
import { readRootCommits, type Repo } from './repo.js';

/**
 * Refuses (one line, exit 1) when the reconciler names the root commits of what it follows and the
 * repository shares none of them. Not known (an older reconciler, a source that is no Git history,
 * a repository without a commit yet, the reconciler unreachable) is no refusal; nor is `force`.
 * `localRoots` lets a caller that checks often (the TUI) read the repository's roots once.
 */
export async function checkFollowedRepository(
  client: ReconcilerApi,
  repo: Repo,
  options: { force: boolean; verb: 'plan' | 'apply' | 'tui'; localRoots?: string[] },
): Promise<void> {
  if (options.force) return;
  const [local, status] = await Promise.all([options.localRoots ?? readRootCommits(repo), client.status().catch(unlessUnreachable)]);
  const followed = status?.sourceRootCommits ?? [];
  if (local.length === 0 || followed.length === 0 || local.some((root) => followed.includes(root))) return;
  const roots = (list: string[]): string => list.map((root) => shortRevision(root)).join(', ');
  throw new CliError(
    `this repository (${repo.root}, root ${roots(local)}) is not the one the reconciler at ${client.server} follows ` +
      `(root ${roots(followed)}, ${status?.source ?? 'source unknown'}); ${OVERRIDE[options.verb]}`,
  );
}

const OVERRIDE = {
  plan: 'use --force to plan anyway',
  apply: 'use --force to apply anyway',
  tui: 'start mcpctl tui --force to plan and apply anyway',
} as const;

function unlessUnreachable(error: unknown): null {
  if (error instanceof UnreachableError || error instanceof ReconcilerUnreachable) return null;
  throw error;
}
