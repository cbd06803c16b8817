// A small OpenAI-compatible stand-in for a model server, answering as vLLM's OpenAI server does:
// enough for the agent's probe and for the gateway's demo. Chat completions and completions, streamed
// (server-sent events, a few chunks a few ms apart, then `data: [DONE]`) or not, and embeddings.
// `setFailing(true)` makes it answer 503 until set back. With `metrics`, its `/metrics` are vLLM's
// load gauges, with figures that move from one scrape to the next.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StandinServerOptions {
  model: string;
  host?: string;
  port?: number;
  /** Serve vLLM-style load gauges at `/metrics` (the demo); otherwise `/metrics` is a 404. */
  metrics?: boolean;
  /** A random wait before each model answer (chat, completion, embedding), as a GPU would take; none by default. */
  answerDelayMs?: { min: number; max: number };
  /** The wait between two chunks of a streamed answer. */
  chunkIntervalMs?: number;
}

export interface StandinServer {
  /** Base URL of the OpenAI API, `http://127.0.0.1:PORT/v1`. */
  url: string;
  setFailing(failing: boolean): void;
  close(): Promise<void>;
}

/** The length of the stand-in's embedding vectors unless the request asks for `dimensions`. */
export const STANDIN_EMBEDDING_DIMENSIONS = 16;
const DEFAULT_CHUNK_INTERVAL_MS = 5;
const MAX_DIMENSIONS = 4096;

/** A request the stand-in refuses, answered 400 as vLLM does. */
class BadRequest extends Error {}

