// The desired-state side of the reconciler: reads a source, applies a revision whole or not at all,
// keeps serving the last good one, and remembers the last attempts (DESIGN §3, §7).
import { loadResources, ParseCache } from '../schema/codec.js';
import type { Diagnostic } from '../schema/diagnostics.js';
import type { ReconcileAttempt, SourceError } from '../schema/views.js';
import type { DesiredSource, DesiredStateView, DesiredStatus, RevisionCandidate, ServedRevision } from './desired-state-api.js';

export interface DesiredStateOptions {
  source: DesiredSource;
  pollMs: number;
  now?: () => number;
  /** Where lines go; `warn` for problems with the source (the served revision is kept). */
  log?: (line: string, level: 'info' | 'warn') => void;
  /** Called after every attempt (poll, watch, sync), once current() and status() show its outcome. */
  onAttempt?: (attempt: ReconcileAttempt) => void;
  /** The revision the reconciler serves, for the log lines, when that is not this reader's own (a fleet's leader). */
  servedRevision?: () => string | null;
}

export interface ParseCacheStats {
  hits: number;
  misses: number;
  /** Files held: the last revision loaded. */
  size: number;
}

const HISTORY_LENGTH = 10;
// setTimeout fires at once for anything longer than this (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The outcome of loading one candidate revision, kept so that the same revision is never parsed twice. */
interface Loaded {
  revision: string;
  errors: SourceError[];
}

export class DesiredState implements DesiredStateView {
  private readonly source: DesiredSource;
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly log: (line: string, level?: 'info' | 'warn') => void;
  private readonly onAttempt: (attempt: ReconcileAttempt) => void;
  private readonly servedRevision: () => string | null;
  private readonly cache = new ParseCache();
  private readonly listeners = new Set<() => void>();

  private served: ServedRevision | null = null;
  private lastLoaded: Loaded | null = null;
  private newestRevision: string | null = null;
  private rootCommits: string[] = [];
  private errors: SourceError[] = [];
  private lastSyncAt: string | null = null;
  private history: ReconcileAttempt[] = [];

  private running: Promise<ReconcileAttempt> | null = null;
  private followUp: Promise<ReconcileAttempt> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private stopWatching: (() => Promise<void>) | null = null;
  private stopped = false;

  constructor(options: DesiredStateOptions) {
    this.source = options.source;
    this.pollMs = Math.min(Math.max(options.pollMs, 1), MAX_TIMER_MS);
    this.now = options.now ?? Date.now;
    this.log = (line, level = 'info') => options.log?.(line, level);
    this.onAttempt = options.onAttempt ?? (() => {});
    this.servedRevision = options.servedRevision ?? (() => this.served?.revision ?? null);
  }

  /** The first sync, then the poll timer and the source's watcher. */
  async start(): Promise<ReconcileAttempt> {
    this.stopped = false;
    const first = await this.sync();
    if (this.stopped) return first;
    try {
      const stopWatching = await this.source.watch(() => void this.syncQuietly());
      if (this.stopped) await stopWatching();
      else this.stopWatching = stopWatching;
    } catch (error) {
      // Without a watcher the poll still picks every change up, only later.
      this.log(`cannot watch ${this.source.description}: ${messageOf(error)}; polling only`, 'warn');
    }
    this.schedulePoll();
    return first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    const stopWatching = this.stopWatching;
    this.stopWatching = null;
    if (stopWatching !== null) await stopWatching();
    // Let a read in progress finish, so that nothing touches the source after stop() resolves.
    await Promise.allSettled([this.running, this.followUp]);
  }

  current(): ServedRevision | null {
    return this.served;
  }

  status(): DesiredStatus {
    return {
      revision: this.newestRevision,
      lastGoodRevision: this.served?.revision ?? null,
      source: this.source.description,
      sourceRootCommits: [...this.rootCommits],
      lastSyncAt: this.lastSyncAt,
      errors: this.errors.map((e) => ({ ...e })),
      history: this.history.map((a) => ({ ...a, errors: a.errors.map((e) => ({ ...e })) })),
    };
  }

