// What the gateway sends a member and what it sends back: the client's body with `model`
// replaced, the member's own key instead of the client's, the answer unchanged with
// x-mcpctl-pool and x-mcpctl-member added; /v1/models; and /metrics as Prometheus' linter sees it.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { checkTool, TOOLS } from '../support/tools.js';
import { waitFor } from '../support/wait-for.js';
import { call, closeGateways, get, memberView, metricsText, modelIds, post, startGateway } from './support/gateway.js';
import { closeUpstreams, completion, startUpstream } from './support/upstreams.js';

afterEach(async () => {
  await closeGateways();
  await closeUpstreams();
});

describe('the request a member gets', () => {
  it("has the client's body with model replaced by the member's spec.model", async () => {
    const upstream = await startUpstream('a');
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url, model: 'Qwen/Qwen3-8B' })] });
    const body = { model: 'p', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2, max_tokens: 7, extra: { nested: [1, 'two'] } };
    expect((await post(`${gateway.url}/v1/chat/completions`, body)).status).toBe(200);
    expect(upstream.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: { ...body, model: 'Qwen/Qwen3-8B' } });
  });

  it("has the client's own bytes around the new model: a 64-bit seed, 1.0 and the spacing arrive unchanged", async () => {
    const upstream = await startUpstream('a');
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url, model: 'Qwen/Qwen3-8B' })] });
    const text = '{\n  "seed": 12345678901234567890,\n  "temperature": 1.0,\n  "model": "p",\n  "messages": [{"role": "user", "content": "h\\u00e9"}]\n}';
    expect((await post(`${gateway.url}/v1/chat/completions`, text)).status).toBe(200);
    expect(upstream.requests[0]?.text).toBe(text.replace('"model": "p"', '"model": "Qwen/Qwen3-8B"'));
    expect(upstream.requests[0]?.headers['content-length']).toBe(String(Buffer.byteLength(upstream.requests[0]?.text ?? '')));
  });

  it.each([
    ['/v1/chat/completions', '/v1/chat/completions'],
    ['/v1/completions', '/v1/completions'],
    ['/v1/embeddings', '/v1/embeddings'],
  ])('%s goes to the same path below the member URL', async (route, path) => {
    const upstream = await startUpstream('a');
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url })] });
    expect((await post(`${gateway.url}${route}`, { model: 'p', input: 'x' })).status).toBe(200);
    expect(upstream.requests[0]?.path).toBe(path);
  });

  it("never carries the client's Authorization; a member with spec.apiKeyRef.env gets Bearer $NAME", async () => {
    const keyed = await startUpstream('keyed');
    const open = await startUpstream('open');
    const gateway = await startGateway({
      views: [memberView('keyed', { pool: 'k', url: keyed.url, apiKeyEnv: 'KEYED_API_KEY' }), memberView('open', { pool: 'o', url: open.url })],
      env: { KEYED_API_KEY: 'sk-member-secret' },
    });
    const clientHeaders = { authorization: 'Bearer sk-client-secret', 'x-request-id': 'req-7', cookie: 'session=1' };
    expect((await post(`${gateway.url}/v1/chat/completions`, { model: 'k', messages: [] }, clientHeaders)).status).toBe(200);
    expect((await post(`${gateway.url}/v1/chat/completions`, { model: 'o', messages: [] }, clientHeaders)).status).toBe(200);
    expect(keyed.requests[0]?.headers.authorization).toBe('Bearer sk-member-secret');
    expect(open.requests[0]?.headers.authorization).toBeUndefined();
    for (const seen of [keyed.requests[0], open.requests[0]]) {
      expect(seen?.headers['x-request-id']).toBe('req-7');
      expect(seen?.headers.cookie).toBeUndefined();
      expect(JSON.stringify(seen?.headers)).not.toContain('sk-client-secret');
    }
  });
});

describe('the answer a client gets', () => {
  it("is the member's, unchanged, with x-mcpctl-pool and x-mcpctl-member added", async () => {
    const answerBody = completion('exactly this');
    const upstream = await startUpstream('a', { kind: 'json', status: 200, body: answerBody });
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url })] });
    const viaPool = await post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [] });
    expect(viaPool.status).toBe(200);
    expect(viaPool.text).toBe(JSON.stringify(answerBody));
    expect(viaPool.headers['x-mcpctl-pool']).toBe('p');
    expect(viaPool.headers['x-mcpctl-member']).toBe('a');
    // An Llm name pins that member; the pool header still names its pool.
    const pinned = await post(`${gateway.url}/v1/chat/completions`, { model: 'a', messages: [] });
    expect([pinned.headers['x-mcpctl-pool'], pinned.headers['x-mcpctl-member']]).toEqual(['p', 'a']);
  });
});

