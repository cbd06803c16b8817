// One HTTP exchange as the headless clients make it: node:http(s), not the global fetch (loading
// undici costs `mcpctl get` more start-up time than it is allowed), a timer on the whole exchange,
// the body read as text, and a short reason when there was no answer at all.
import type { IncomingMessage } from 'node:http';
import { errorAnswerSchema } from '../schema/views.js';

export interface ExchangeLimits {
  /** The whole exchange, not only the connect: a server that accepts and never answers is unreachable too. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Sends one request; resolves with the answer's head (read its body with readBody). */
export async function sendRequest(url: URL, method: string, headers: Record<string, string>, body: string | undefined, limits: ExchangeLimits): Promise<IncomingMessage> {
  // Not import(): on Node 26 the ES module facade of node:http reads every export, and its lazy
  // fetch and WebSocket getters load Node's bundled undici (≈10 ms of every command's start).
  const { request } = url.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { method, headers, ...(limits.signal === undefined ? {} : { signal: limits.signal }) }, resolve);
    req.on('error', reject);
    if (limits.timeoutMs !== undefined) {
      const timer = setTimeout(() => req.destroy(new TimeoutError()), limits.timeoutMs);
      timer.unref();
      req.on('close', () => clearTimeout(timer));
    }
    req.end(body);
  });
}

export class TimeoutError extends Error {
  constructor() {
    super('timed out');
    this.name = 'TimeoutError';
  }
}

export function isOk(response: IncomingMessage): boolean {
  const status = response.statusCode ?? 0;
  return status >= 200 && status < 300;
}

export async function readBody(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += chunk as string;
  return text;
}

/**
 * The error code and message of an error answer in our shape or OpenAI's (both carry
 * `error.code` and `error.message`); the status line when the body is neither (a proxy's page).
 */
export function errorFieldsOf(response: IncomingMessage, text: string): { status: number; code: string; message: string } {
  const status = response.statusCode ?? 0;
  let code = `HTTP${status}`;
  let message = response.statusMessage ?? '';
  let value: unknown = null;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: keep the status line.
  }
  const body = errorAnswerSchema.safeParse(value);
  if (body.success) {
    if (body.data.error.code) code = body.data.error.code;
    if (body.data.error.message) message = body.data.error.message;
  }
  return { status, code, message };
}

/** A short reason for a failed connection: the system error code (ECONNREFUSED) when there is one. */
export function causeOf(error: unknown): string {
  if (error instanceof Error) {
    const withCode = error as Error & { code?: string; cause?: { code?: string; message?: string } };
    if (error.name === 'TimeoutError') return 'timed out';
    if (typeof withCode.code === 'string' && withCode.code !== '') return withCode.code;
    if (withCode.cause?.code) return withCode.cause.code;
    return withCode.cause?.message ?? error.message;
  }
  return String(error);
}
