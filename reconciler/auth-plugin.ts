// Checks the bearer token and the route's role before any route runs (DESIGN §3): 401 without
// a valid token, 403 without the role. Name globs are checked by the agent routes, which know
// the names once the body is parsed.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { authenticate, firstNameOutsideGlobs, type AuthConfig } from '../service/auth.js';
import { ApiError } from './errors.js';

const checkTokens: FastifyPluginAsync<{ auth: AuthConfig }> = async (app, options) => {
  const { auth } = options;
  app.addHook('onRequest', async (request, reply) => {
    const role = request.routeOptions.config.role;
    if (role === undefined) return;
    const principal = authenticate(auth, request.headers.authorization);
    if (principal === null) {
      void reply.header('www-authenticate', 'Bearer');
      const why = request.headers.authorization === undefined ? 'missing bearer token' : 'the bearer token matches no entry of the --auth file';
      throw new ApiError('Unauthorized', `${why}: send Authorization: Bearer <token>`);
    }
    if (!principal.roles.has(role)) throw new ApiError('Forbidden', `token ${JSON.stringify(principal.name)} lacks the role ${role}`);
    request.principal = principal;
  });
};

export const authPlugin = fp(checkTokens, { name: 'mcpctl-auth', dependencies: ['mcpctl-services'] });

/** 403 naming the first Llm the caller's token may not publish (its name globs). */
export function assertNamesAllowed(request: FastifyRequest, names: Iterable<string>): void {
  const principal = request.principal;
  if (principal === null) return;
  const outside = firstNameOutsideGlobs(principal, names);
  if (outside !== null) {
    throw new ApiError('Forbidden', `token ${JSON.stringify(principal.name)} may not publish ${JSON.stringify(outside)}: allowed names are ${(principal.names ?? []).join(', ')}`);
  }
}
