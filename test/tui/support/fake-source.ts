// A TuiDataSource for component tests: lists answer from a settable snapshot (or fail), watch
// streams stay open until the test pushes events, ends or breaks them, and plan/apply answer
// what the test scripts. Every call is recorded.
import type { Snapshot } from '../../../client/informer.js';
import type { WatchEvent } from '../../../client/watch-stream.js';
import type { PoolSummary } from '../../../schema/views.js';
import type { ApplyOutcome, PlanResult, StepProgress, TuiDataSource } from '../../../cli/tui/data-source.js';
import type { InFlightReading } from '../../../cli/in-flight.js';

interface OpenWatch {
  onEvent: (event: WatchEvent) => void;
  signal: AbortSignal;
  end: () => void;
  fail: (error: Error) => void;
}

export class FakeSource implements TuiDataSource {
  readonly server = 'http://127.0.0.1:7420';
  snapshot: Snapshot;
  /** When set, list() rejects with it (the reconciler is down). */
  listError: Error | null = null;
  planResult: PlanResult | null = null;
  planError: Error | null = null;
  /** Steps apply() reports before answering `applyOutcome`. */
  applySteps: StepProgress[] = [];
  applyOutcome: ApplyOutcome = { ok: true, message: 'Applied.' };
  /** When set, apply() waits for it after reporting its steps, then reports `applyFinalSteps`. */
  applyGate: Promise<void> | null = null;
  applyFinalSteps: StepProgress[] = [];
  readonly calls: string[] = [];
  readonly applied: PlanResult[] = [];
  private watches: OpenWatch[] = [];
  private pendingPlans: ((r: PlanResult) => void)[] = [];
  /** When true, plan() answers only when releasePlan() is called. */
  holdPlans = false;
  /** Set by tests of a known gateway; absent as in a TUI started without --gateway. */
  inFlight?: () => Promise<InFlightReading>;

  constructor(snapshot: Snapshot) {
    this.snapshot = snapshot;
  }

  async list(): Promise<Snapshot> {
    this.calls.push('list');
    if (this.listError !== null) throw this.listError;
    return structuredClone(this.snapshot);
  }

  async listPools(): Promise<PoolSummary[]> {
    this.calls.push('listPools');
    return structuredClone(this.snapshot.pools);
  }

  watch(onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    this.calls.push('watch');
    return new Promise<void>((resolve, reject) => {
      const watch: OpenWatch = {
        onEvent,
        signal,
        end: () => {
          this.watches = this.watches.filter((w) => w !== watch);
          resolve();
        },
        fail: (error) => {
          this.watches = this.watches.filter((w) => w !== watch);
          reject(error);
        },
      };
      signal.addEventListener('abort', () => watch.end(), { once: true });
      this.watches.push(watch);
    });
  }

  /** Streams open right now. */
  get openWatches(): number {
    return this.watches.length;
  }

  push(event: WatchEvent): void {
    if (this.watches.length === 0) throw new Error('no open watch to push to');
    for (const w of this.watches) w.onEvent(event);
  }

  /** The server ends the stream without an error (a restart). */
  endWatch(): void {
    for (const w of [...this.watches]) w.end();
  }

  /** The stream breaks as a dropped connection does. */
  breakWatch(error = new Error('cannot reach the reconciler at http://127.0.0.1:7420: ECONNRESET')): void {
    for (const w of [...this.watches]) w.fail(error);
  }

  async plan(): Promise<PlanResult> {
    this.calls.push('plan');
    if (this.planError !== null) throw this.planError;
    if (this.planResult === null) throw new Error('test did not set a plan');
    const result = this.planResult;
    if (this.holdPlans) return new Promise((resolve) => this.pendingPlans.push(() => resolve(result)));
    return result;
  }

  releasePlans(): void {
    const pending = this.pendingPlans;
    this.pendingPlans = [];
    for (const resolve of pending) resolve(this.planResult as PlanResult);
  }

  async apply(planned: PlanResult, onStep: (progress: StepProgress) => void): Promise<ApplyOutcome> {
    this.calls.push('apply');
    this.applied.push(planned);
    for (const step of this.applySteps) onStep(step);
    if (this.applyGate !== null) await this.applyGate;
    for (const step of this.applyFinalSteps) onStep(step);
    return this.applyOutcome;
  }
}
