// The TUI's one seam to the outside world: list and watch the reconciler, plan the working tree,
// apply a plan. The real one (reconciler-source.ts) goes over HTTP and Git; component tests drive
// the app with a fake that pushes events.
import type { InformerSource } from '../../client/informer.js';
import type { InFlightReading } from '../in-flight.js';
import type { Plan } from '../../schema/plan.js';
import type { StepProgress } from '../apply-steps.js';

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

/** The informer's list and watch, and the working tree's plan and apply. */
export interface TuiDataSource extends InformerSource {
  /** Where the data comes from, for the banner: the reconciler's URL. */
  readonly server: string;
  plan(): Promise<PlanResult>;
  apply(planned: PlanResult, onStep: (progress: StepProgress) => void): Promise<ApplyOutcome>;
  /**
   * Requests in flight per member from the known gateways (--gateway, MCPCTL_GATEWAY); absent when
   * none is known, and the views then show no in-flight column.
   */
  inFlight?: () => Promise<InFlightReading>;
}
