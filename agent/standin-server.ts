// A small OpenAI-compatible stand-in for a model server (vLLM and friends): enough for the agent's
// probe and for a demo request. `setFailing(true)` makes it answer 503 until set back. With
// `metrics`, its `/metrics` are vLLM's load gauges, with figures that move from one scrape to the next.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinServerOptions {
  model: string;
  host?: string;
  port?: number;
  /** Serve vLLM-style load gauges at `/metrics` (the demo); otherwise `/metrics` is a 404. */
  metrics?: boolean;
}

export interface StandinServer {
  /** Base URL of the OpenAI API, `http://127.0.0.1:PORT/v1`. */
  url: string;
  setFailing(failing: boolean): void;
  close(): Promise<void>;
}

export async function startStandinServer(options: StandinServerOptions): Promise<StandinServer> {
  const host = options.host ?? '127.0.0.1';
  let failing = false;
  let completions = 0;
  let scrapes = 0;

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) sendJson(response, 500, { error: { message: 'stand-in failed', type: 'server_error' } });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
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
    } else if (request.method === 'POST' && path === '/v1/chat/completions') {
      let requested: unknown;
      try {
        requested = body === '' ? {} : JSON.parse(body);
      } catch {
        sendJson(response, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
        return;
      }
      const model = typeof requested === 'object' && requested !== null && 'model' in requested && typeof requested.model === 'string' ? requested.model : options.model;
      completions++;
      sendJson(response, 200, {
        id: `chatcmpl-standin-${completions}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: `Hello from the ${options.model} stand-in.` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 6, total_tokens: 7 },
      });
    } else {
      sendJson(response, 404, { error: { message: `no route ${request.method ?? 'GET'} ${path}`, type: 'not_found' } });
    }
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
