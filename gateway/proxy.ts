// The thin shell around routing.ts: sends one client request to a member through undici, retries
// on another member while nothing has reached the client, and passes the upstream answer through
// byte for byte (streamed or not), with x-mcpctl-pool and x-mcpctl-member added. The client going
// away aborts the upstream request at once: a GPU must not keep generating for nobody.
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatewayError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import type { MemberStates } from './member-states.js';
import type { RequestBody } from './request-body.js';
import type { RouteTarget } from './route-table.js';
import { endRequest, parseRetryAfterMs, pickMember, recordFailure, recordSuccess, startRequest, type RouteMember, type Strategy } from './routing.js';

export interface ProxySettings {
  strategy: Strategy;
  /** Attempts on other members after the first one fails (--retries). */
  retries: number;
  /** --cooldown. */
  cooldownMs: number;
  /** --timeout: the longest wait for the answer's headers, and between two chunks of its body. */
  timeoutMs: number;
}

export interface ProxyDeps {
  dispatcher: Dispatcher;
  states: MemberStates;
  metrics: GatewayMetrics;
  settings: ProxySettings;
  /** Where `spec.apiKeyRef.env` is read: the gateway's environment. */
  env: Readonly<Record<string, string | undefined>>;
  now(): number;
  random(): number;
  /** Routable members of a pool now (a pool of one never cools down). */
  poolSize(pool: string): number;
  log(level: 'info' | 'warn', line: string): void;
}

export interface ForwardRequest {
  target: RouteTarget;
  /** The client's body; each member gets it with `model` replaced by its spec.model. */
  body: RequestBody;
  /** The path below the member's `/v1` base: `/chat/completions`, `/completions`, `/embeddings`. */
  path: string;
  headers: IncomingHttpHeaders;
  startedAtMs: number;
}

/** Client headers never sent upstream: hop-by-hop ones, the client's own credentials, the body's framing and encoding (the body is re-serialized). */
const REQUEST_HEADERS_DROPPED = new Set(['host', 'authorization', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'proxy-authorization', 'proxy-connection', 'te', 'upgrade', 'expect', 'cookie']);
/** Upstream headers never passed back: hop-by-hop ones (RFC 9110 §7.6.1). */
const RESPONSE_HEADERS_DROPPED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'te', 'trailer', 'upgrade']);

/**
 * The client went away: what undici's `signal` option takes besides an AbortSignal (an emitter of
 * 'abort'). An AbortController costs several µs to make and to listen to, on every request
 * (bench/gateway measured a third of the gateway's overhead over a bare proxy in it).
 */
class ClientGone extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

type AttemptOutcome = { kind: 'answered' } | { kind: 'gone' } | { kind: 'failed'; reason: string };

/** Seconds a client is told to wait when a pool has no routable member. */
const NO_MEMBER_RETRY_AFTER_S = 5;

export class PoolProxy {
  /** Round-robin position per target key. */
  private readonly turns = new Map<string, number>();
  private readonly bases = new Map<string, { origin: string; pathname: string }>();

  constructor(private readonly deps: ProxyDeps) {}

  /** Answers `res` in every case: the upstream's answer, or an OpenAI-shaped error. Never rejects. */
  async forward(request: ForwardRequest, res: ServerResponse): Promise<void> {
    const { target } = request;
    const { states, metrics, settings } = this.deps;
    const poolLabel = target.kind === 'pool' ? target.key : (target.routable[0]?.pool ?? target.key);
    if (target.routable.length === 0) {
      const why = target.size === 0 ? `pool ${JSON.stringify(target.key)} has no member` : `${target.kind} ${JSON.stringify(target.key)} has no active member (${target.size} known, none active)`;
      this.fail(res, poolLabel, '', new GatewayError('no_active_member', `${why}; retry later`, 'model', { 'retry-after': String(NO_MEMBER_RETRY_AFTER_S) }));
      return;
    }
    const gone = new ClientGone();
    const onClose = (): void => {
      if (!res.writableFinished) gone.abort();
    };
    res.on('close', onClose);
    const tried = new Set<string>();
    const failures: string[] = [];
    try {
      for (let attempt = 0; attempt <= settings.retries; attempt++) {
        if (gone.aborted) return this.gone(poolLabel, '', request.startedAtMs);
        const turn = this.turns.get(target.key) ?? 0;
        const member = pickMember({ candidates: target.routable, states: states.view(), exclude: tried, nowMs: this.deps.now(), strategy: settings.strategy, random: this.deps.random, turn });
        if (member === null) break;
        this.turns.set(target.key, turn + 1);
        tried.add(member.name);
        if (attempt > 0) metrics.retries.inc({ pool: poolLabel });
        const outcome = await this.attempt(member, request, res, gone);
        if (outcome.kind === 'answered') return;
        if (outcome.kind === 'gone') return this.gone(poolLabel, member.name, request.startedAtMs);
        failures.push(`${member.name} (${outcome.reason})`);
      }
      const tail = tried.size < target.routable.length ? '' : target.routable.length === 1 ? ' (its only member)' : ` (every member tried)`;
      this.fail(res, poolLabel, '', new GatewayError('upstream_error', `no member of ${target.kind} ${JSON.stringify(target.key)} answered${tail}: ${failures.join('; ')}`, null));
    } finally {
      res.off('close', onClose);
    }
  }

