// The seam between the desired-state side (Git or worktree sources, last good revision,
// history) and the rest of the reconciler (routes, leases, pools). Both sides code against it.
import type { LocatedLlm, LocatedPool, SourceFile } from '../schema/codec.js';
import type { ReconcileAttempt, SourceError } from '../schema/views.js';

/** One candidate revision read from a source: every resource file under --path, with content hashes. */
export interface RevisionCandidate {
  /** A commit id for Git; a content digest (`worktree-<hash>`) for --worktree. */
  revision: string;
  files: SourceFile[];
  /**
   * The root commits of the revision's history (Git sources; a worktree inside a Git checkout):
   * what tells a client whether its repository is the one followed. Absent when not known.
   */
  rootCommits?: string[];
}

/** Where desired state comes from. Implementations: GitSource (simple-git), WorktreeSource (chokidar). */
export interface DesiredSource {
  /** Human-readable description for /status `source`, e.g. `git /srv/llms.git#main:llms`. */
  readonly description: string;
  /** Reads the newest candidate, fetching first for a remote repository. */
  read(): Promise<RevisionCandidate>;
  /** Calls `onChange` whenever the source may have changed (refs moved, a file saved). Resolves to a stop function. */
  watch(onChange: () => void): Promise<() => Promise<void>>;
}

/** A source that can also read one given revision: Git, where followers load the commit the leader accepted. */
export interface RevisionSource extends DesiredSource {
  readRevision(revision: string): Promise<RevisionCandidate>;
}

/** The revision currently served: always a good one (applied whole). */
export interface ServedRevision {
  revision: string;
  llms: LocatedLlm[];
  pools: LocatedPool[];
}

export interface DesiredStatus {
  /** The newest revision seen at the source (served or rejected). */
  revision: string | null;
  lastGoodRevision: string | null;
  source: string;
  /** The root commits of the source's history, sorted; empty when not known (see RevisionCandidate). */
  sourceRootCommits?: string[];
  lastSyncAt: string | null;
  /** Errors of the newest revision when it was rejected; empty when it is served. */
  errors: SourceError[];
  /** Last 10 attempts, newest first. */
  history: ReconcileAttempt[];
}

export interface DesiredStateView {
  current(): ServedRevision | null;
  status(): DesiredStatus;
  /** Reads the source now and applies the candidate whole or not at all. Serialised: concurrent calls share one read. */
  sync(): Promise<ReconcileAttempt>;
  /** Called after every attempt whose outcome changes current() or status().revision/errors. */
  onChange(listener: () => void): () => void;
}
