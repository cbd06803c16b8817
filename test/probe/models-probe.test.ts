// probe/models-probe.ts against real local HTTP servers: what the agent and the reconciler both
// probe OpenAI-compatible endpoints with.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkServedModels, isTimeoutError, modelsUrlOf, probeEndpoint, serverWordsOf } from '../../probe/models-probe.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise((resolve) => {
          s.closeAllConnections();
          s.close(resolve);
        }),
    ),
  );
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('modelsUrlOf', () => {
  it.each([
    ['http://h:8000/v1', 'http://h:8000/v1/models'],
    ['http://h:8000/v1/', 'http://h:8000/v1/models'],
    ['https://api.openai.com/v1//', 'https://api.openai.com/v1/models'],
  ])('%s lists its models at %s', (url, expected) => {
    expect(modelsUrlOf(url)).toBe(expected);
  });
});

describe('probeEndpoint', () => {
  it('sends the extra headers and reads the body of a 2xx answer when asked', async () => {
    const seen: string[] = [];
    const origin = await serve((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? '-'} ${req.headers.accept ?? '-'}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"id":"m"}]}');
    });
    expect(await probeEndpoint(`${origin}/v1/models`, { timeoutMs: 2000, readBody: true, headers: { authorization: 'Bearer k' } })).toEqual({ ok: true, body: '{"data":[{"id":"m"}]}' });
    expect(await probeEndpoint(`${origin}/v1/models`, { timeoutMs: 2000 })).toEqual({ ok: true, body: null });
    expect(seen).toEqual(['/v1/models Bearer k application/json', '/v1/models - application/json']);
  });

  it("an answer that is not 2xx is its status and the server's words", async () => {
    const origin = await serve((_req, res) => res.writeHead(503).end('down\nfor maintenance'));
    expect(await probeEndpoint(`${origin}/v1/models`, { timeoutMs: 2000, readBody: true })).toEqual({ ok: false, status: 503, message: 'down' });
  });

  it('no answer in time is a timeout error', async () => {
    const origin = await serve(() => {
      // Never answers.
    });
    const answer = await probeEndpoint(`${origin}/v1/models`, { timeoutMs: 100 });
    expect(answer.ok === false && answer.status === null && isTimeoutError(answer.error)).toBe(true);
  });

  it('nobody listening is a network error, not a timeout', async () => {
    const origin = await serve(() => {});
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const answer = await probeEndpoint(`${origin}/v1/models`, { timeoutMs: 2000 });
    expect(answer).toMatchObject({ ok: false, status: null });
    expect(answer.ok === false && answer.status === null && isTimeoutError(answer.error)).toBe(false);
  });
});

describe('checkServedModels', () => {
  it.each([
    ['{"data":[{"id":"a"},{"id":"m"}]}', { ok: true }],
    ['{"data":[]}', { ok: false, message: 'serves no model, not m' }],
    ['{"data":[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"},{"id":"e"}]}', { ok: false, message: 'serves a, b, c and 2 more, not m' }],
    ['{"models":[]}', { ok: false, message: '/models answer has no data list' }],
    ['<html>', { ok: false, message: '/models answered something other than JSON' }],
  ])('%s', (body, expected) => {
    expect(checkServedModels(body, 'm')).toEqual(expected);
  });
});

describe('serverWordsOf', () => {
  it.each([
    ['an OpenAI-style error (llama.cpp)', '{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}', 'Loading model'],
    ['a string error (vLLM, TGI)', '{"error":"Unauthorized"}', 'Unauthorized'],
    ['a FastAPI detail', '{"detail":"Not Found"}', 'Not Found'],
    ['a bare message', '{"message":"no healthy upstream"}', 'no healthy upstream'],
    ['a JSON body with no words', '{"status":"down"}', 'Service Unavailable'],
    ['a text body, first line', '\n  upstream connect error\nreset reason: overflow', 'upstream connect error'],
    ['an HTML page', '<html><body><h1>502 Bad Gateway</h1></body></html>', 'Service Unavailable'],
    ['an empty body', '', 'Service Unavailable'],
    ['a message over lines and tabs', '{"error":{"message":"line one\\n\\tline two"}}', 'line one line two'],
    ['an echoed key', '{"error":{"message":"Incorrect API key provided: sk-abc123***********wxyz. See https://x"}}', 'Incorrect API key provided: [redacted] See https://x'],
  ])('takes %s', (_case, body, words) => {
    expect(serverWordsOf(body, 'Service Unavailable')).toBe(words);
  });

  it('keeps at most 120 characters', () => {
    const words = serverWordsOf(JSON.stringify({ error: { message: 'x'.repeat(500) } }), '');
    expect(words).toHaveLength(120);
    expect(words.endsWith('…')).toBe(true);
  });
});

describe('checkServedModels of a llama.cpp router', () => {
  const router = (status: unknown): string => JSON.stringify({ data: [{ id: 'm', object: 'model', owned_by: 'llamacpp', status }], object: 'list' });
  it.each([
    [{ value: 'loaded', args: [] }, { ok: true }],
    [{ value: 'sleeping', args: [] }, { ok: true }],
    [{ value: 'loading', args: [] }, { ok: false, message: 'model m is loading' }],
    [{ value: 'unloaded', args: [] }, { ok: false, message: 'model m is unloaded' }],
    [{ value: 'unloaded', args: [], failed: true, exit_code: 137 }, { ok: false, message: 'model m failed to load (exit code 137)' }],
    ['failed', { ok: false, message: 'model m failed to load' }],
    ['loaded', { ok: true }],
  ])('status %j is %j', (status, expected) => {
    expect(checkServedModels(router(status), 'm')).toEqual(expected);
  });
});
