// GET /llms (?pool=KEY), /llms/:name and /llms/:name/members (DESIGN §2, §3).
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { MembersAnswers } from './members-answer.js';

const listQuerySchema = z.object({ pool: z.string().min(1).optional() });
const nameParamsSchema = z.object({ name: z.string() });
const view = { config: { role: 'view:llms' as const } };
const JSON_TYPE = 'application/json; charset=utf-8';

export const llmRoutes: FastifyPluginAsync = async (app) => {
  const { state, declared } = app.services;
  const answers = new MembersAnswers(state);

  app.get('/llms', view, async (request, reply) => {
    const query = listQuerySchema.parse(request.query);
    const revision = declared.current().revision;
    if (query.pool === undefined) return { revision, items: state.views() };
    // A pool's members come pre-serialised (see members-answer.ts).
    return sendParts(reply, answers.poolViewsParts(query.pool, revision));
  });

  app.get('/llms/:name', view, async (request) => {
    const { name } = nameParamsSchema.parse(request.params);
    const found = state.view(name);
    if (found === null) throw llmNotFound(name);
    return found;
  });

  app.get('/llms/:name/members', view, async (request, reply) => {
    const { name } = nameParamsSchema.parse(request.params);
    const parts = answers.membersParts(name);
    if (parts === null) throw llmNotFound(name);
    return sendParts(reply, parts);
  });
};

/**
 * Writes a JSON answer given in parts without joining them: the shared, pre-serialised member
 * list is written as it is rather than copied into a fresh buffer on every request. Written
 * straight to the socket, corked into one write: a stream would cost a pipe and several ticks
 * per request on the hottest read route.
 */
function sendParts(reply: FastifyReply, parts: Buffer[]): FastifyReply {
  let length = 0;
  for (const part of parts) length += part.length;
  const raw = reply.raw;
  reply.hijack();
  // Headers a hook may have set on the reply still go out.
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value);
  raw.writeHead(reply.statusCode, { 'content-type': JSON_TYPE, 'content-length': length });
  raw.cork();
  for (const part of parts) raw.write(part);
  raw.end();
  return reply;
}

function llmNotFound(name: string): ApiError {
  return new ApiError('LlmNotFound', `no Llm named ${JSON.stringify(name)}: it is neither declared in the served revision nor registered by an agent`);
}
