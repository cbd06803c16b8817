// The steps of the apply pipeline (apply-pipeline.ts) as its callback reports them: plain data
// that the TUI renders, kept apart so that the TUI reads them without loading Git.

export const APPLY_STEPS = ['write', 'commit', 'push', 'sync', 'converged'] as const;
export type ApplyStepName = (typeof APPLY_STEPS)[number];
export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

export interface StepProgress {
  step: ApplyStepName;
  state: StepState;
  /** What happened, in words: `3f2c1e9 mcpctl tui: …`, `skipped: no remote`. */
  detail: string;
  /** The commit made, on the commit step's `done`. */
  commit?: string;
}
