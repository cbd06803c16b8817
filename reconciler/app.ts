// The reconciler's HTTP service: buildApp returns a fastify instance that is not listening; the
// command only calls listen. Routes are plugins under /api/v1; services come in as decorations.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ZodError } from 'zod';
import type { AuthConfig } from '../service/auth.js';
import { RequestLogsAtDebug } from '../service/request-logs.js';
import { authPlugin } from './auth-plugin.js';
import { StoreUnavailable } from './lease-store.js';
import { ApiError, describeZodError, ERROR_CODES, errorBodyOf, type ErrorCode } from './errors.js';
import { agentRoutes } from './routes/agents.js';
import { declaredRoutes } from './routes/declared.js';
import { healthRoutes } from './routes/health.js';
import { llmRoutes } from './routes/llms.js';
import { planRoutes } from './routes/plan.js';
import { poolRoutes } from './routes/pools.js';
import { statusRoutes } from './routes/status.js';
import { syncRoutes } from './routes/sync.js';
import { watchRoutes } from './routes/watch.js';
import type { ReconcilerServices } from './services.js';
import { servicesPlugin } from './services-plugin.js';

export const BODY_LIMIT_BYTES = 64 * 1024;
export const API_PREFIX = '/api/v1';
/** Seconds an agent is asked to wait after 503 StoreUnavailable: the store is probed every second. */
export const STORE_RETRY_AFTER_SECONDS = 1;

export interface AppDeps {
  services: ReconcilerServices;
  /** Null: no tokens (the command allows that on loopback only). */
  auth: AuthConfig | null;
  /** fastify's logger option: false (tests), or pino options such as `{level, stream}`. */
  logger?: FastifyServerOptions['logger'];
  /** Interval of the /watch keep-alive comment; 15 s by default. */
  watchKeepAliveMs?: number;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    logController: new RequestLogsAtDebug(),
    return503OnClosing: true,
    forceCloseConnections: true,
  });

  // Our own JSON parser: an empty body is "no body" (POST /sync from curl -H content-type),
  // and a malformed one is a 400 in the error shape. Bodies are validated by zod strict
  // schemas, which copy into fresh objects and refuse unknown keys such as __proto__.
  app.removeContentTypeParser('application/json');
  // Fastify parses text/plain by default; the API takes JSON only (415 for anything else).
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (isBlank(text)) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new ApiError('InvalidRequest', `malformed JSON body: ${(error as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | ApiError | ZodError | Error, request, reply) => {
    const { code, message } = classifyError(error);
    const status = ERROR_CODES[code].status;
    if (code === 'StoreUnavailable') {
      // One per agent beat while etcd is away: the store logs the outage once, when it starts.
      request.log.debug({ code, message }, 'request refused');
      reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
    } else if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.debug({ code, message }, 'request refused');
    return reply.code(status).send(errorBodyOf(code, message));
  });
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(errorBodyOf('NotFound', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`));
  });

  await app.register(servicesPlugin, { services: deps.services });
  if (deps.auth !== null) await app.register(authPlugin, { auth: deps.auth });
  await app.register(healthRoutes);
  await app.register(llmRoutes, { prefix: API_PREFIX });
  await app.register(poolRoutes, { prefix: API_PREFIX });
  await app.register(planRoutes, { prefix: API_PREFIX });
  await app.register(declaredRoutes, { prefix: API_PREFIX });
  await app.register(statusRoutes, { prefix: API_PREFIX });
  await app.register(syncRoutes, { prefix: API_PREFIX });
  await app.register(watchRoutes, { prefix: API_PREFIX, keepAliveMs: deps.watchKeepAliveMs ?? 15_000 });
  await app.register(agentRoutes, { prefix: API_PREFIX });
  return app;
}

/** Whether the body is empty or whitespace only, without copying it (every heartbeat passes here). */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A body starts with `{` nearly always; anything else odd gets trim's full notion of space.
    if (c === 0x7b) return false;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return text.trim() === '';
  }
  return true;
}

function classifyError(error: FastifyError | ApiError | ZodError | Error): { code: ErrorCode; message: string } {
  if (error instanceof ApiError) return { code: error.code, message: error.message };
  if (error instanceof ZodError) return { code: 'InvalidRequest', message: describeZodError(error) };
  if (error instanceof StoreUnavailable) {
    return { code: 'StoreUnavailable', message: `${error.message}: this reconciler serves reads only until it answers; retry in a moment, or at another reconciler` };
  }
  const fastifyCode = 'code' in error ? error.code : undefined;
  switch (fastifyCode) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'PayloadTooLarge', message: `request body exceeds ${BODY_LIMIT_BYTES / 1024} KiB` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UnsupportedMediaType', message: 'request bodies must be application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'InvalidRequest', message: error.message };
    default:
      break;
  }
  const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (statusCode === 413) return { code: 'PayloadTooLarge', message: `request body exceeds ${BODY_LIMIT_BYTES / 1024} KiB` };
  if (statusCode === 415) return { code: 'UnsupportedMediaType', message: 'request bodies must be application/json' };
  if (statusCode === 404) return { code: 'NotFound', message: error.message };
  if (statusCode >= 400 && statusCode < 500) return { code: 'InvalidRequest', message: error.message };
  return { code: 'Internal', message: 'internal error in the reconciler (this is a bug; the log has the details)' };
}
