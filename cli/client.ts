// The one module through which the CLI reaches a running reconciler (HTTP only).
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
    let response: Response;
    try {
      response = await fetch(`${this.base}/api/v1/watch`, { headers: this.headers(), signal });
    } catch (error) {
      if (signal.aborted) return;
      throw new UnreachableError(this.base, causeOf(error));
    }
    if (!response.ok || response.body === null) throw await this.errorOf(response);
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
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
    const headers = this.headers();
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new UnreachableError(this.base, causeOf(error));
    }
    if (!response.ok) throw await this.errorOf(response);
    return (await response.json()) as T;
  }

  private async errorOf(response: Response): Promise<HttpError> {
    let code = `HTTP${response.status}`;
    let message = response.statusText;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      if (body.error?.code) code = body.error.code;
      if (body.error?.message) message = body.error.message;
    } catch {
      // Not our error shape: keep the status line.
    }
    return new HttpError(response.status, code, `${this.base} answered ${response.status} ${code}: ${message}`);
  }
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

function causeOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return cause.code;
    if (error.name === 'TimeoutError') return 'timed out';
    return cause?.message ?? error.message;
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