  private async attempt(member: RouteMember, request: ForwardRequest, res: ServerResponse, signal: ClientGone): Promise<AttemptOutcome> {
    const { states, metrics, settings } = this.deps;
    const base = this.baseOf(member.url);
    const body = request.body.withModel(member.model);
    states.update(member.name, startRequest);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      states.update(member.name, endRequest);
    };
    let answer: Dispatcher.ResponseData;
    try {
      answer = await this.deps.dispatcher.request({
        origin: base.origin,
        path: `${base.pathname}${request.path}`,
        method: 'POST',
        headers: this.upstreamHeaders(request.headers, member, body),
        body,
        signal,
        headersTimeout: settings.timeoutMs,
        bodyTimeout: settings.timeoutMs,
      });
    } catch (error) {
      end();
      if (signal.aborted) return { kind: 'gone' };
      const reason = reasonOf(error);
      this.memberFailed(member, reason, null);
      return { kind: 'failed', reason };
    }
    const status = answer.statusCode;
    if (status === 429 || status >= 500) {
      // dump(), not destroy(): a destroyed undici body emits an AbortError that, with no listener,
      // is an uncaught exception (the gateway died on a member's first 503); dump reads the small
      // error body away with a listener of its own and keeps the connection for the next request.
      void answer.body.dump();
      end();
      const retryAfter = status === 429 ? parseRetryAfterMs(headerText(answer.headers['retry-after']), this.deps.now()) : null;
      const reason = `HTTP ${status}`;
      this.memberFailed(member, reason, retryAfter);
      return { kind: 'failed', reason };
    }
    // Awaited, so that forward() keeps listening for the client going away until the answer ends:
    // that listener is what aborts the member's request mid-stream.
    return this.passThrough(member, answer, request, res, signal, end);
  }

  /**
   * Streams the upstream answer to the client as it arrives, with backpressure; resolves when the
   * attempt ended. The status line and headers go out with the first byte of the body, so that a
   * member that answers 200 and dies before sending anything is still retried on another member.
   */
  private passThrough(member: RouteMember, answer: Dispatcher.ResponseData, request: ForwardRequest, res: ServerResponse, signal: ClientGone, end: () => void): Promise<AttemptOutcome> {
    const { metrics } = this.deps;
    const pool = member.pool;
    const headers: OutgoingHttpHeaders = {};
    const upstream = answer.headers;
    // for…in, not Object.entries: no array per header on every request.
    for (const name in upstream) {
      const value = upstream[name];
      if (value !== undefined && !RESPONSE_HEADERS_DROPPED.has(name)) headers[name] = value;
    }
    headers['x-mcpctl-pool'] = pool;
    headers['x-mcpctl-member'] = member.name;
    let headersSent = false;
    const sendHeaders = (): void => {
      if (headersSent) return;
      headersSent = true;
      res.writeHead(answer.statusCode, headers);
    };
    const body = answer.body;
    let first = true;
    const firstByte = (): void => {
      if (!first) return;
      first = false;
      metrics.timeToFirstByte.observe({ pool }, (this.deps.now() - request.startedAtMs) / 1000);
    };
    let done: (outcome: AttemptOutcome) => void = () => undefined;
    const ended = new Promise<AttemptOutcome>((resolve) => (done = resolve));
    const finish = (status: string): void => {
      done({ kind: 'answered' });
      end();
      metrics.requests.inc({ pool, member: member.name, status });
      metrics.duration.observe({ pool }, (this.deps.now() - request.startedAtMs) / 1000);
    };
    const onDrain = (): void => void body.resume();
    res.on('drain', onDrain);
    body.on('data', (chunk: Buffer) => {
      sendHeaders();
      firstByte();
      if (!res.write(chunk)) body.pause();
    });
    body.on('end', () => {
      sendHeaders();
      firstByte();
      res.off('drain', onDrain);
      res.end();
      // A success once the whole answer came, not at its headers: a member whose streams keep
      // dying after the first chunk fails in a row, and cools down like any failing member.
      this.deps.states.update(member.name, recordSuccess);
      finish(String(answer.statusCode));
    });
    body.on('error', (error: Error) => {
      res.off('drain', onDrain);
      if (signal.aborted) {
        finish('499');
        return;
      }
      if (!headersSent) {
        // Nothing reached the client yet: a failure like a refused connection, tried elsewhere.
        end();
        const reason = `the answer broke off before its first byte: ${reasonOf(error)}`;
        this.memberFailed(member, reason, null);
        done({ kind: 'failed', reason });
        return;
      }
      // The member died mid-answer: too late to retry (bytes reached the client). A stream gets
      // an error event the OpenAI clients raise; any other answer is cut, so it cannot pass as whole.
      const reason = `the answer broke off: ${reasonOf(error)}`;
      this.memberFailed(member, reason, null);
      this.deps.log('warn', `${member.name}: ${reason}`);
      if (isEventStream(answer.headers) && !res.destroyed) {
        const event = new GatewayError('upstream_error', `member ${member.name} failed mid-stream: ${reasonOf(error)}`).body();
        res.end(`data: ${JSON.stringify(event)}\n\n`);
      } else {
        res.destroy();
      }
      finish('502');
    });
    return ended;
  }

  private memberFailed(member: RouteMember, reason: string, retryAfterMs: number | null): void {
    const nowMs = this.deps.now();
    const before = this.deps.states.get(member.name);
    const after = this.deps.states.update(member.name, (s) => recordFailure(s, { nowMs, cooldownMs: this.deps.settings.cooldownMs, reason, retryAfterMs, poolSize: this.deps.poolSize(member.pool) }));
    if (after.cooldown !== null && after.cooldown !== before.cooldown && after.cooldown.sinceMs === nowMs) {
      this.deps.metrics.cooldowns.inc({ pool: member.pool, member: member.name });
      this.deps.log('warn', `${member.name} cools down until ${new Date(after.cooldown.untilMs).toISOString()}: ${reason}`);
    }
  }

  private upstreamHeaders(client: IncomingHttpHeaders, member: RouteMember, body: string): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const name in client) {
      const value = client[name];
      if (value === undefined || REQUEST_HEADERS_DROPPED.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
    if (member.apiKeyEnv !== null) {
      const key = this.deps.env[member.apiKeyEnv];
      if (key !== undefined && key !== '') headers['authorization'] = `Bearer ${key}`;
    }
    return headers;
  }

  private baseOf(url: string): { origin: string; pathname: string } {
    let base = this.bases.get(url);
    if (base === undefined) {
      const parsed = new URL(url);
      base = { origin: parsed.origin, pathname: parsed.pathname.replace(/\/+$/, '') };
      this.bases.set(url, base);
    }
    return base;
  }

  private fail(res: ServerResponse, pool: string, member: string, error: GatewayError): void {
    this.deps.metrics.requests.inc({ pool, member, status: String(error.status) });
    writeError(res, error);
  }

  private gone(pool: string, member: string, startedAtMs: number): void {
    this.deps.metrics.requests.inc({ pool, member, status: '499' });
    this.deps.metrics.duration.observe({ pool }, (this.deps.now() - startedAtMs) / 1000);
  }
}

/** Writes an OpenAI-shaped error on a raw response (after fastify handed it over). */
export function writeError(res: ServerResponse, error: GatewayError): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(error.body());
  res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...error.headers });
  res.end(text);
}

function isEventStream(headers: IncomingHttpHeaders): boolean {
  return /^text\/event-stream/i.test(headerText(headers['content-type']) ?? '');
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A short reason for a failed attempt: `connect ECONNREFUSED`, `no answer within 10m`, … */
export function reasonOf(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  switch (e.code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect timed out';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'no answer within --timeout';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'the answer stalled longer than --timeout';
    case 'UND_ERR_SOCKET':
      return 'connection closed by the member';
    case undefined:
      break;
    default:
      if (/^E[A-Z]+$/.test(e.code)) return `connect ${e.code}`;
  }
  if (e.cause?.code !== undefined) return `connect ${e.cause.code}`;
  return e.message ?? String(error);
}
