// The thin shell around routing.ts: sends one client request to a member through undici, retries
// on another member while nothing has reached the client, and passes the upstream answer through
// byte for byte (streamed or not), with x-mcpctl-pool and x-mcpctl-member added. The client going
// away aborts the upstream request at once: a GPU must not keep generating for nobody.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
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

/** A member URL taken apart once: its origin, its base path, and the upstream path of each route below it. */
interface MemberBase {
  origin: string;
  pathname: string;
  paths: Map<string, string>;
}

/** `/v1/chat/completions` for the route `/chat/completions` below `/v1`, joined once per member. */
function upstreamPath(base: MemberBase, route: string): string {
  let path = base.paths.get(route);
  if (path === undefined) base.paths.set(route, (path = `${base.pathname}${route}`));
  return path;
}

/** Client headers never sent upstream: hop-by-hop ones, the client's own credentials, the body's framing and encoding (the body's `model` is replaced). */
const REQUEST_HEADERS_DROPPED = new Set(['host', 'authorization', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'proxy-authorization', 'proxy-connection', 'te', 'upgrade', 'expect', 'cookie']);
/** Upstream headers never passed back: hop-by-hop ones (RFC 9110 §7.6.1). */
const RESPONSE_HEADERS_DROPPED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'te', 'trailer', 'upgrade']);
const DROPPED_OR_TYPE_LENGTHS = new Set([...RESPONSE_HEADERS_DROPPED, 'content-type'].map((name) => name.length));

type AttemptOutcome = { kind: 'answered' } | { kind: 'gone' } | { kind: 'failed'; reason: string };

const NOTHING_TRIED: ReadonlySet<string> = new Set();

/** Seconds a client is told to wait when a pool has no routable member. */
const NO_MEMBER_RETRY_AFTER_S = 5;

/** Whether the client went away, and the attempt to abort when it does. */
interface ClientWatch {
  gone: boolean;
  attempt: UpstreamAttempt | null;
}

export class PoolProxy {
  /** Round-robin position per target key. */
  private readonly turns = new Map<string, number>();
  private readonly bases = new Map<string, MemberBase>();

  constructor(readonly deps: ProxyDeps) {}

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
    const client: ClientWatch = { gone: false, attempt: null };
    const onClose = (): void => {
      if (res.writableFinished) return;
      client.gone = true;
      client.attempt?.cancel();
    };
    res.on('close', onClose);
    // Made on a first failure only: most requests are answered by the first member.
    let tried: ReadonlySet<string> = NOTHING_TRIED;
    const failures: string[] = [];
    try {
      for (let attempt = 0; attempt <= settings.retries; attempt++) {
        if (client.gone) return this.gone(poolLabel, '', request.startedAtMs);
        const turn = this.turns.get(target.key) ?? 0;
        const member = pickMember({ candidates: target.routable, states: states.view(), exclude: tried, nowMs: this.deps.now(), strategy: settings.strategy, random: this.deps.random, turn });
        if (member === null) break;
        this.turns.set(target.key, turn + 1);
        if (attempt > 0) metrics.retries.inc({ pool: poolLabel });
        const outcome = await this.attempt(member, request, res, client);
        if (outcome.kind === 'answered') return;
        if (outcome.kind === 'gone') return this.gone(poolLabel, member.name, request.startedAtMs);
        failures.push(`${member.name} (${outcome.reason})`);
        tried = new Set([...tried, member.name]);
      }
      const tail = tried.size < target.routable.length ? '' : target.routable.length === 1 ? ' (its only member)' : ` (every member tried)`;
      this.fail(res, poolLabel, '', new GatewayError('upstream_error', `no member of ${target.kind} ${JSON.stringify(target.key)} answered${tail}: ${failures.join('; ')}`, null));
    } finally {
      client.attempt = null;
      res.off('close', onClose);
    }
  }

  /**
   * One attempt on `member`, through undici's dispatch with a handler of its own (no body stream,
   * and this one promise instead of several: bench/gateway measured 7–10 µs of CPU less a request
   * than with undici's `request()`); resolves with how it ended.
   */
  private attempt(member: RouteMember, request: ForwardRequest, res: ServerResponse, client: ClientWatch): Promise<AttemptOutcome> {
    const { settings } = this.deps;
    const base = this.baseOf(member.url);
    const body = request.body.withModel(member.model);
    this.deps.states.update(member.name, startRequest);
    return new Promise((resolve) => {
      const attempt = new UpstreamAttempt(this, member, request, res, resolve);
      client.attempt = attempt;
      this.deps.dispatcher.dispatch(
        { origin: base.origin, path: upstreamPath(base, request.path), method: 'POST', headers: this.upstreamHeaders(request.headers, member, body), body, headersTimeout: settings.timeoutMs, bodyTimeout: settings.timeoutMs },
        attempt,
      );
    });
  }

  memberFailed(member: RouteMember, reason: string, retryAfterMs: number | null): void {
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

  private baseOf(url: string): MemberBase {
    let base = this.bases.get(url);
    if (base === undefined) {
      const parsed = new URL(url);
      base = { origin: parsed.origin, pathname: parsed.pathname.replace(/\/+$/, ''), paths: new Map() };
      this.bases.set(url, base);
    }
    return base;
  }

  private fail(res: ServerResponse, pool: string, member: string, error: GatewayError): void {
    this.deps.metrics.requests.inc(pool, member, String(error.status));
    writeError(res, error);
  }

  private gone(pool: string, member: string, startedAtMs: number): void {
    this.deps.metrics.requests.inc(pool, member, '499');
    this.deps.metrics.duration.observe(pool, (this.deps.now() - startedAtMs) / 1000);
  }
}

