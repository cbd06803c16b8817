// An in-memory DesiredStateView for route and lease tests: it serves LocatedLlm values parsed
// from YAML text by the real codec. This is the seam between the desired-state side and the
// rest, not a mock of Git: serve() is what a source's new revision does.
import { loadResources } from '../../../schema/codec.js';
import type { ReconcileAttempt, SourceError } from '../../../schema/views.js';
import type { DesiredStateView, DesiredStatus, ServedRevision } from '../../../reconciler/desired-state-api.js';

export type Files = Record<string, string>;

export class StaticDesiredState implements DesiredStateView {
  private served: ServedRevision | null = null;
  private newest: string | null = null;
  private errors: SourceError[] = [];
  private history: ReconcileAttempt[] = [];
  private lastSyncAt: string | null = null;
  private readonly listeners = new Set<() => void>();
  /** What the next sync() serves; null: the source has not changed. */
  private pending: { files: Files; revision: string } | null = null;
  syncCount = 0;

  constructor(
    files: Files | null,
    revision = 'rev-1',
    readonly source = 'static test source',
  ) {
    if (files !== null) this.serve(files, revision);
  }

  /** Applies a revision whole or not at all, like the real desired state, and tells listeners. */
  serve(files: Files, revision: string): ReconcileAttempt {
    const result = loadResources(Object.entries(files).map(([path, text]) => ({ path, text })));
    this.newest = revision;
    this.lastSyncAt = new Date(Date.UTC(2025, 0, 1)).toISOString();
    let attempt: ReconcileAttempt;
    if (result.ok) {
      this.served = { revision, llms: result.llms, pools: result.pools };
      this.errors = [];
      attempt = { revision, at: this.lastSyncAt, durationMs: 3, result: 'applied', errors: [] };
    } else {
      this.errors = result.diagnostics.map((d) => ({ file: d.file, line: d.line, col: d.col, message: d.path === '' ? d.message : `${d.path}: ${d.message}` }));
      attempt = { revision, at: this.lastSyncAt, durationMs: 3, result: 'rejected', errors: this.errors };
    }
    this.history = [attempt, ...this.history].slice(0, 10);
    for (const listener of [...this.listeners]) listener();
    return attempt;
  }

  /** The next sync() will find this revision at the source. */
  stage(files: Files, revision: string): void {
    this.pending = { files, revision };
  }

  current(): ServedRevision | null {
    return this.served;
  }

  status(): DesiredStatus {
    return {
      revision: this.newest,
      lastGoodRevision: this.served?.revision ?? null,
      source: this.source,
      lastSyncAt: this.lastSyncAt,
      errors: this.errors,
      history: this.history,
    };
  }

  async sync(): Promise<ReconcileAttempt> {
    this.syncCount++;
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) return this.serve(pending.files, pending.revision);
    const attempt: ReconcileAttempt = { revision: this.newest, at: new Date(Date.UTC(2025, 0, 1)).toISOString(), durationMs: 1, result: 'unchanged', errors: this.errors };
    this.history = [attempt, ...this.history].slice(0, 10);
    return attempt;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
