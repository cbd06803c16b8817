// A pool gateway's own state over HTTP (GET /v1/mcpctl/state): requests in flight and cooldowns
// per member, parsed with schema/gateway.ts. Headless, like reconciler-client.ts: node:http(s),
// not the global fetch (loading undici would cost `get` its start-up budget), and typed errors.
import type { IncomingMessage } from 'node:http';
import { errorAnswerSchema } from '../schema/views.js';
import { gatewayStateAnswerSchema, type GatewayStateAnswer } from '../schema/gateway.js';
import { ClientError, GatewayUnreachable, HttpError, InvalidGatewayUrl, MalformedAnswer } from './errors.js';
import { parseAnswer } from './parse-answer.js';

export interface GatewayClientOptions {
  /** The gateway's base URL (`http://127.0.0.1:7430`); a trailing `/` or `/v1` is dropped. */
  gateway: string;
  /** A token with use:llms or view:llms, for a gateway started with --auth. */
  token?: string | undefined;
  timeoutMs?: number;
}

export const STATE_PATH = '/v1/mcpctl/state';

/** What a gateway answers about itself, as its readers see it; GatewayClient is the one over HTTP. */
export interface GatewayApi {
  /** The base URL, without a trailing slash or `/v1`. */
  readonly gateway: string;
  state(): Promise<GatewayStateAnswer>;
}

export class GatewayClient implements GatewayApi {
  private readonly base: string;

  constructor(private readonly options: GatewayClientOptions) {
    // People paste the OpenAI base URL (`…/v1`) as readily as the gateway's own.
    this.base = options.gateway.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  /** The base URL, without a trailing slash or `/v1`: how messages name this gateway. */
  get gateway(): string {
    return this.base;
  }

  async state(): Promise<GatewayStateAnswer> {
    let url: URL;
    try {
      url = new URL(`${this.base}${STATE_PATH}`);
    } catch {
      throw new InvalidGatewayUrl(this.options.gateway);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidGatewayUrl(this.options.gateway);
    let response: IncomingMessage;
    let text: string;
    try {
      response = await this.send(url);
      text = await readBody(response);
    } catch (error) {
      if (error instanceof ClientError) throw error;
      throw new GatewayUnreachable(this.base, causeOf(error));
    }
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw httpErrorOf(this.base, response, text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new MalformedAnswer(`${this.base}${STATE_PATH} answered ${status} with a body that is not JSON`);
    }
    return parseAnswer(gatewayStateAnswerSchema, value, `GET ${this.base}${STATE_PATH}`);
  }

  private async send(url: URL): Promise<IncomingMessage> {
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token !== undefined && this.options.token !== '') headers.authorization = `Bearer ${this.options.token}`;
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { method: 'GET', headers }, resolve);
      req.on('error', reject);
      // The whole exchange: a gateway that accepts and never answers is unreachable too.
      const timer = setTimeout(() => req.destroy(new TimeoutError()), timeoutMs);
      timer.unref();
      req.on('close', () => clearTimeout(timer));
      req.end();
    });
  }
}

/** The gateway's error (OpenAI's shape carries `code` and `message` as ours does), or its status line. */
function httpErrorOf(base: string, response: IncomingMessage, text: string): HttpError {
  const status = response.statusCode ?? 0;
  let code = `HTTP${status}`;
  let message = response.statusMessage ?? '';
  let value: unknown = null;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's page): keep the status line.
  }
  const body = errorAnswerSchema.safeParse(value);
  if (body.success) {
    if (body.data.error.code) code = body.data.error.code;
    if (body.data.error.message) message = body.data.error.message;
  }
  return new HttpError(status, code, `the gateway at ${base} answered ${status} ${code}: ${message}`);
}

class TimeoutError extends Error {
  constructor() {
    super('timed out');
    this.name = 'TimeoutError';
  }
}

async function readBody(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += chunk as string;
  return text;
}

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
