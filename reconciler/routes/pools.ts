// GET /pools: every pool of the effective state with its size, active count and health.
import type { FastifyPluginAsync } from 'fastify';

export const poolRoutes: FastifyPluginAsync = async (app) => {
  const { state } = app.services;
  app.get('/pools', { config: { role: 'view:llms' } }, async () => ({ items: state.pools() }));
};
