// Coalesces bursts of watcher events (a commit touches several refs, a save is several writes) into one call.

export interface Debounced {
  /** Schedules a call `waitMs` after the first trigger of a burst; later triggers in the burst join it. */
  trigger(): void;
  cancel(): void;
}

/**
 * The timer starts at the first event and is not pushed back by later ones, so a steady
 * stream of events (a build writing files) still produces a call every `waitMs`.
 */
export function debounce(fn: () => void, waitMs: number): Debounced {
  let timer: NodeJS.Timeout | null = null;
  return {
    trigger() {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        fn();
      }, waitMs);
      timer.unref();
    },
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
