// Liveness, readiness (a good revision loaded) and Prometheus metrics; no token needed.
import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../schema/version.js';
import { errorBodyOf } from '../errors.js';

export const healthRoutes: FastifyPluginAsync = async (app) => {
  const { desired, metrics } = app.services;

  app.get('/healthz', async () => ({ status: 'ok', version: VERSION }));

  app.get('/readyz', async (_request, reply) => {
    const served = desired.current();
    if (served === null) {
      const errors = desired.status().errors.length;
      const why = errors > 0 ? `the newest revision was rejected with ${errors} error(s); see /api/v1/status` : 'the first revision has not been read yet';
      return reply.code(503).send(errorBodyOf('NotReady', `no good revision loaded: ${why}`));
    }
    return { status: 'ready', revision: served.revision };
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await metrics.render();
    return reply.type(contentType).send(text);
  });
};
