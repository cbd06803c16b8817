// The gateway client over real HTTP: against a real gateway (buildGateway, fixed route table) its
// state answer parses to what was served, with and without --auth tokens; an answer of the wrong
// shape, a broken body, an error status or no gateway at all is its typed error.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, describe, expect, test } from 'vitest';
import { GatewayUnreachable, HttpError, InvalidGatewayUrl, MalformedAnswer } from '../../client/errors.js';
import { GatewayClient } from '../../client/gateway-client.js';
import { buildGateway } from '../../gateway/app.js';
import { buildRouteTable } from '../../gateway/route-table.js';
import { parseAuthFile, type AuthConfig } from '../../service/auth.js';
import { inFlightOf } from '../../schema/gateway.js';
import { closedPort } from '../cli/support/cli-harness.js';
import { buildFleet, liveLlm } from '../cli/support/views.js';

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

function sha256Hex(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

async function startGateway(auth: AuthConfig | null): Promise<string> {
  const fleet = buildFleet({ live: [liveLlm({ name: 'vllm-gpu1-qwen3', poolName: 'qwen3', agentId: 'gpu1' }), liveLlm({ name: 'vllm-gpu2-qwen3', poolName: 'qwen3', agentId: 'gpu2' })] });
  const dispatcher = new Agent();
  const gateway = await buildGateway({
    routes: () => buildRouteTable(fleet.views),
    readiness: () => ({ loaded: true, unreachableSinceMs: null, reason: null }),
    dispatcher,
    settings: { strategy: 'least-load', retries: 0, cooldownMs: 30_000, timeoutMs: 10_000 },
    maxBodyBytes: 1_000_000,
    auth,
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => dispatcher.close());
  closers.push(() => gateway.app.close());
  return `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
}

/** A server that answers every request with `status` and `body`. */
async function answering(status: number, body: string): Promise<string> {
  const server: Server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('against a real gateway', () => {
  test('reads every routable member with nothing in flight, as served; the OpenAI base URL (…/v1) works too', async () => {
    const url = await startGateway(null);
    const answer = await new GatewayClient({ gateway: url }).state();
    const served = await (await fetch(`${url}/v1/mcpctl/state`)).json();
    expect(answer).toEqual(served);
    expect(answer.members.map((m) => m.name)).toEqual(['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3']);
    expect(answer.members.every((m) => m.inFlight === 0 && m.cooldown === null && m.pool === 'qwen3')).toBe(true);
    expect(await new GatewayClient({ gateway: `${url}/v1/` }).state()).toEqual(answer);
    expect(inFlightOf(answer, 'not-a-member')).toBe(0);
  });

  test('with --auth: a view:llms or use:llms token reads it; none is a 401 and a register:llms token a 403', async () => {
    const parsed = parseAuthFile(
      'auth.yaml',
      `tokens:
  - name: viewer
    sha256: ${sha256Hex('view-token')}
    roles: [view:llms]
  - name: caller
    sha256: ${sha256Hex('use-token')}
    roles: [use:llms]
  - name: gpu1
    sha256: ${sha256Hex('gpu1-token')}
    roles: [register:llms]
`,
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const url = await startGateway(parsed.config);
    for (const token of ['view-token', 'use-token']) expect((await new GatewayClient({ gateway: url, token }).state()).members).toHaveLength(2);
    const missing = await new GatewayClient({ gateway: url }).state().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(HttpError);
    expect((missing as HttpError).status).toBe(401);
    expect((missing as HttpError).message).toBe(`the gateway at ${url} answered 401 invalid_api_key: missing bearer token: send Authorization: Bearer <token>`);
    const denied = await new GatewayClient({ gateway: url, token: 'gpu1-token' }).state().catch((e: unknown) => e);
    expect((denied as HttpError).status).toBe(403);
    expect((denied as HttpError).code).toBe('permission_denied');
  });
});

describe('typed errors', () => {
  test('no gateway listening: GatewayUnreachable naming it and the socket error', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const error = await new GatewayClient({ gateway: url }).state().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayUnreachable);
    expect((error as GatewayUnreachable).message).toBe(`cannot reach the gateway at ${url}: ECONNREFUSED`);
  });

  test('not an http(s) URL: InvalidGatewayUrl', async () => {
    for (const gateway of ['gateway.lan:7430', 'ftp://gateway.lan', '']) {
      await expect(new GatewayClient({ gateway }).state()).rejects.toBeInstanceOf(InvalidGatewayUrl);
    }
  });

  test('a body of the wrong shape or not JSON: MalformedAnswer naming the field', async () => {
    const wrong = await answering(200, JSON.stringify({ members: [{ name: 'a', pool: 'p', inFlight: -1, cooldown: null }] }));
    await expect(new GatewayClient({ gateway: wrong }).state()).rejects.toThrow(
      new MalformedAnswer(`GET ${wrong}/v1/mcpctl/state answered with a body of the wrong shape: members.0.inFlight: Too small: expected number to be >=0, found -1`),
    );
    const broken = await answering(200, '{"members": [');
    await expect(new GatewayClient({ gateway: broken }).state()).rejects.toThrow(`${broken}/v1/mcpctl/state answered 200 with a body that is not JSON`);
  });

  test('an error status without a JSON body keeps the status line (a gateway too old to serve the state)', async () => {
    const old = await answering(404, '<html>not found</html>');
    const error = await new GatewayClient({ gateway: old }).state().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).message).toBe(`the gateway at ${old} answered 404 HTTP404: Not Found`);
  });
});
