// The one way a change reaches the reconciler, file-first: write the files, commit exactly them,
// push, have the reconciler sync, wait until it serves the change. The write commands
// (workspace.ts commitChange) and the TUI's `a` (through its data source) both run it; each
// step reports through a callback, and the reconciler's side comes in as functions.
import type { ApplyStepName, StepProgress, StepState } from './apply-steps.js';
import { CliError } from './errors.js';
import {
  changedResourceFiles,
  commitPaths,
  hasRemote,
  headRevision,
  pushCurrentBranch,
  readIndexEntries,
  restoreIndexEntries,
  writeFiles,
  type FileWrite,
  type Repo,
} from './repo.js';

export interface ApplyRequest {
  /** Runs first, in the write step: throws when the change is no longer the one planned. */
  check?: () => Promise<void>;
  /** Edits to make; none when the working tree already holds the change. */
  writes: FileWrite[];
  /** What the written files held before (absent: no such file), put back when the commit fails. */
  originals: ReadonlyMap<string, string>;
  /**
   * What to commit: exactly `paths` (the writes and files already holding the change), or every
   * resource file that differs from HEAD; null writes without committing (--no-commit).
   */
  commit: { paths: string[] | 'changed'; message: string } | null;
  /** `when-remote`: push when the repository has a remote (the TUI); `always`: --push. */
  push: 'always' | 'when-remote' | 'never';
  /** The sync step: asks the reconciler to read the new revision; what happened, in words. Skipped when absent. */
  sync?: (revision: string | null) => Promise<string>;
  /** The converged step: waits until the reconciler serves the change; what it serves, in words. Skipped when absent. */
  converge?: (revision: string | null) => Promise<string>;
}

export interface ApplyResult {
  /** The commit made; null when nothing was committed. */
  commit: string | null;
  /** The files written or committed. */
  paths: string[];
}

/**
 * Runs the steps in order, reporting each as running and then done, skipped or failed. A step
 * that fails is reported with its message and its error is thrown on: nothing after it runs.
 */
export async function runApplySteps(repo: Repo, request: ApplyRequest, onStep: (progress: StepProgress) => void): Promise<ApplyResult> {
  let current: ApplyStepName = 'write';
  const report = (step: ApplyStepName, state: StepState, detail = '', commit?: string): void => {
    current = step;
    onStep(commit === undefined ? { step, state, detail } : { step, state, detail, commit });
  };
  try {
    report('write', 'running', request.check === undefined ? '' : 'checking the working tree against the plan');
    await request.check?.();
    const written = request.writes.map((w) => w.path);
    const paths = request.commit === null ? written : request.commit.paths === 'changed' ? await changedResourceFiles(repo) : request.commit.paths;
    // Staged state before anything is written, so that a failed commit can put it back.
    const indexBefore = request.commit === null ? null : await readIndexEntries(repo, paths);
    try {
      await writeFiles(repo, request.writes);
    } catch (error) {
      if (indexBefore === null) throw error;
      return await restoreAndThrow(repo, request, paths, indexBefore, error);
    }
    if (written.length > 0) report('write', 'done', `${written.join(', ')} written`);
    else report('write', 'done', paths.length === 0 ? 'the working tree holds the change, already committed' : `${paths.join(', ')} (working tree)`);

    report('commit', 'running');
    let commit: string | null = null;
    if (request.commit === null) report('commit', 'skipped', 'not committed (--no-commit)');
    else if (paths.length === 0) report('commit', 'skipped', 'nothing to commit');
    else {
      try {
        commit = await commitPaths(repo, paths, request.commit.message);
      } catch (error) {
        return await restoreAndThrow(repo, request, paths, indexBefore ?? new Map(), error);
      }
      report('commit', 'done', `${commit.slice(0, 7)} ${request.commit.message}`, commit);
    }
    if (request.commit === null) {
      for (const step of ['push', 'sync', 'converged'] as const) report(step, 'skipped', 'nothing committed');
      return { commit, paths };
    }

    report('push', 'running');
    if (request.push === 'never') report('push', 'skipped', 'not asked to push');
    else if (request.push === 'when-remote' && !(await hasRemote(repo))) report('push', 'skipped', 'no remote configured');
    else {
      await pushCurrentBranch(repo);
      report('push', 'done', 'pushed the current branch');
    }

    const revision = commit ?? (await headRevision(repo));
    report('sync', 'running', 'asking the reconciler to fetch now');
    if (request.sync === undefined) report('sync', 'skipped');
    else report('sync', 'done', await request.sync(revision));

    report('converged', 'running', 'waiting until the reconciler serves the working tree');
    if (request.converge === undefined) report('converged', 'skipped');
    else report('converged', 'done', await request.converge(revision));
    return { commit, paths };
  } catch (error) {
    report(current, 'failed', error instanceof Error ? error.message : String(error));
    throw error;
  }
}

/**
 * A write or commit that fails (a full disk, no Git identity, a hook that says no) puts the
 * written files and the index back as they were, so that, like every other refusal, it leaves
 * nothing half done.
 */
async function restoreAndThrow(
  repo: Repo,
  request: ApplyRequest,
  paths: string[],
  indexBefore: Map<string, { mode: string; hash: string }>,
  error: unknown,
): Promise<never> {
  const reason = error instanceof Error ? error.message : String(error);
  const undo: FileWrite[] = request.writes.map((w) => ({ path: w.path, text: request.originals.get(w.path) ?? null }));
  try {
    await writeFiles(repo, undo);
    await restoreIndexEntries(repo, paths, indexBefore);
  } catch (restoreError) {
    const why = restoreError instanceof Error ? restoreError.message.split('\n')[0] : String(restoreError);
    throw new CliError(`${reason}; could not put ${paths.join(', ')} back as they were (${why ?? ''}): check \`git status\``);
  }
  const what = request.writes.length > 0 ? 'nothing was written (files and index restored)' : 'nothing was committed (index restored)';
  throw new CliError(`${reason}; ${what}`);
}
