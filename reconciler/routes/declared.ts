// GET /declared: the served revision's declared resources (Llm and LlmPool documents with their
// file and line) and that revision, read from one snapshot so that the two always agree. What
// `mcpctl plan` and the TUI compare a working tree with.
import type { FastifyPluginAsync } from 'fastify';
import { declaredAnswerOf } from '../../schema/declared.js';

export const declaredRoutes: FastifyPluginAsync = async (app) => {
  const { declared } = app.services;
  app.get('/declared', { config: { role: 'view:llms' } }, async () => {
    const { served, revision } = declared.current();
    return declaredAnswerOf(revision, served?.llms ?? [], served?.pools ?? []);
  });
};
