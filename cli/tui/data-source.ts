// The TUI's one seam to the outside world: list and watch the reconciler, plan the working tree,
// apply a plan. The real one (reconciler-source.ts) goes over HTTP and Git; component tests drive
// the app with a fake that pushes events.
import type { Plan } from '../../schema/plan.js';
import type { LlmView, PoolSummary, StatusAnswer } from '../../schema/views.js';
import type { StepProgress } from '../apply-steps.js';

/** What one list call returns: the state the informer cache starts from on every (re)connect. */
export interface Snapshot {
  llms: LlmView[];
  pools: PoolSummary[];
  status: StatusAnswer;
}

/** A parsed `/api/v1/watch` event; anything that does not parse is dropped at the edge. */
export type TuiWatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; view: LlmView }
  | { type: 'STATUS'; status: StatusAnswer };

export type DiffAction = 'create' | 'update' | 'delete';

/** One changed resource: its canonical YAML before and after, ready for a line diff. */
export interface ResourceDiff {
  kind: 'Llm' | 'LlmPool';
  name: string;
  action: DiffAction;
  /** The desired document's place (the base one for a deletion); `file` is '' when unknown. */
  file: string;
  line: number;
  beforeYaml: string;
  afterYaml: string;
}

export interface PlanResult {
  plan: Plan;
  diffs: ResourceDiff[];
  /** Canonical YAML of the whole desired state: apply refuses when the tree changed since the plan. */
  fingerprint: string;
}

export { APPLY_STEPS, type ApplyStepName, type StepProgress, type StepState } from '../apply-steps.js';

export interface ApplyOutcome {
  ok: boolean;
  message: string;
}

export interface TuiDataSource {
  /** Where the data comes from, for the banner: the reconciler's URL. */
  readonly server: string;
  list(): Promise<Snapshot>;
  /** Pool policies (minActive) change with a revision; refreshed after each STATUS event. */
  listPools(): Promise<PoolSummary[]>;
  /** Resolves when the stream ends; rejects when the reconciler cannot be reached; stops on abort. */
  watch(onEvent: (event: TuiWatchEvent) => void, signal: AbortSignal): Promise<void>;
  plan(): Promise<PlanResult>;
  apply(planned: PlanResult, onStep: (progress: StepProgress) => void): Promise<ApplyOutcome>;
}
