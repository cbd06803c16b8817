// The gateway's HTTP service: one OpenAI-compatible endpoint for every pool. buildGateway returns
// a fastify instance that is not listening; `mcpctl gateway` only calls listen. Requests are
// parsed here (JSON, `model`, token and its globs), then handed raw to the proxy, which streams.
import type { IncomingHttpHeaders } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Dispatcher } from 'undici';
import { matchesNameGlob, type Role } from '../schema/auth.js';
import { authenticate, type AuthConfig, type Principal } from '../service/auth.js';
import { RequestLogsAtDebug } from '../service/request-logs.js';
import { GatewayError } from './errors.js';
import { GatewayMetrics } from './metrics.js';
import { MemberStates } from './member-states.js';
import { PoolProxy, writeError, type ProxySettings } from './proxy.js';
import type { Readiness } from './reconciler-follower.js';
import type { RouteTable } from './route-table.js';
import { isCoolingDown } from './routing.js';

export interface GatewayDeps {
  /** The current route table (the follower's; a test's fixed one). */
  routes(): RouteTable;
  readiness(): Readiness;
  dispatcher: Dispatcher;
  settings: ProxySettings;
  /** --max-body, in bytes. */
  maxBodyBytes: number;
  /** Null: no tokens (the command allows that on loopback only). */
  auth: AuthConfig | null;
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  random?: () => number;
  logger?: FastifyServerOptions['logger'];
  processMetrics?: boolean;
}

export interface Gateway {
  app: FastifyInstance;
  states: MemberStates;
  metrics: GatewayMetrics;
}

/** The OpenAI routes the gateway forwards, and the path each takes below a member's `/v1`. */
const FORWARDED = { '/v1/chat/completions': '/chat/completions', '/v1/completions': '/completions', '/v1/embeddings': '/embeddings' } as const;

