// The one module through which the CLI reaches a running reconciler (HTTP only).
import type { IncomingMessage } from 'node:http';
import type { Plan } from '../schema/plan.js';
import type { LlmView, MembersAnswer, PoolSummary, StatusAnswer } from '../schema/views.js';
import { CliError, UnreachableError } from './errors.js';

export interface ClientOptions {
  server: string;
  token?: string | undefined;
  timeoutMs?: number;
}

export interface SyncAnswer {
  revision: string | null;
  result: string;
  errors: { file: string; line: number; col: number; message: string }[];
}

export interface WatchEvent {
  event: 'ADDED' | 'MODIFIED' | 'DELETED' | 'STATUS';
  data: unknown;
}

export class ReconcilerClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.server.replace(/\/+$/, '');
  }

  get server(): string {
    return this.base;
  }

  listLlms(pool?: string): Promise<{ revision: string | null; items: LlmView[] }> {
    return this.request('GET', `/api/v1/llms${pool === undefined ? '' : `?pool=${encodeURIComponent(pool)}`}`);
  }

  /** Null when the reconciler answers 404 LlmNotFound. */
  async getLlm(name: string): Promise<LlmView | null> {
    return this.requestOrNull('GET', `/api/v1/llms/${encodeURIComponent(name)}`);
  }

  async members(name: string): Promise<MembersAnswer | null> {
    return this.requestOrNull('GET', `/api/v1/llms/${encodeURIComponent(name)}/members`);
  }

  listPools(): Promise<{ items: PoolSummary[] }> {
    return this.request('GET', '/api/v1/pools');
  }

  status(): Promise<StatusAnswer> {
    return this.request('GET', '/api/v1/status');
  }

  plan(): Promise<Plan> {
    return this.request('GET', '/api/v1/plan');
  }

  sync(): Promise<SyncAnswer> {
    return this.request('POST', '/api/v1/sync', {});
  }

  /** Reads /api/v1/watch until `signal` aborts, calling `onEvent` per server-sent event. */
  async watch(onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    let response: IncomingMessage;
    try {
      response = await this.send('GET', '/api/v1/watch', undefined, { signal });
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof CliError) throw error;
      throw new UnreachableError(this.base, causeOf(error));
    }
    if (!isOk(response)) throw this.errorOf(response, await readBody(response));
    response.setEncoding('utf8');
    let buffer = '';
    try {
      for await (const chunk of response) {
        buffer += chunk as string;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const parsed = parseSseBlock(block);
          if (parsed !== null) onEvent(parsed);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      throw new UnreachableError(this.base, causeOf(error));
    }
  }

  private async requestOrNull<T>(method: string, path: string): Promise<T | null> {
    try {
      return await this.request<T>(method, path);
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

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    let text: string;
    let response: IncomingMessage;
    try {
      response = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body), { timeoutMs });
      text = await readBody(response);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new UnreachableError(this.base, causeOf(error));
    }
    if (!isOk(response)) throw this.errorOf(response, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`${this.base}${path} answered ${response.statusCode ?? '?'} with a body that is not JSON`);
    }
  }

  /**
   * One request through node:http(s). Not the global fetch: on Node 20 loading undici costs more
   * start-up time than the whole of `mcpctl get` is allowed (bench/cli.ts).
   */
  private async send(method: string, path: string, body: string | undefined, limits: { timeoutMs?: number; signal?: AbortSignal }): Promise<IncomingMessage> {
    let url: URL;
    try {
      url = new URL(`${this.base}${path}`);
    } catch {
      throw new CliError(`--server: expected an http(s) URL, found ${JSON.stringify(this.base)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--server: expected an http(s) URL, found ${JSON.stringify(this.base)}`);
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    const headers = this.headers();
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { method, headers, ...(limits.signal === undefined ? {} : { signal: limits.signal }) }, resolve);
      req.on('error', reject);
      if (limits.timeoutMs !== undefined) {
        // The whole exchange, not only the connect: a reconciler that accepts and never answers is unreachable too.
        const timer = setTimeout(() => req.destroy(new TimeoutError()), limits.timeoutMs);
        timer.unref();
        req.on('close', () => clearTimeout(timer));
      }
      req.end(body);
    });
  }

  private errorOf(response: IncomingMessage, text: string): HttpError {
    const status = response.statusCode ?? 0;
    let code = `HTTP${status}`;
    let message = response.statusMessage ?? '';
    try {
      const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (body.error?.code) code = body.error.code;
      if (body.error?.message) message = body.error.message;
    } catch {
      // Not our error shape: keep the status line.
    }
    return new HttpError(status, code, `${this.base} answered ${status} ${code}: ${message}`);
  }
}

class TimeoutError extends Error {
  constructor() {
    super('timed out');
    this.name = 'TimeoutError';
  }
}

function isOk(response: IncomingMessage): boolean {
  const status = response.statusCode ?? 0;
  return status >= 200 && status < 300;
}

async function readBody(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += chunk as string;
  return text;
}

export class HttpError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A short reason for a failed connection: the system error code (ECONNREFUSED) when there is one. */
function causeOf(error: unknown): string {
  if (error instanceof Error) {
    const withCode = error as Error & { code?: string; cause?: { code?: string; message?: string } };
    if (error.name === 'TimeoutError') return 'timed out';
    if (typeof withCode.code === 'string' && withCode.code !== '') return withCode.code;
    if (withCode.cause?.code) return withCode.cause.code;
    return withCode.cause?.message ?? error.message;
  }
  return String(error);
}

export function parseSseBlock(block: string): WatchEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (event !== 'ADDED' && event !== 'MODIFIED' && event !== 'DELETED' && event !== 'STATUS') return null;
  try {
    return { event, data: JSON.parse(data.join('\n')) as unknown };
  } catch {
    return null;
  }
}
