// The /api/v1/status body (and the data of the /watch STATUS event): the desired side's
// status with the effective state's counts and the lease store's status.
import type { StatusAnswer, StoreStatus } from '../schema/views.js';
import type { DesiredStatus } from './desired-state-api.js';
import type { Counts } from './effective-state.js';

export function buildStatusAnswer(status: DesiredStatus, counts: Counts, store: StoreStatus): StatusAnswer {
  return {
    revision: status.revision,
    lastGoodRevision: status.lastGoodRevision,
    source: status.source,
    sourceRootCommits: status.sourceRootCommits ?? [],
    lastSyncAt: status.lastSyncAt,
    errors: status.errors,
    counts,
    history: status.history,
    store,
  };
}
