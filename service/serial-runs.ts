// An async task run one at a time: a run asked for while one is going happens once after it,
// however often it was asked meanwhile (the task reads the newest state itself). For writes
// where only the newest draft matters, reloads of a changed file, re-reads of a moved key.

export class SerialRuns {
  private running: Promise<void> | null = null;
  private again = false;

  /** `task` must not reject: it handles its own failures. */
  constructor(private readonly task: () => Promise<void>) {}

  /** Runs the task now, or once more after the run going on. */
  run(): void {
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.adopt(this.task());
  }

  /** Takes a run started elsewhere (one whose outcome its caller awaits) as the run going on. */
  adopt(run: Promise<void>): void {
    this.running = run.finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.run();
      }
    });
  }

  /** The run going on, or null when idle. */
  get current(): Promise<void> | null {
    return this.running;
  }
}
