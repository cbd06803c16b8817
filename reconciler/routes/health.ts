// Liveness, readiness (a good revision loaded) and Prometheus metrics; no token needed.
import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../schema/version.js';
import { errorBodyOf } from '../errors.js';
import { describeStoreReadiness } from '../store-status.js';

export const healthRoutes: FastifyPluginAsync = async (app) => {
  const { desired, metrics, store } = app.services;

  app.get('/healthz', async () => ({ status: 'ok', version: VERSION }));

  app.get('/readyz', async (_request, reply) => {
    const served = desired.current();
    if (served === null) {
      const errors = desired.status().errors.length;
      const why = errors > 0 ? `the newest revision was rejected with ${errors} error(s); see /api/v1/status` : 'the first revision has not been read yet';
      return reply.code(503).send(errorBodyOf('NotReady', `no good revision loaded: ${why}`));
    }
    // Still 200 while the lease store is away: every read works on the last view, and a load
    // balancer that dropped each reconciler of a fleet whose etcd is down would refuse those
    // reads too. The writes say so themselves (503 StoreUnavailable, and agents move on).
    return { status: 'ready', revision: served.revision, store: describeStoreReadiness(store) };
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await metrics.render();
    return reply.type(contentType).send(text);
  });
};
