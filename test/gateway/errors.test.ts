// Bad input to a real gateway on 127.0.0.1:0: every refusal is OpenAI's error shape with the status
// DESIGN §8 gives it, and none reaches a member.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthFile, sha256Hex, type AuthConfig } from '../../service/auth.js';
import { waitFor } from '../support/wait-for.js';
import { closeGateways, expectOpenAiError, get, memberView, post, startGateway, type RunningGateway } from './support/gateway.js';
import { chunk, closeUpstreams, startUpstream, type Upstream } from './support/upstreams.js';

let upstream: Upstream;
let gateway: RunningGateway;
const MAX_BODY_BYTES = 2048;

beforeAll(async () => {
  upstream = await startUpstream('a');
  gateway = await startGateway({
    views: [memberView('a', { pool: 'p', url: upstream.url }), memberView('down', { pool: 'q', url: upstream.url, phase: 'stale' })],
    poolKeys: ['empty'],
    maxBodyBytes: MAX_BODY_BYTES,
  });
});
afterAll(async () => {
  await closeGateways();
  await closeUpstreams();
});

const chat = (body: unknown, headers?: Record<string, string>) => post(`${gateway.url}/v1/chat/completions`, body, headers);

describe('bad input', () => {
  it('bad JSON is a 400 invalid_request_error in OpenAI error shape', async () => {
    const answer = await chat('{"model": "p", "messages": [');
    const error = expectOpenAiError(answer, 400, 'invalid_json', 'invalid_request_error');
    expect(error.message).toMatch(/not valid JSON/);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
  });

  it('a JSON body that is not an object is a 400', async () => {
    expectOpenAiError(await chat('[1, 2]'), 400, 'invalid_json', 'invalid_request_error');
    expectOpenAiError(await chat(''), 400, 'invalid_json', 'invalid_request_error');
  });

  it('a body without model is a 400 naming the param model', async () => {
    const error = expectOpenAiError(await chat({ messages: [] }), 400, 'missing_model', 'invalid_request_error');
    expect(error.param).toBe('model');
    expectOpenAiError(await chat({ model: 42 }), 400, 'missing_model', 'invalid_request_error');
  });

  it('an unknown model is a 404 model_not_found', async () => {
    const error = expectOpenAiError(await chat({ model: 'nope', messages: [] }), 404, 'model_not_found', 'invalid_request_error');
    expect(error.message).toContain('"nope"');
    expect(error.param).toBe('model');
  });

  it('a body over --max-body is a 413 and never reaches a member', async () => {
    const seen = upstream.requests.length;
    const answer = await chat({ model: 'p', messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY_BYTES) }] });
    const error = expectOpenAiError(answer, 413, 'request_too_large', 'invalid_request_error');
    expect(error.message).toContain(`${MAX_BODY_BYTES} bytes`);
    expect(upstream.requests.length).toBe(seen);
  });

  it('a body over --max-body sent in chunks, with no Content-Length, is a 413 too', async () => {
    const seen = upstream.requests.length;
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
      });
      // The gateway answers and closes once the limit is passed; the rest may find the socket gone.
      req.on('error', () => undefined);
      req.on('close', () => reject(new Error('closed without an answer')));
      req.write(`{"model":"p","messages":[{"role":"user","content":"`);
      for (let i = 0; i < 4; i++) req.write('x'.repeat(MAX_BODY_BYTES / 2));
      req.end('"}]}');
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'request_too_large', type: 'invalid_request_error' } });
    expect(upstream.requests.length).toBe(seen);
  });

  it('a query string on a forwarded route does not change the route', async () => {
    const answer = await post(`${gateway.url}/v1/chat/completions?trace=1`, { model: 'p', messages: [] });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-mcpctl-member']).toBe('a');
  });

  it('a GET on a forwarded route is a 404 in OpenAI error shape', async () => {
    expectOpenAiError(await get(`${gateway.url}/v1/chat/completions`), 404, 'not_found', 'invalid_request_error');
  });

  it('an unknown route is a 404 in OpenAI error shape', async () => {
    expectOpenAiError(await get(`${gateway.url}/v1/nothing`), 404, 'not_found', 'invalid_request_error');
  });

  it('a body just under --max-body goes through', async () => {
    const answer = await chat({ model: 'p', messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY_BYTES - 100) }] });
    expect(answer.status).toBe(200);
  });
});

