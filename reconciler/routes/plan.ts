// GET /plan: the served revision against the live state (same JSON as `mcpctl plan -o json`).
// Desired and base are both the served revision, so the plan holds no changes, only what live
// state says about it: pending, stale, unhealthy, unmanaged, drift, and the pool policy check.
import type { FastifyPluginAsync } from 'fastify';
import { computePlan } from '../../schema/plan.js';

export const planRoutes: FastifyPluginAsync = async (app) => {
  const { state, declared } = app.services;
  app.get('/plan', { config: { role: 'view:llms' } }, async () => {
    const live = state.views();
    const { served, revision } = declared.current();
    const llms = served?.llms ?? [];
    const pools = served?.pools ?? [];
    const label = revision === null ? 'reconciler (no revision loaded)' : `reconciler revision ${revision}`;
    return computePlan({ desired: { llms, pools, label }, base: { llms, pools, revision, label }, live });
  });
};
