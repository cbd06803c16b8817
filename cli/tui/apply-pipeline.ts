// What `a` does once confirmed: the CLI's apply pipeline (cli/apply-pipeline.ts) over the working
// tree as planned: check it still is what was planned, commit its resource files, push when there
// is a remote, ask the reconciler to sync, and wait until the plan against it is empty. The Git
// work is the pipeline's; this only says what the TUI checks and waits for.
import type { SyncAnswer } from '../../schema/views.js';
import { runApplySteps } from '../apply-pipeline.js';
import type { ApplyStepName } from '../apply-steps.js';
import { formatPlanLine } from '../format/plan-format.js';
import type { Repo } from '../repo.js';
import { shortRevision } from '../../schema/revision.js';
import type { ApplyOutcome, PlanResult, StepProgress } from './data-source.js';

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

export async function runApplyPipeline(planned: PlanResult, deps: ApplyDeps, onStep: (progress: StepProgress) => void): Promise<ApplyOutcome> {
  let failedAt: ApplyStepName = 'write';
  try {
    await runApplySteps(
      deps.repo,
      {
        check: async () => {
          const again = await deps.replan();
          if (again.fingerprint !== planned.fingerprint) throw new Error('the working tree changed since this plan; nothing was written (press p to plan again)');
        },
        writes: [],
        originals: new Map(),
        commit: { paths: 'changed', message: commitMessageOf(planned) },
        push: 'when-remote',
        sync: async () => {
          const answer = await deps.sync();
          if (answer.result === 'rejected') {
            const errors = answer.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`).join('; ');
            throw new Error(`the reconciler rejected revision ${shortRevision(answer.revision)}${errors === '' ? '' : `: ${errors}`}`);
          }
          return `the reconciler fetched revision ${shortRevision(answer.revision)}`;
        },
        converge: () => waitUntilServed(deps),
      },
      (progress) => {
        if (progress.state === 'failed') failedAt = progress.step;
        onStep(progress);
      },
    );
    return { ok: true, message: `Applied: ${formatPlanLine(planned.plan)}` };
  } catch (error) {
    return { ok: false, message: `Apply stopped at ${failedAt}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Plans again until nothing differs from what the reconciler serves, or the time is up. */
async function waitUntilServed(deps: ApplyDeps): Promise<string> {
  const deadline = deps.now() + deps.convergeTimeoutMs;
  for (;;) {
    const result = await deps.replan();
    if (result.plan.empty) return `the reconciler serves ${result.plan.base.label.replace(/^reconciler /, '')}; no changes left`;
    if (deps.now() >= deadline) {
      const left = result.plan.changes.length + result.plan.poolChanges.length;
      throw new Error(`timed out after ${Math.round(deps.convergeTimeoutMs / 1000)}s: ${left} change${left === 1 ? '' : 's'} still differ`);
    }
    await deps.sleep(deps.pollMs);
  }
}

/** `apply NAME` or `apply 3 resources: a, b, c` — the wording of `mcpctl apply`. */
export function commitMessageOf(planned: PlanResult): string {
  const names = [...new Set([...planned.plan.changes.map((c) => c.name), ...planned.plan.poolChanges.map((c) => c.name)])].sort();
  if (names.length === 1) return `apply ${names[0]}`;
  return `apply ${names.length} resources: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`;
}
