// GET /llms (?pool=KEY), /llms/:name and /llms/:name/members (DESIGN §2, §3).
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ApiError } from '../errors.js';

const listQuerySchema = z.object({ pool: z.string().min(1).optional() });
const nameParamsSchema = z.object({ name: z.string() });
const view = { config: { role: 'view:llms' as const } };
const JSON_TYPE = 'application/json; charset=utf-8';

export const llmRoutes: FastifyPluginAsync = async (app) => {
  const { state, declared } = app.services;

  app.get('/llms', view, async (request, reply) => {
    const query = listQuerySchema.parse(request.query);
    const revision = declared.current().revision;
    if (query.pool === undefined) return { revision, items: state.views() };
    // A pool's members come pre-serialised from the effective state (see membersJson).
    return reply.type(JSON_TYPE).send(state.poolViewsJson(query.pool, revision));
  });

  app.get('/llms/:name', view, async (request) => {
    const { name } = nameParamsSchema.parse(request.params);
    const found = state.view(name);
    if (found === null) throw llmNotFound(name);
    return found;
  });

  app.get('/llms/:name/members', view, async (request, reply) => {
    const { name } = nameParamsSchema.parse(request.params);
    const json = state.membersJson(name);
    if (json === null) throw llmNotFound(name);
    return reply.type(JSON_TYPE).send(json);
  });
};

function llmNotFound(name: string): ApiError {
  return new ApiError('LlmNotFound', `no Llm named ${JSON.stringify(name)}: it is neither declared in the served revision nor registered by an agent`);
}
