// The served revision indexed by name, rebuilt only when the revision object changes: the lease
// rules (desired answers, --unmanaged reject) and the effective state both look names up here.
import type { LocatedLlm } from '../schema/codec.js';
import { policiesByKey, type PoolPolicy } from '../schema/pools.js';
import type { DesiredStateView, ServedRevision } from './desired-state-api.js';

export interface DeclaredSnapshot {
  /** The served revision's id; null before the first good revision. */
  revision: string | null;
  served: ServedRevision | null;
  byName: ReadonlyMap<string, LocatedLlm>;
  policies: ReadonlyMap<string, PoolPolicy>;
}

const EMPTY: DeclaredSnapshot = { revision: null, served: null, byName: new Map(), policies: new Map() };

export class DeclaredIndex {
  private snapshot: DeclaredSnapshot = EMPTY;

  constructor(private readonly desired: DesiredStateView) {}

  /** The index of what desired.current() serves right now. */
  current(): DeclaredSnapshot {
    const served = this.desired.current();
    if (served === this.snapshot.served) return this.snapshot;
    if (served === null) {
      this.snapshot = EMPTY;
      return EMPTY;
    }
    const byName = new Map<string, LocatedLlm>();
    for (const llm of served.llms) byName.set(llm.resource.metadata.name, llm);
    this.snapshot = { revision: served.revision, served, byName, policies: policiesByKey(served.pools.map((p) => p.resource)) };
    return this.snapshot;
  }
}
