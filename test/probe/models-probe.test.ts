// probe/models-probe.ts against real local HTTP servers: what the agent and the reconciler both
// probe OpenAI-compatible endpoints with.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkServedModels, isTimeoutError, modelsUrlOf, probeEndpoint } from '../../probe/models-probe.js';

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

  it('an answer that is not 2xx is its status', async () => {
    const origin = await serve((_req, res) => res.writeHead(503).end('down'));
    expect(await probeEndpoint(`${origin}/v1/models`, { timeoutMs: 2000, readBody: true })).toEqual({ ok: false, status: 503 });
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
