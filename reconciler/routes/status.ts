// GET /status: the source, served and last good revision, errors, history, counts and the lease store.
import type { FastifyPluginAsync } from 'fastify';
import { buildStatusAnswer } from '../status-answer.js';

export const statusRoutes: FastifyPluginAsync = async (app) => {
  const { state, desired, storeStatus } = app.services;
  app.get('/status', { config: { role: 'view:llms' } }, async () => buildStatusAnswer(desired.status(), state.counts(), storeStatus()));
};
