// A pool gateway's own state over HTTP (GET /v1/mcpctl/state): requests in flight and cooldowns
// per member, parsed with schema/gateway.ts. Headless, like reconciler-client.ts, over the same
// exchange (http-exchange.ts), with typed errors.
import type { IncomingMessage } from 'node:http';
import { gatewayStateAnswerSchema, type GatewayStateAnswer } from '../schema/gateway.js';
import { ClientError, GatewayUnreachable, HttpError, InvalidGatewayUrl, MalformedAnswer } from './errors.js';
import { causeOf, errorFieldsOf, isOk, readBody, sendRequest } from './http-exchange.js';
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
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.options.token !== undefined && this.options.token !== '') headers.authorization = `Bearer ${this.options.token}`;
      response = await sendRequest(url, 'GET', headers, undefined, { timeoutMs: this.options.timeoutMs ?? 5_000 });
      text = await readBody(response);
    } catch (error) {
      if (error instanceof ClientError) throw error;
      throw new GatewayUnreachable(this.base, causeOf(error));
    }
    const status = response.statusCode ?? 0;
    if (!isOk(response)) throw httpErrorOf(this.base, response, text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new MalformedAnswer(`${this.base}${STATE_PATH} answered ${status} with a body that is not JSON`);
    }
    return parseAnswer(gatewayStateAnswerSchema, value, `GET ${this.base}${STATE_PATH}`);
  }
}

/** The gateway's error (OpenAI's shape carries `code` and `message` as ours does), or its status line. */
function httpErrorOf(base: string, response: IncomingMessage, text: string): HttpError {
  const { status, code, message } = errorFieldsOf(response, text);
  return new HttpError(status, code, `the gateway at ${base} answered ${status} ${code}: ${message}`);
}