  /**
   * One read at a time: a call during a read gets the single follow-up read queued behind
   * it, which starts after the running one, so it sees whatever changed before the call.
   */
  sync(): Promise<ReconcileAttempt> {
    if (this.running === null) {
      this.running = this.attempt().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (this.followUp === null) {
      this.followUp = this.running
        .catch(() => undefined)
        .then(() => {
          this.followUp = null;
          return this.sync();
        });
    }
    return this.followUp;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  parseCacheStats(): ParseCacheStats {
    return { hits: this.cache.hits, misses: this.cache.misses, size: this.cache.size };
  }

  private async attempt(): Promise<ReconcileAttempt> {
    const startedMs = this.now();
    const before = this.snapshot();
    let attempt: ReconcileAttempt;
    try {
      const candidate = await this.source.read();
      this.rootCommits = [...(candidate.rootCommits ?? [])].sort();
      if (this.lastLoaded !== null && this.lastLoaded.revision === candidate.revision) {
        // Same revision id, same content: nothing to parse. Its errors come back if a read failure
        // replaced them, and a revision that was rejected is still rejected, not `unchanged`.
        this.newestRevision = candidate.revision;
        this.errors = this.lastLoaded.errors;
        attempt = this.record(candidate.revision, startedMs, this.errors.length > 0 ? 'rejected' : 'unchanged', this.errors);
      } else {
        attempt = this.load(candidate, startedMs);
      }
    } catch (error) {
      // An unreachable remote, a missing branch: keep serving what we have and say why in /status.
      this.errors = [{ file: '', line: 0, col: 0, message: messageOf(error) }];
      attempt = this.record(null, startedMs, 'rejected', this.errors);
      this.log(`cannot read ${this.source.description}: ${messageOf(error)}; still serving ${this.servedRevision() ?? 'nothing'}`, 'warn');
    }
    this.lastSyncAt = attempt.at;
    if (this.snapshot() !== before) this.notify();
    try {
      this.onAttempt(attempt);
    } catch (error) {
      this.log(`an attempt listener failed: ${messageOf(error)}`, 'warn');
    }
    return attempt;
  }

  private load(candidate: RevisionCandidate, startedMs: number): ReconcileAttempt {
    // The served revision is the last good one: a duplicate is blamed on what the new one added.
    const result = loadResources(candidate.files, this.cache, this.served ?? undefined);
    this.newestRevision = candidate.revision;
    if (result.ok) {
      this.served = { revision: candidate.revision, llms: result.llms, pools: result.pools };
      this.errors = [];
      this.lastLoaded = { revision: candidate.revision, errors: [] };
      const attempt = this.record(candidate.revision, startedMs, 'applied', []);
      this.log(`applied ${candidate.revision}: ${result.llms.length} Llms, ${result.pools.length} pools from ${candidate.files.length} files`);
      return attempt;
    }
    this.errors = result.diagnostics.map(toSourceError);
    this.lastLoaded = { revision: candidate.revision, errors: this.errors };
    const attempt = this.record(candidate.revision, startedMs, 'rejected', this.errors);
    const first = this.errors[0];
    const where = first === undefined ? '' : `: ${first.file}:${first.line}:${first.col}: ${first.message}`;
    this.log(`rejected ${candidate.revision} (${this.errors.length} errors${where}); still serving ${this.servedRevision() ?? 'nothing'}`, 'warn');
    return attempt;
  }

  private record(revision: string | null, startedMs: number, result: ReconcileAttempt['result'], errors: SourceError[]): ReconcileAttempt {
    const attempt: ReconcileAttempt = {
      revision,
      at: new Date(startedMs).toISOString(),
      durationMs: Math.max(0, this.now() - startedMs),
      result,
      errors: errors.map((e) => ({ ...e })),
    };
    this.history = appendAttempt(this.history, attempt);
    return attempt;
  }

  /** What listeners care about: the served revision, the newest revision and its errors. */
  private snapshot(): string {
    return JSON.stringify([this.served?.revision ?? null, this.newestRevision, this.errors]);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.log(`a desired-state listener failed: ${messageOf(error)}`, 'warn');
      }
    }
  }

  /** For the timer and the watcher, where nobody awaits the attempt: a failure is logged, never unhandled. */
  private async syncQuietly(): Promise<void> {
    try {
      await this.sync();
    } catch (error) {
      this.log(`sync of ${this.source.description} failed: ${messageOf(error)}`, 'warn');
    }
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.syncQuietly().finally(() => this.schedulePoll());
    }, this.pollMs);
    this.pollTimer.unref();
  }
}

/**
 * The history with `attempt` as its newest row. A quiet poll is one row kept fresh, not ten rows
 * pushing the last apply out of view: the same revision unchanged again, rejected again for the
 * same errors, or the source unreadable again replaces the newest row.
 */
export function appendAttempt(history: readonly ReconcileAttempt[], attempt: ReconcileAttempt): ReconcileAttempt[] {
  const newest = history[0];
  const again = newest !== undefined && newest.revision === attempt.revision && newest.result === attempt.result && JSON.stringify(newest.errors) === JSON.stringify(attempt.errors);
  if (attempt.result !== 'applied' && again) return [attempt, ...history.slice(1)];
  return [attempt, ...history].slice(0, HISTORY_LENGTH);
}

function toSourceError(d: Diagnostic): SourceError {
  return { file: d.file, line: d.line, col: d.col, message: d.path === '' ? d.message : `${d.path}: ${d.message}` };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
