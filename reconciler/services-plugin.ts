// Decorates the fastify instance with the reconciler's services (not imported as singletons by
// the routes), and declares the request and route-config fields the auth hook uses.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Role } from '../schema/auth.js';
import type { Principal } from '../service/auth.js';
import type { ReconcilerServices } from './services.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: ReconcilerServices;
  }
  interface FastifyRequest {
    /** The caller's token entry; null without --auth (or on a route without a role). */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The role a route needs; routes without one are open (health, readiness, metrics). */
    role?: Role;
  }
}

const decorateServices: FastifyPluginAsync<{ services: ReconcilerServices }> = async (app, options) => {
  app.decorate('services', options.services);
  app.decorateRequest('principal', null);
};

export const servicesPlugin = fp(decorateServices, { name: 'mcpctl-services' });
