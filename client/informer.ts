// List-then-watch with reconnect (the Kubernetes informer pattern): every (re)connect lists the
// whole state, replacing the cache, then follows /watch; a failure backs off exponentially and
// lists again, so nothing deleted while the stream was down survives in the cache. While the
// stream is open a periodic resync lists again: /watch is silent on bare heartbeats, so without
// it the heartbeat ages on screen would only ever grow.
import type { LlmView, PoolSummary, StatusAnswer } from '../schema/views.js';
import { computeBackoffMs, type BackoffPolicy } from './backoff.js';
import type { WatchEvent } from './watch-stream.js';

/** What one list call returns: the state the informer cache starts from on every (re)connect. */
export interface Snapshot {
  llms: LlmView[];
  pools: PoolSummary[];
  status: StatusAnswer;
}

/** Where the informer lists and watches: a reconciler through ReconcilerClient, or a test's fake. */
export interface InformerSource {
  list(): Promise<Snapshot>;
  /** Pool policies (minActive) change with a revision; refreshed after each STATUS event. */
  listPools(): Promise<PoolSummary[]>;
  /** Resolves when the stream ends; rejects when the reconciler cannot be reached; stops on abort. */
  watch(onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

/** Where the informer reports to (the TUI: its reducer), through plain callbacks. */
export interface InformerSink {
  connecting(): void;
  listed(snapshot: Snapshot): void;
  event(event: WatchEvent): void;
  policies(pools: PoolSummary[]): void;
  unreachable(message: string, retryInMs: number): void;
}

export interface InformerOptions {
  /** Waits `ms` or until `signal` aborts, whichever is first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Reconnect delays; INFORMER_BACKOFF when absent. */
  backoff?: BackoffPolicy;
  /** How often to list again while watching; 0 or absent: never. */
  resyncMs?: number;
}

/** 500 ms, 1 s, 2 s, … up to 10 s: someone is watching the screen, so reconnect sooner than an agent. */
export const INFORMER_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000 };
/** About the agents' heartbeat interval: ages on screen stay within a beat or two of the truth. */
export const RESYNC_MS = 10_000;

/** Runs until `signal` aborts. Never rejects: every failure becomes an `unreachable` report. */
export async function runInformer(source: InformerSource, sink: InformerSink, signal: AbortSignal, options: InformerOptions): Promise<void> {
  const backoff = options.backoff ?? INFORMER_BACKOFF;
  let failures = 0;
  while (!signal.aborted) {
    sink.connecting();
    try {
      sink.listed(await source.list());
      if (signal.aborted) return;
      failures = 0;
      const watching = new AbortController();
      const stopWatching = (): void => watching.abort();
      signal.addEventListener('abort', stopWatching, { once: true });
      const resync = options.resyncMs !== undefined && options.resyncMs > 0 ? resyncWhile(source, sink, watching.signal, options.resyncMs, options.sleep) : null;
      try {
        await source.watch((event) => {
          if (signal.aborted) return;
          sink.event(event);
          // A new revision may change pool policies (minActive), which LlmView events do not carry.
          if (event.type === 'STATUS') void refreshPolicies(source, sink, signal);
        }, signal);
      } finally {
        stopWatching();
        signal.removeEventListener('abort', stopWatching);
        await resync;
      }
      if (signal.aborted) return;
      // The server closed the stream (a restart, a proxy timeout): re-list and watch again after
      // a short pause, so that a server which keeps closing at once is not hammered.
      await options.sleep(backoff.initialMs, signal);
    } catch (error) {
      if (signal.aborted) return;
      failures++;
      const delayMs = computeBackoffMs(failures, backoff);
      sink.unreachable(messageOf(error), delayMs);
      await options.sleep(delayMs, signal);
    }
  }
}

/** Lists every `resyncMs` until `signal` aborts; a failed list waits for the watch to notice. */
async function resyncWhile(source: InformerSource, sink: InformerSink, signal: AbortSignal, resyncMs: number, sleep: InformerOptions['sleep']): Promise<void> {
  for (;;) {
    await sleep(resyncMs, signal);
    if (signal.aborted) return;
    try {
      const snapshot = await source.list();
      if (signal.aborted) return;
      sink.listed(snapshot);
    } catch {
      // The stream breaks too when the reconciler goes away; that path reports it.
    }
  }
}

async function refreshPolicies(source: InformerSource, sink: InformerSink, signal: AbortSignal): Promise<void> {
  try {
    const pools = await source.listPools();
    if (!signal.aborted) sink.policies(pools);
  } catch {
    // The next re-list brings them; a failed refresh must not tear the stream down.
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The real sleep: a timer that an abort cuts short. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
