// The gateway's HTTP service: one OpenAI-compatible endpoint for every pool. buildGateway returns
// a fastify instance that is not listening; `mcpctl gateway` only calls listen. The forwarded
// routes (POST /v1/chat/completions, /v1/completions, /v1/embeddings) are answered on the raw
// node:http request, before fastify: their body is read here (with --max-body), parsed (JSON,
// `model`, token and its globs), then handed to the proxy, which streams. fastify serves the
// rest (models, state, health, metrics, 404s).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Dispatcher } from 'undici';
import { matchesNameGlob, type Role } from '../schema/auth.js';
import { authenticate, type AuthConfig, type Principal } from '../service/auth.js';
import { RequestLogsAtDebug } from '../service/request-logs.js';
import { GatewayError } from './errors.js';
import { GatewayMetrics } from './metrics.js';
import { MemberStates } from './member-states.js';
import { PoolProxy, writeError, type ProxySettings } from './proxy.js';
import { RequestBody } from './request-body.js';
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
const FORWARDED: ReadonlyMap<string, string> = new Map([
  ['/v1/chat/completions', '/chat/completions'],
  ['/v1/completions', '/completions'],
  ['/v1/embeddings', '/embeddings'],
]);

export async function buildGateway(deps: GatewayDeps): Promise<Gateway> {
  const now = deps.now ?? Date.now;
  const states = new MemberStates();
  const metrics = new GatewayMetrics({ states, poolOf: (name) => deps.routes().poolOf(name), now, processMetrics: deps.processMetrics ?? false });
  // No forceCloseConnections: close() must let the answers in flight finish (it reaps idle
  // keep-alive connections only), as `mcpctl gateway` promises on SIGTERM.
  // The forwarded routes skip fastify's request, reply and hooks: per request they are the largest
  // share of what the gateway adds to a bare proxy (bench/gateway).
  let forwardRoute: (req: IncomingMessage, res: ServerResponse) => boolean = () => false;
  // Set when close() begins: a request that still comes on an open keep-alive connection gets a
  // 503 in the shape OpenAI clients read (fastify's own would not be), and the connection closes,
  // so that a load balancer or the client's retry moves on to another gateway.
  let closing = false;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.maxBodyBytes,
    logController: new RequestLogsAtDebug(),
    serverFactory: (handler) =>
      createServer((req, res) => {
        if (closing) refuseWhileClosing(req, res);
        else if (!forwardRoute(req, res)) handler(req, res);
      }),
  });
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
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

  const authorize = (request: { headers: IncomingMessage['headers'] }, roles: readonly Role[]): Principal | null => {
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

  const failed = (res: ServerResponse, error: unknown): void => {
    const gatewayError = classifyError(error as Error, deps.maxBodyBytes);
    // A bug, not a member's failure: never a stack to the client, never a hung one.
    if (gatewayError.status >= 500) app.log.error({ err: error }, 'forwarding failed');
    writeError(res, gatewayError);
  };

  /** One forwarded request, its body read: answered in every case. */
  const forward = (req: IncomingMessage, res: ServerResponse, upstreamPath: string, bytes: Buffer, startedAtMs: number): void => {
    try {
      const principal = authorize(req, ['use:llms']);
      const body = parseBody(bytes);
      const model = body.json['model'];
      if (typeof model !== 'string' || model === '') throw new GatewayError('missing_model', 'the request body needs "model": a pool key or an Llm name (see GET /v1/models)', 'model');
      if (!mayCall(principal, model)) throw new GatewayError('permission_denied', `token ${JSON.stringify(principal?.name ?? '')} may not call ${JSON.stringify(model)}: allowed names are ${(principal?.names ?? []).join(', ')}`, 'model');
      const target = deps.routes().lookup(model);
      if (target === null) throw new GatewayError('model_not_found', `the model ${JSON.stringify(model)} is no pool key and no Llm name this gateway knows (see GET /v1/models)`, 'model');
      // From here on the proxy owns the response: it streams the upstream's bytes as they come.
      proxy.forward({ target, body, path: upstreamPath, headers: req.headers, startedAtMs }, res).catch((error: unknown) => failed(res, error));
    } catch (error) {
      failed(res, error);
    }
  };

  forwardRoute = (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    // A Map, not an object: the path is a fresh string, which a property lookup would first
    // look up in V8's string table (bench/gateway's profile).
    const upstreamPath = FORWARDED.get(query === -1 ? url : url.slice(0, query));
    if (upstreamPath === undefined) return false;
    const startedAtMs = now();
    if (app.log.level === 'debug' || app.log.level === 'trace') {
      // fastify's request logs, for the routes it does not see.
      app.log.debug({ req: { method: req.method, url } }, 'incoming request');
      res.once('close', () => app.log.debug({ res: { statusCode: res.statusCode }, responseTime: now() - startedAtMs }, res.writableFinished ? 'request completed' : 'request closed before its answer ended'));
    }
    readBody(req, res, deps.maxBodyBytes, (bytes) => forward(req, res, upstreamPath, bytes, startedAtMs));
    return true;
  };
  return { app, states, metrics };
}

function refuseWhileClosing(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close');
  writeError(res, new GatewayError('gateway_closing', 'the gateway is shutting down: retry on another gateway'));
  req.resume();
}

/**
 * Collects the request body up to `limit` bytes, then calls `done`. A body over the limit (by its
 * Content-Length, or as it comes) is answered 413 at once and the connection closed after it;
 * a client that goes away mid-body gets nothing.
 */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number, done: (body: Buffer) => void): void {
  const tooLarge = (): void => {
    res.setHeader('connection', 'close');
    writeError(res, new GatewayError('request_too_large', `the request body exceeds --max-body (${limit} bytes)`));
    req.resume();
  };
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    tooLarge();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > limit) {
      over = true;
      chunks.length = 0;
      tooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
}

function parseBody(bytes: Buffer): RequestBody {
  if (bytes.length === 0) throw new GatewayError('invalid_json', 'the request has no body: send a JSON object with "model"', null);
  const body = RequestBody.parse(bytes);
  if (body instanceof RequestBody) return body;
  throw new GatewayError('invalid_json', body.problem, null);
}

function classifyError(error: FastifyError | GatewayError | Error, maxBodyBytes: number): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = 'code' in error ? error.code : undefined;
  const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) return new GatewayError('request_too_large', `the request body exceeds --max-body (${maxBodyBytes} bytes)`);
  if (statusCode >= 400 && statusCode < 500) return new GatewayError('invalid_json', error.message);
  return new GatewayError('internal_error', 'internal error in the gateway (this is a bug; the log has the details)');
}