export async function startStandinServer(options: StandinServerOptions): Promise<StandinServer> {
  const host = options.host ?? '127.0.0.1';
  const chunkIntervalMs = options.chunkIntervalMs ?? DEFAULT_CHUNK_INTERVAL_MS;
  let failing = false;
  let answers = 0;
  let scrapes = 0;

  const server = createServer((request, response) => {
    // A client that goes away stops the wait and the stream: nothing is written for nobody.
    const closed = new AbortController();
    response.once('close', () => closed.abort());
    handle(request, response, closed.signal).catch((error: unknown) => {
      if (response.headersSent || closed.signal.aborted) response.destroy();
      else if (error instanceof BadRequest) sendJson(response, 400, { error: { message: error.message, type: 'invalid_request_error' } });
      else sendJson(response, 500, { error: { message: 'stand-in failed', type: 'server_error' } });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse, signal: AbortSignal): Promise<void> {
    const body = await readBody(request);
    const path = new URL(request.url ?? '/', 'http://standin').pathname;
    if (failing) {
      sendJson(response, 503, { error: { message: 'the model server is unavailable', type: 'unavailable' } });
      return;
    }
    if (request.method === 'GET' && (path === '/health' || path === '/healthz')) {
      sendJson(response, 200, { status: 'ok' });
    } else if (request.method === 'GET' && path === '/metrics' && options.metrics === true) {
      scrapes++;
      const text = vllmMetricsText(options.model, scrapes);
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    } else if (request.method === 'GET' && path === '/v1/models') {
      sendJson(response, 200, { object: 'list', data: [{ id: options.model, object: 'model', created: 0, owned_by: 'mcpctl-standin' }] });
    } else if (request.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions' || path === '/v1/embeddings')) {
      const requested = parseRequest(body);
      const model = typeof requested['model'] === 'string' ? requested['model'] : options.model;
      await waitBeforeAnswer(signal);
      answers++;
      const answer: AnswerContext = { id: answers, model, served: options.model, created: Math.floor(Date.now() / 1000) };
      if (path === '/v1/embeddings') {
        sendJson(response, 200, buildEmbeddings(requested, answer));
      } else if (requested['stream'] === true) {
        const chunks = path === '/v1/chat/completions' ? buildChatChunks(requested, answer) : buildCompletionChunks(requested, answer);
        await streamEvents(response, chunks, chunkIntervalMs, signal);
      } else {
        sendJson(response, 200, path === '/v1/chat/completions' ? buildChatCompletion(answer) : buildCompletion(answer));
      }
    } else {
      sendJson(response, 404, { error: { message: `no route ${request.method ?? 'GET'} ${path}`, type: 'not_found' } });
    }
  }

  async function waitBeforeAnswer(signal: AbortSignal): Promise<void> {
    const delay = options.answerDelayMs;
    if (delay === undefined || delay.max <= 0) return;
    await sleep(delay.min + Math.random() * Math.max(0, delay.max - delay.min), undefined, { signal });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // A wildcard bind is still reached through loopback from this host.
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}/v1`,
    setFailing(value) {
      failing = value;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** What every answer to one request shares: its number, the model the request named, the model served. */
interface AnswerContext {
  id: number;
  model: string;
  served: string;
  created: number;
}

/** The short answer the stand-in gives, in the pieces a stream sends one by one. */
function answerPieces(served: string): string[] {
  return `Hello from the ${served} stand-in.`.split(/(?= )/);
}

function buildChatCompletion(answer: AnswerContext): unknown {
  const pieces = answerPieces(answer.served);
  return {
    id: `chatcmpl-standin-${answer.id}`,
    object: 'chat.completion',
    created: answer.created,
    model: answer.model,
    choices: [{ index: 0, message: { role: 'assistant', content: pieces.join('') }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: pieces.length, total_tokens: 1 + pieces.length },
  };
}

function buildChatChunks(requested: Record<string, unknown>, answer: AnswerContext): unknown[] {
  const pieces = answerPieces(answer.served);
  const chunk = (delta: Record<string, string>, finishReason: string | null): unknown => ({
    id: `chatcmpl-standin-${answer.id}`,
    object: 'chat.completion.chunk',
    created: answer.created,
    model: answer.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const chunks = [chunk({ role: 'assistant', content: '' }, null), ...pieces.map((content) => chunk({ content }, null)), chunk({}, 'stop')];
  if (includesUsage(requested)) {
    chunks.push({ id: `chatcmpl-standin-${answer.id}`, object: 'chat.completion.chunk', created: answer.created, model: answer.model, choices: [], usage: { prompt_tokens: 1, completion_tokens: pieces.length, total_tokens: 1 + pieces.length } });
  }
  return chunks;
}

function buildCompletion(answer: AnswerContext): unknown {
  const pieces = answerPieces(answer.served);
  return {
    id: `cmpl-standin-${answer.id}`,
    object: 'text_completion',
    created: answer.created,
    model: answer.model,
    choices: [{ index: 0, text: pieces.join(''), logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: pieces.length, total_tokens: 1 + pieces.length },
  };
}

function buildCompletionChunks(requested: Record<string, unknown>, answer: AnswerContext): unknown[] {
  const pieces = answerPieces(answer.served);
  const chunk = (text: string, finishReason: string | null): unknown => ({
    id: `cmpl-standin-${answer.id}`,
    object: 'text_completion',
    created: answer.created,
    model: answer.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
  });
  const chunks = pieces.map((text, i) => chunk(text, i === pieces.length - 1 ? 'stop' : null));
  if (includesUsage(requested)) {
    chunks.push({ id: `cmpl-standin-${answer.id}`, object: 'text_completion', created: answer.created, model: answer.model, choices: [], usage: { prompt_tokens: 1, completion_tokens: pieces.length, total_tokens: 1 + pieces.length } });
  }
  return chunks;
}

function includesUsage(requested: Record<string, unknown>): boolean {
  const streamOptions = requested['stream_options'];
  return typeof streamOptions === 'object' && streamOptions !== null && (streamOptions as Record<string, unknown>)['include_usage'] === true;
}

/** One vector per input, the same for the same input; base64 (little-endian float32) when asked, as the OpenAI clients ask by default. */
function buildEmbeddings(requested: Record<string, unknown>, answer: AnswerContext): unknown {
  const inputs = readEmbeddingInputs(requested['input']);
  const dimensions = requested['dimensions'] ?? STANDIN_EMBEDDING_DIMENSIONS;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw new BadRequest(`"dimensions" must be a whole number from 1 to ${MAX_DIMENSIONS}, found ${JSON.stringify(dimensions)}`);
  }
  const format = requested['encoding_format'] ?? 'float';
  if (format !== 'float' && format !== 'base64') throw new BadRequest(`"encoding_format" must be "float" or "base64", found ${JSON.stringify(format)}`);
  const tokens = inputs.reduce((sum, input) => sum + (typeof input === 'string' ? countWords(input) : input.length), 0);
  return {
    object: 'list',
    data: inputs.map((input, index) => {
      const vector = embed(input, dimensions);
      return { object: 'embedding', index, embedding: format === 'base64' ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector };
    }),
    model: answer.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** The inputs OpenAI's API takes: a string, an array of strings, an array of token ids, or an array of those. */
function readEmbeddingInputs(input: unknown): (string | number[])[] {
  const isTokens = (value: unknown): value is number[] => Array.isArray(value) && value.length > 0 && value.every((t) => Number.isInteger(t));
  if (typeof input === 'string') return [input];
  if (isTokens(input)) return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string' || isTokens(item))) return input as (string | number[])[];
  throw new BadRequest(`"input" must be a string, an array of strings or of token ids, found ${JSON.stringify(input) ?? 'nothing'}`);
}

/** A unit vector drawn from a hash of the input: stable for one input, different for another. */
function embed(input: string | number[], dimensions: number): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${JSON.stringify(input)}`).digest();
    for (let i = 0; i + 4 <= digest.length && values.length < dimensions; i += 4) values.push(digest.readInt32LE(i) / 2 ** 31);
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => v / norm);
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

/** Server-sent events as vLLM writes them: `data: JSON` per chunk, then `data: [DONE]`. */
async function streamEvents(response: ServerResponse, chunks: unknown[], intervalMs: number, signal: AbortSignal): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  for (const [i, chunk] of chunks.entries()) {
    if (i > 0 && intervalMs > 0) await sleep(intervalMs, undefined, { signal });
    response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  response.end('data: [DONE]\n\n');
}

function parseRequest(body: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = body === '' ? {} : JSON.parse(body);
  } catch {
    throw new BadRequest('request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRequest('request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** vLLM's load gauges for `model` at the `n`th scrape: plausible figures that change every time. */
export function vllmMetricsText(model: string, n: number): string {
  const running = [2, 3, 4, 3][n % 4] as number;
  const waiting = [0, 1, 0, 2, 1][n % 5] as number;
  const kv = (0.3 + 0.05 * (n % 7)).toFixed(2);
  const labels = `engine="0",model_name="${model.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return [
    '# HELP vllm:num_requests_running Number of requests in model execution batches.',
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{${labels}} ${running}.0`,
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{${labels}} ${waiting}.0`,
    '# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.',
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc{${labels}} ${kv}`,
    '',
  ].join('\n');
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // A stand-in needs no large bodies; refuse rather than buffer without bound.
      if (size > 1024 * 1024) request.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
