// The one way to a running reconciler over HTTP: the read API, /sync and the /watch stream. Every
// answer is parsed with its route's schema (schema/views.ts); failures are the typed errors of
// errors.ts. Headless: the CLI, the TUI and the gateway share it, and each maps its errors.
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import {
  healthAnswerSchema,
  llmListAnswerSchema,
  llmViewSchema,
  membersAnswerSchema,
  poolListAnswerSchema,
  statusAnswerSchema,
  syncAnswerSchema,
  type HealthAnswer,
  type LlmListAnswer,
  type LlmView,
  type MembersAnswer,
  type PoolListAnswer,
  type StatusAnswer,
  type SyncAnswer,
} from '../schema/views.js';
import type { DeclaredAnswer } from '../schema/declared.js';
import { ClientError, HttpError, InvalidServerUrl, MalformedAnswer, ReconcilerUnreachable } from './errors.js';
import { causeOf, errorFieldsOf, isOk, readBody, sendRequest, type ExchangeLimits } from './http-exchange.js';
import { parseAnswer } from './parse-answer.js';
import { WatchStreamParser, type WatchEvent } from './watch-stream.js';

export interface ClientOptions {
  server: string;
  token?: string | undefined;
  /** The longest a read may take; default 10 s. */
  timeoutMs?: number;
  /** The longest POST /sync may take; default SYNC_TIMEOUT_MS. */
  syncTimeoutMs?: number;
}

/**
 * How long `POST /sync` may take: a sync reads Git (a fetch from the remote, maybe slow), and on a
 * fleet over etcd a follower waits up to 60 s for the leader's answer. Longer than that, so that
 * the reconciler's own error ("the leader did not answer within 60 s …") reaches the user rather
 * than a timeout that would read as an unreachable reconciler.
 */
export const SYNC_TIMEOUT_MS = 75_000;

/** What a reconciler answers, as its users see it; ReconcilerClient is the one over HTTP. */
export interface ReconcilerApi {
  /** The base URL, without a trailing slash. */
  readonly server: string;
  listLlms(pool?: string): Promise<LlmListAnswer>;
  /** Null when the reconciler answers 404 LlmNotFound. */
  getLlm(name: string): Promise<LlmView | null>;
  /** Null when the reconciler answers 404 LlmNotFound. */
  members(name: string): Promise<MembersAnswer | null>;
  listPools(): Promise<PoolListAnswer>;
  status(): Promise<StatusAnswer>;
  health(): Promise<HealthAnswer>;
  sync(): Promise<SyncAnswer>;
  /** The served revision's declared resources, with their places (what `plan` compares against). */
  declared(): Promise<DeclaredAnswer>;
  /** Reads /api/v1/watch until `signal` aborts, calling `onEvent` per well-formed event. */
  watch(onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

export class ReconcilerClient implements ReconcilerApi {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.server.replace(/\/+$/, '');
  }

  get server(): string {
    return this.base;
  }

  listLlms(pool?: string): Promise<LlmListAnswer> {
    return this.request('GET', `/api/v1/llms${pool === undefined ? '' : `?pool=${encodeURIComponent(pool)}`}`, llmListAnswerSchema);
  }

  /** Null when the reconciler answers 404 LlmNotFound. */
  getLlm(name: string): Promise<LlmView | null> {
    return this.requestOrNull('GET', `/api/v1/llms/${encodeURIComponent(name)}`, llmViewSchema);
  }

  members(name: string): Promise<MembersAnswer | null> {
    return this.requestOrNull('GET', `/api/v1/llms/${encodeURIComponent(name)}/members`, membersAnswerSchema);
  }

  listPools(): Promise<PoolListAnswer> {
    return this.request('GET', '/api/v1/pools', poolListAnswerSchema);
  }

  status(): Promise<StatusAnswer> {
    return this.request('GET', '/api/v1/status', statusAnswerSchema);
  }

  health(): Promise<HealthAnswer> {
    return this.request('GET', '/healthz', healthAnswerSchema);
  }

  sync(): Promise<SyncAnswer> {
    return this.request('POST', '/api/v1/sync', syncAnswerSchema, {}, this.options.syncTimeoutMs ?? SYNC_TIMEOUT_MS);
  }

  async declared(): Promise<DeclaredAnswer> {
    // Loaded here: its schema builds the resource schemas, which only plan needs (not `get`).
    const { declaredAnswerSchema } = await import('../schema/declared.js');
    return this.request('GET', '/api/v1/declared', declaredAnswerSchema);
  }

  async watch(onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    let response: IncomingMessage;
    try {
      response = await this.send('GET', '/api/v1/watch', undefined, { signal });
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ClientError) throw error;
      throw new ReconcilerUnreachable(this.base, causeOf(error));
    }
    if (!isOk(response)) throw this.errorOf(response, await readBody(response));
    response.setEncoding('utf8');
    const parser = new WatchStreamParser(onEvent);
    try {
      for await (const chunk of response) parser.push(chunk as string);
    } catch (error) {
      if (signal.aborted) return;
      throw new ReconcilerUnreachable(this.base, causeOf(error));
    }
  }

  private async requestOrNull<S extends z.ZodType>(method: string, path: string, schema: S): Promise<z.output<S> | null> {
    try {
      return await this.request(method, path, schema);
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) return null;
      throw error;
    }
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token !== undefined && this.options.token !== '') headers.authorization = `Bearer ${this.options.token}`;
    return headers;
  }

  private async request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown, timeoutMs = this.options.timeoutMs ?? 10_000): Promise<z.output<S>> {
    let text: string;
    let response: IncomingMessage;
    try {
      response = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body), { timeoutMs });
      text = await readBody(response);
    } catch (error) {
      if (error instanceof ClientError) throw error;
      throw new ReconcilerUnreachable(this.base, causeOf(error));
    }
    if (!isOk(response)) throw this.errorOf(response, text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new MalformedAnswer(`${this.base}${path} answered ${response.statusCode ?? '?'} with a body that is not JSON`);
    }
    return parseAnswer(schema, value, `${method} ${this.base}${path}`);
  }

  private send(method: string, path: string, body: string | undefined, limits: ExchangeLimits): Promise<IncomingMessage> {
    let url: URL;
    try {
      url = new URL(`${this.base}${path}`);
    } catch {
      throw new InvalidServerUrl(this.base);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidServerUrl(this.base);
    const headers = this.headers();
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return sendRequest(url, method, headers, body, limits);
  }

  private errorOf(response: IncomingMessage, text: string): HttpError {
    const { status, code, message } = errorFieldsOf(response, text);
    return new HttpError(status, code, `${this.base} answered ${status} ${code}: ${message}`);
  }
}