describe('shutting down', () => {
  it.each([
    { route: 'POST /v1/chat/completions', second: (requestText: (body: string) => string) => requestText(JSON.stringify({ model: 'c', messages: [] })) },
    { route: 'GET /v1/models', second: () => 'GET /v1/models HTTP/1.1\r\nhost: gateway\r\n\r\n' },
  ])('$route on an open connection after close() began is a 503 gateway_closing; the request in flight finishes', async ({ second }) => {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const member = await startUpstream('closing', { kind: 'sse', chunks: [chunk('one'), chunk('two')], intervalMs: 5, holdAfter: 1, release: released });
    const closing = await startGateway({ views: [memberView('closing', { pool: 'c', url: member.url })] });
    const socket = connect(Number(new URL(closing.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (part: Buffer) => (received += part.toString('utf8')));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const requestText = (body: string): string => `POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    socket.write(requestText(JSON.stringify({ model: 'c', stream: true, messages: [] })));
    await waitFor('the first chunk', () => received.includes('one'));
    const closed = closing.close();
    await waitFor('the gateway to stop listening', () => !closing.app.server.listening);
    // Pipelined on the busy keep-alive connection: the server reads it while the stream goes on.
    socket.write(second(requestText));
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await ended;
    await closed;
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((a) => a.split('\r\n')[0])).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 503 Service Unavailable']);
    expect(answers[0]).toContain('two');
    expect(answers[1]).toMatch(/connection: close/i);
    expect(JSON.parse(answers[1]?.split('\r\n\r\n')[1] ?? '')).toMatchObject({ error: { code: 'gateway_closing', type: 'service_unavailable' } });
    expect(member.requests.length).toBe(1);
  });
});

describe('no routable member', () => {
  it('a pool whose only member is not active is a 503 no_active_member with Retry-After', async () => {
    const answer = await chat({ model: 'q', messages: [] });
    const error = expectOpenAiError(answer, 503, 'no_active_member', 'service_unavailable');
    expect(error.message).toContain('none active');
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a declared pool with no member is a 503 no_active_member with Retry-After', async () => {
    const answer = await chat({ model: 'empty', messages: [] });
    expectOpenAiError(answer, 503, 'no_active_member', 'service_unavailable');
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('an Llm name pinning a member that is not active is a 503', async () => {
    expectOpenAiError(await chat({ model: 'down', messages: [] }), 503, 'no_active_member', 'service_unavailable');
  });
});

describe('/readyz', () => {
  it('answers 503 before a first view, then 200', async () => {
    let loaded = false;
    const fresh = await startGateway({ readiness: () => ({ loaded, unreachableSinceMs: null, reason: loaded ? null : 'connect ECONNREFUSED' }) });
    const before = await get(`${fresh.url}/readyz`);
    expect(before.status).toBe(503);
    expect(before.json).toMatchObject({ status: 'not ready' });
    loaded = true;
    const after = await get(`${fresh.url}/readyz`);
    expect(after.status).toBe(200);
    expect(after.json).toEqual({ status: 'ready', reconciler: 'connected' });
    expect((await get(`${fresh.url}/healthz`)).status).toBe(200);
  });
});

describe('--auth', () => {
  const tokens = { user: 'tok-user', narrow: 'tok-narrow', viewer: 'tok-viewer' };
  let authed: RunningGateway;
  let authedUpstream: Upstream;

  beforeAll(async () => {
    const text = `tokens:
  - { name: user, sha256: ${sha256Hex(tokens.user)}, roles: [use:llms] }
  - { name: narrow, sha256: ${sha256Hex(tokens.narrow)}, roles: [use:llms], names: ["team-*"] }
  - { name: viewer, sha256: ${sha256Hex(tokens.viewer)}, roles: [view:llms] }
`;
    const parsed = parseAuthFile('auth.yaml', text);
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const auth: AuthConfig = parsed.config;
    authedUpstream = await startUpstream('t');
    authed = await startGateway({
      views: [memberView('team-a-gpu1', { pool: 'team-a', url: authedUpstream.url }), memberView('o1', { pool: 'other', url: authedUpstream.url })],
      auth,
    });
  });

  const call = (model: string, token?: string) =>
    post(`${authed.url}/v1/chat/completions`, { model, messages: [] }, token === undefined ? {} : { authorization: `Bearer ${token}` });

  it('no token is a 401 with WWW-Authenticate', async () => {
    const answer = await call('team-a');
    expectOpenAiError(answer, 401, 'invalid_api_key', 'authentication_error');
    expect(answer.headers['www-authenticate']).toBe('Bearer');
  });

  it('an unknown token is a 401', async () => {
    expectOpenAiError(await call('team-a', 'tok-wrong'), 401, 'invalid_api_key', 'authentication_error');
  });

  it('a token without use:llms is a 403', async () => {
    const error = expectOpenAiError(await call('team-a', tokens.viewer), 403, 'permission_denied', 'permission_error');
    expect(error.message).toContain('use:llms');
  });

  it('a token outside its names globs is a 403, inside them a 200', async () => {
    const seen = authedUpstream.requests.length;
    const error = expectOpenAiError(await call('other', tokens.narrow), 403, 'permission_denied', 'permission_error');
    expect(error.message).toContain('team-*');
    expectOpenAiError(await call('o1', tokens.narrow), 403, 'permission_denied', 'permission_error');
    expect(authedUpstream.requests.length).toBe(seen);
    expect((await call('team-a', tokens.narrow)).status).toBe(200);
    expect((await call('team-a-gpu1', tokens.narrow)).status).toBe(200);
    expect((await call('other', tokens.user)).status).toBe(200);
  });

  it('/v1/models lists only the names a token may call', async () => {
    const ids = (answer: { json: unknown }) => (answer.json as { data: { id: string }[] }).data.map((m) => m.id);
    expect(ids(await get(`${authed.url}/v1/models`, { authorization: `Bearer ${tokens.narrow}` }))).toEqual(['team-a', 'team-a-gpu1']);
    expect(ids(await get(`${authed.url}/v1/models`, { authorization: `Bearer ${tokens.user}` }))).toEqual(['o1', 'other', 'team-a', 'team-a-gpu1']);
    expectOpenAiError(await get(`${authed.url}/v1/models`), 401, 'invalid_api_key', 'authentication_error');
  });

  it("the client's token is never forwarded to the member", async () => {
    await call('team-a', tokens.user);
    const last = authedUpstream.requests.at(-1);
    expect(last?.headers.authorization).toBeUndefined();
  });
});
