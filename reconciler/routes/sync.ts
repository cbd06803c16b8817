// POST /sync: read the source now; answers with the revision served afterwards.
import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../errors.js';
import { StoreUnavailable } from '../lease-store.js';

export const syncRoutes: FastifyPluginAsync = async (app) => {
  const { desired, state, metrics } = app.services;
  app.post('/sync', { config: { role: 'sync:llms' } }, async () => {
    let attempt;
    try {
      attempt = await desired.sync();
    } catch (error) {
      // With etcd the sync goes through the store to the leader: etcd away is a 503 to retry, not a bad source.
      if (error instanceof StoreUnavailable) throw error;
      throw new ApiError('SyncFailed', `could not read the source: ${(error as Error).message}`);
    }
    state.refresh();
    metrics.observeAttempts();
    // No revision read at all (unreachable remote, missing branch): the sync failed; a revision
    // that was read and rejected is an answer, with its errors.
    if (attempt.result === 'rejected' && attempt.revision === null) {
      const reason = attempt.errors[0]?.message ?? 'unknown error';
      throw new ApiError('SyncFailed', `could not read the source: ${reason}; still serving ${desired.current()?.revision ?? 'nothing'}`);
    }
    return { revision: desired.current()?.revision ?? null, result: attempt.result, errors: attempt.errors };
  });
};
