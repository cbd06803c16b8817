// What `a` does once confirmed, file-first as every CLI write: check the working tree still is
// what was planned, commit its resource files, push when there is a remote, ask the reconciler to
// sync, and wait until the plan against it is empty. Each step reports as it goes.
import { formatChangeSummary } from '../format/plan-format.js';
import { shortRevision } from '../../schema/revision.js';
import type { SyncAnswer } from '../../schema/views.js';
import { commitPaths, pushCurrentBranch, type Repo } from '../repo.js';
import type { ApplyOutcome, ApplyStepName, PlanResult, StepProgress, StepState } from './data-source.js';

export interface ApplyDeps {
  repo: Repo;
  /** The working tree planned again against the reconciler, as the Plan view does. */
  replan(): Promise<PlanResult>;
  sync(): Promise<SyncAnswer>;
  sleep(ms: number): Promise<void>;
  now(): number;
  convergeTimeoutMs: number;
  pollMs: number;
}

export const CONVERGE_TIMEOUT_MS = 60_000;
export const CONVERGE_POLL_MS = 500;

/** A step that cannot finish: its message becomes the step's detail and the outcome. */
class StepFailure extends Error {}

export async function runApplyPipeline(planned: PlanResult, deps: ApplyDeps, onStep: (progress: StepProgress) => void): Promise<ApplyOutcome> {
  let current: ApplyStepName = 'write';
  const report = (step: ApplyStepName, state: StepState, detail = ''): void => {
    current = step;
    onStep({ step, state, detail });
  };
  try {
    report('write', 'running', 'checking the working tree against the plan');
    const again = await deps.replan();
    if (again.fingerprint !== planned.fingerprint) {
      throw new StepFailure('the working tree changed since this plan; nothing was written (press p to plan again)');
    }
    const changed = await changedResourceFiles(deps.repo);
    report('write', 'done', changed.length === 0 ? 'the working tree holds the change, already committed' : `${changed.join(', ')} (working tree)`);

    report('commit', 'running');
    if (changed.length === 0) report('commit', 'skipped', 'nothing to commit');
    else {
      const message = commitMessageOf(planned);
      const commit = await commitPaths(deps.repo, changed, message);
      report('commit', 'done', `${commit.slice(0, 7)} ${message}`);
    }

    report('push', 'running');
    const remotes = await deps.repo.git.getRemotes();
    if (remotes.length === 0) report('push', 'skipped', 'no remote: the reconciler reads this repository itself');
    else {
      await pushCurrentBranch(deps.repo);
      report('push', 'done', 'pushed the current branch');
    }

    report('sync', 'running', 'asking the reconciler to fetch now');
    const answer = await deps.sync();
    if (answer.result === 'rejected') {
      const errors = answer.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`).join('; ');
      throw new StepFailure(`the reconciler rejected revision ${shortRevision(answer.revision)}${errors === '' ? '' : `: ${errors}`}`);
    }
    report('sync', 'done', `the reconciler fetched revision ${shortRevision(answer.revision)}`);

    report('converged', 'running', 'waiting until the reconciler serves the working tree');
    const deadline = deps.now() + deps.convergeTimeoutMs;
    for (;;) {
      const result = await deps.replan();
      if (result.plan.empty) {
        report('converged', 'done', `the reconciler serves ${result.plan.base.label.replace(/^reconciler /, '')}; no changes left`);
        return { ok: true, message: `Applied: ${formatChangeSummary(planned.plan)}` };
      }
      if (deps.now() >= deadline) {
        const left = result.plan.changes.length + result.plan.poolChanges.length;
        throw new StepFailure(`timed out after ${Math.round(deps.convergeTimeoutMs / 1000)}s: ${left} change${left === 1 ? '' : 's'} still differ`);
      }
      await deps.sleep(deps.pollMs);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report(current, 'failed', message);
    return { ok: false, message: `Apply stopped at ${current}: ${message}` };
  }
}

/** `apply NAME` or `apply 3 resources: a, b, c` — the wording of `mcpctl apply`. */
export function commitMessageOf(planned: PlanResult): string {
  const names = [...new Set([...planned.plan.changes.map((c) => c.name), ...planned.plan.poolChanges.map((c) => c.name)])].sort();
  if (names.length === 1) return `apply ${names[0]}`;
  return `apply ${names.length} resources: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`;
}

/** Resource files that differ from HEAD (modified, added, deleted, untracked; both sides of a rename). */
export async function changedResourceFiles(repo: Repo): Promise<string[]> {
  const raw = await repo.git.raw(['status', '--porcelain', '-z', '--untracked-files=all', '--', repo.path]);
  const entries = raw.split('\0');
  const out = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] ?? '';
    if (entry.length < 4) continue;
    out.add(entry.slice(3));
    // A rename or copy is followed by its source path as an entry of its own.
    if (entry[0] === 'R' || entry[0] === 'C') {
      const from = entries[++i];
      if (from !== undefined && from !== '') out.add(from);
    }
  }
  return [...out].sort();
}