/**
 * One request to a member, as undici's dispatch handler: the member's answer is passed through to
 * the client as it comes, with backpressure. The status line and headers go out with the first
 * body byte, so that a member that answers 200 and dies before sending anything is still retried
 * on another member; a 429 or 5xx is a failure to retry at once (its body is read away, which
 * keeps the connection for the next request).
 */
class UpstreamAttempt implements Dispatcher.DispatchHandler {
  private abortUpstream: ((reason: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private cancelled = false;
  /** Set once the outcome is known (forward() goes on); what comes after is only read away or written. */
  private settled = false;
  private inFlight = true;
  private status = 0;
  /** The answer's headers for the client, as a flat name/value list; null until an answer to pass through came. */
  private headers: string[] | null = null;
  private contentType = '';
  private headersSent = false;
  private readonly onDrain = (): void => this.resumeUpstream?.();

  constructor(
    private readonly proxy: PoolProxy,
    private readonly member: RouteMember,
    private readonly request: ForwardRequest,
    private readonly res: ServerResponse,
    private readonly resolve: (outcome: AttemptOutcome) => void,
  ) {}

  /** The client went away: the member's request is aborted (undici then calls onError). */
  cancel(): void {
    this.cancelled = true;
    this.abortUpstream?.(new Error('the client went away'));
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.cancelled) abort(new Error('the client went away'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resumeUpstream = resume;
    const { deps } = this.proxy;
    if (statusCode === 429 || statusCode >= 500) {
      const retryAfter = statusCode === 429 ? parseRetryAfterMs(rawHeader(rawHeaders, 'retry-after'), deps.now()) : null;
      const reason = `HTTP ${statusCode}`;
      this.endInFlight();
      this.proxy.memberFailed(this.member, reason, retryAfter);
      this.settle({ kind: 'failed', reason });
      return true;
    }
    this.status = statusCode;
    const headers: string[] = [];
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as Buffer).toString('latin1');
      // Lower-cased only when its length is one of a dropped name's or content-type's.
      const lower = DROPPED_OR_TYPE_LENGTHS.has(name.length) ? name.toLowerCase() : '';
      if (lower !== '' && RESPONSE_HEADERS_DROPPED.has(lower)) continue;
      const value = (rawHeaders[i + 1] as Buffer).toString('latin1');
      if (lower === 'content-type') this.contentType = value;
      headers.push(name, value);
    }
    headers.push('x-mcpctl-pool', this.member.pool, 'x-mcpctl-member', this.member.name);
    this.headers = headers;
    this.res.on('drain', this.onDrain);
    return true;
  }

  onData(chunk: Buffer): boolean {
    // An error answer being read away.
    if (this.headers === null) return true;
    this.sendHeaders();
    return this.res.write(chunk);
  }

  onComplete(): void {
    if (this.headers === null) return;
    this.sendHeaders();
    this.res.off('drain', this.onDrain);
    this.res.end();
    // A success once the whole answer came, not at its headers: a member whose streams keep
    // dying after the first chunk fails in a row, and cools down like any failing member.
    this.proxy.deps.states.update(this.member.name, recordSuccess);
    this.finish(String(this.status));
  }

  onError(error: Error): void {
    this.res.off('drain', this.onDrain);
    // The rest of an error answer could not be read away: it was answered already.
    if (this.settled) return;
    const { member, res } = this;
    if (this.cancelled) {
      if (this.headers !== null) this.finish('499');
      else {
        this.endInFlight();
        this.settle({ kind: 'gone' });
      }
      return;
    }
    if (!this.headersSent) {
      // Nothing reached the client yet: a failure like a refused connection, tried elsewhere.
      const reason = this.headers === null ? reasonOf(error) : `the answer broke off before its first byte: ${reasonOf(error)}`;
      this.endInFlight();
      this.proxy.memberFailed(member, reason, null);
      this.settle({ kind: 'failed', reason });
      return;
    }
    // The member died mid-answer: too late to retry (bytes reached the client). A stream gets
    // an error event the OpenAI clients raise; any other answer is cut, so it cannot pass as whole.
    const reason = `the answer broke off: ${reasonOf(error)}`;
    this.proxy.memberFailed(member, reason, null);
    this.proxy.deps.log('warn', `${member.name}: ${reason}`);
    if (/^text\/event-stream/i.test(this.contentType) && !res.destroyed) {
      const event = new GatewayError('upstream_error', `member ${member.name} failed mid-stream: ${reasonOf(error)}`).body();
      res.end(`data: ${JSON.stringify(event)}\n\n`);
    } else {
      res.destroy();
    }
    this.finish('502');
  }

  /** The status line and headers, with the first body byte (or the end of an empty body). */
  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const { deps } = this.proxy;
    deps.metrics.timeToFirstByte.observe(this.member.pool, (deps.now() - this.request.startedAtMs) / 1000);
    this.res.writeHead(this.status, this.headers ?? []);
  }

  private finish(status: string): void {
    this.settle({ kind: 'answered' });
    this.endInFlight();
    const { metrics, now } = this.proxy.deps;
    metrics.requests.inc(this.member.pool, this.member.name, status);
    metrics.duration.observe(this.member.pool, (now() - this.request.startedAtMs) / 1000);
  }

  private endInFlight(): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    this.proxy.deps.states.update(this.member.name, endRequest);
  }

  private settle(outcome: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(outcome);
  }
}

/** The first value of a header in undici's raw list (names compared without case). */
function rawHeader(rawHeaders: Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as Buffer).toString('latin1').toLowerCase() === name) return (rawHeaders[i + 1] as Buffer).toString('latin1');
  }
  return undefined;
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