describe('/v1/models', () => {
  it('lists the pool keys and Llm names that have a routable member, owned by mcpctl', async () => {
    const upstream = await startUpstream('a');
    const gateway = await startGateway({
      views: [
        memberView('a1', { pool: 'alpha', url: upstream.url }),
        memberView('a2', { pool: 'alpha', url: upstream.url, phase: 'draining' }),
        memberView('b1', { pool: 'beta', url: upstream.url, phase: 'stale' }),
        memberView('c1', { pool: 'gamma', url: upstream.url, phase: 'unhealthy' }),
        memberView('c2', { pool: 'gamma', url: upstream.url }),
      ],
      poolKeys: ['empty'],
    });
    const answer = await get(`${gateway.url}/v1/models`);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      object: 'list',
      data: ['a1', 'alpha', 'c2', 'gamma'].map((id) => ({ id, object: 'model', created: 0, owned_by: 'mcpctl' })),
    });
    expect(await modelIds(gateway.url)).toEqual(['a1', 'alpha', 'c2', 'gamma']);
  });
});

const PROMTOOL = checkTool(TOOLS.promtool);

describe.skipIf(!PROMTOOL.available)(`/metrics and promtool${PROMTOOL.skipNote}`, () => {
  it('promtool check metrics passes the gateway /metrics after traffic, failures and a cooldown', async () => {
    const good = await startUpstream('good');
    const bad = await startUpstream('bad', { kind: 'status', status: 503 });
    const gateway = await startGateway({ views: [memberView('bad', { pool: 'p', url: bad.url }), memberView('good', { pool: 'p', url: good.url })], processMetrics: true });
    // bad first (a retry on good), then twice more pinned (a cooldown), then good alone.
    await post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [] });
    for (let i = 0; i < 2; i++) await post(`${gateway.url}/v1/chat/completions`, { model: 'bad', messages: [] });
    for (let i = 0; i < 2; i++) await post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [] });
    await call(`${gateway.url}/v1/chat/completions`, 'POST', '{');
    const text = await metricsText(gateway.url);
    for (const name of ['mcpctl_gateway_requests_total{', 'mcpctl_gateway_request_duration_seconds_bucket{', 'mcpctl_gateway_time_to_first_byte_seconds_bucket{', 'mcpctl_gateway_retries_total{', 'mcpctl_gateway_cooldowns_total{', 'mcpctl_gateway_member_cooldown_until_seconds{', 'mcpctl_gateway_process_cpu']) {
      expect(text).toContain(name);
    }
    const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: run.status, output: `${run.stdout}${run.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });
});

describe('request logs', () => {
  it('at debug, a forwarded request logs its start and its end with the status, as fastify does for the other routes', async () => {
    const upstream = await startUpstream('logged');
    const lines: Record<string, unknown>[] = [];
    const gateway = await startGateway({ views: [memberView('logged', { pool: 'p', url: upstream.url })], onLog: (line) => lines.push(line), logLevel: 'debug' });
    expect((await post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [] })).status).toBe(200);
    await waitFor('the completion line', () => lines.some((l) => l['msg'] === 'request completed'));
    expect(lines.find((l) => l['msg'] === 'incoming request')).toMatchObject({ level: 20, req: { method: 'POST', url: '/v1/chat/completions' } });
    expect(lines.find((l) => l['msg'] === 'request completed')).toMatchObject({ level: 20, res: { statusCode: 200 } });
  });

  it('at info, nothing is logged per request', async () => {
    const upstream = await startUpstream('quiet');
    const lines: Record<string, unknown>[] = [];
    const gateway = await startGateway({ views: [memberView('quiet', { pool: 'p', url: upstream.url })], onLog: (line) => lines.push(line) });
    lines.length = 0; // "Server listening at …"
    expect((await post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [] })).status).toBe(200);
    expect((await post(`${gateway.url}/v1/embeddings`, { model: 'p', input: 'x' })).status).toBe(200);
    expect(lines).toEqual([]);
  });
});