export async function buildGateway(deps: GatewayDeps): Promise<Gateway> {
  const now = deps.now ?? Date.now;
  const states = new MemberStates();
  const metrics = new GatewayMetrics({ states, poolOf: (name) => deps.routes().poolOf(name), now, processMetrics: deps.processMetrics ?? false });
  // No forceCloseConnections: close() must let the answers in flight finish (it reaps idle
  // keep-alive connections only), as `mcpctl gateway` promises on SIGTERM.
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: deps.maxBodyBytes, logController: new RequestLogsAtDebug(), return503OnClosing: true });
  const proxy = new PoolProxy({
    dispatcher: deps.dispatcher,
    states,
    metrics,
    settings: deps.settings,
    env: deps.env ?? process.env,
    now,
    random: deps.random ?? Math.random,
    poolSize: (pool) => deps.routes().poolSize(pool),
    log: (level, line) => app.log[level](line),
  });

  // The body stays bytes until the route parses it: every content type is taken (curl's default
  // form type included), and bad JSON gets OpenAI's error shape, not fastify's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError | GatewayError | Error, request, reply) => {
    const gatewayError = classifyError(error, deps.maxBodyBytes);
    if (gatewayError.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(gatewayError.status).headers(gatewayError.headers).send(gatewayError.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new GatewayError('not_found', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`);
    return reply.code(404).send(error.body());
  });

  const authorize = (request: FastifyRequest, roles: readonly Role[]): Principal | null => {
    if (deps.auth === null) return null;
    const principal = authenticate(deps.auth, request.headers.authorization);
    if (principal === null) {
      const why = request.headers.authorization === undefined ? 'missing bearer token' : 'the bearer token matches no entry of the --auth file';
      throw new GatewayError('invalid_api_key', `${why}: send Authorization: Bearer <token>`, null, { 'www-authenticate': 'Bearer' });
    }
    if (!roles.some((role) => principal.roles.has(role))) throw new GatewayError('permission_denied', `token ${JSON.stringify(principal.name)} lacks the role ${roles.join(' or ')}`);
    return principal;
  };
  const mayCall = (principal: Principal | null, model: string): boolean => principal === null || principal.names === null || principal.names.some((glob) => matchesNameGlob(glob, model));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = deps.readiness();
    if (!readiness.loaded) return reply.code(503).send({ status: 'not ready', reconciler: readiness.reason ?? 'no view loaded yet' });
    if (readiness.unreachableSinceMs !== null) {
      // Still 200: a load balancer must not drop a gateway that routes on its last view.
      return { status: 'ready', reconciler: `unreachable since ${new Date(readiness.unreachableSinceMs).toISOString()}: ${readiness.reason ?? ''}; routing on the last view` };
    }
    return { status: 'ready', reconciler: 'connected' };
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get('/v1/models', async (request) => {
    const principal = authorize(request, ['use:llms']);
    const data = deps
      .routes()
      .modelIds()
      .filter((id) => mayCall(principal, id))
      .map((id) => ({ id, object: 'model', created: 0, owned_by: 'mcpctl' }));
    return { object: 'list', data };
  });

  app.get('/v1/mcpctl/state', async (request) => {
    authorize(request, ['use:llms', 'view:llms']);
    const at = now();
    const routes = deps.routes();
    const routable = new Set<string>();
    for (const id of routes.modelIds()) for (const member of routes.lookup(id)?.routable ?? []) routable.add(member.name);
    const names = new Set<string>([...states.names(), ...routable]);
    const members = [...names].sort().map((name) => {
      const state = states.get(name);
      const cooling = isCoolingDown(state, at) && state.cooldown !== null;
      return {
        name,
        pool: routes.poolOf(name) ?? null,
        inFlight: state.inFlight,
        // Whether a new request may still go to it (active in this gateway's view): `drain --wait`
        // waits for false, so that a gateway whose view lags the reconciler is not taken as drained.
        routable: routable.has(name),
        cooldown: cooling && state.cooldown !== null ? { since: new Date(state.cooldown.sinceMs).toISOString(), until: new Date(state.cooldown.untilMs).toISOString(), reason: state.cooldown.reason } : null,
      };
    });
    return { members };
  });

  for (const [route, upstreamPath] of Object.entries(FORWARDED)) {
    app.post(route, async (request, reply) => {
      const principal = authorize(request, ['use:llms']);
      const body = parseBody(request.body);
      const model = body['model'];
      if (typeof model !== 'string' || model === '') throw new GatewayError('missing_model', 'the request body needs "model": a pool key or an Llm name (see GET /v1/models)', 'model');
      if (!mayCall(principal, model)) throw new GatewayError('permission_denied', `token ${JSON.stringify(principal?.name ?? '')} may not call ${JSON.stringify(model)}: allowed names are ${(principal?.names ?? []).join(', ')}`, 'model');
      const target = deps.routes().lookup(model);
      if (target === null) throw new GatewayError('model_not_found', `the model ${JSON.stringify(model)} is no pool key and no Llm name this gateway knows (see GET /v1/models)`, 'model');
      // From here on the proxy owns the raw response: it streams the upstream's bytes as they come.
      reply.hijack();
      await forwardSafely(proxy, { target, body, path: upstreamPath, headers: request.headers as IncomingHttpHeaders, startedAtMs: now() }, reply, request);
    });
  }
  return { app, states, metrics };
}

async function forwardSafely(proxy: PoolProxy, request: Parameters<PoolProxy['forward']>[0], reply: FastifyReply, fastifyRequest: FastifyRequest): Promise<void> {
  try {
    await proxy.forward(request, reply.raw);
  } catch (error) {
    // A bug, not a member's failure: never a stack to the client, never a hung one.
    fastifyRequest.log.error({ err: error }, 'forwarding failed');
    writeError(reply.raw, new GatewayError('internal_error', 'internal error in the gateway (this is a bug; the log has the details)'));
  }
}

function parseBody(body: unknown): Record<string, unknown> {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (bytes.length === 0) throw new GatewayError('invalid_json', 'the request has no body: send a JSON object with "model"', null);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new GatewayError('invalid_json', `the request body is not valid JSON: ${(error as Error).message}`, null);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GatewayError('invalid_json', 'the request body must be a JSON object', null);
  return value as Record<string, unknown>;
}

function classifyError(error: FastifyError | GatewayError | Error, maxBodyBytes: number): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = 'code' in error ? error.code : undefined;
  const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) return new GatewayError('request_too_large', `the request body exceeds --max-body (${maxBodyBytes} bytes)`);
  if (statusCode >= 400 && statusCode < 500) return new GatewayError('invalid_json', error.message);
  return new GatewayError('internal_error', 'internal error in the gateway (this is a bug; the log has the details)');
}
