import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createReconcilerClient } from '../../agent/reconciler-client.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const registration = { agentId: 'gpu1', host: 'gpu1.lan', version: '0.1.0', llms: [], gpus: [] };

describe('createReconcilerClient', () => {
  it('gives up after its timeout and calls the reconciler unreachable', async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const client = createReconcilerClient({ server, timeoutMs: 100 });
    expect(await client.register(registration)).toEqual({ ok: false, kind: 'unreachable', reason: 'timeout after 100ms' });
  });

  it('reads the error code and message of a refusal', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'Forbidden', message: 'token gpu1 may not register vllm-gpu2-qwen3' } }));
    });
    const client = createReconcilerClient({ server, token: 't' });
    expect(await client.register(registration)).toEqual({ ok: false, kind: 'http', status: 403, code: 'Forbidden', message: 'token gpu1 may not register vllm-gpu2-qwen3' });
  });

  it('refuses an answer that is not a registration answer', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ leaseId: 'x' }));
    });
    const result = await createReconcilerClient({ server }).register(registration);
    expect(result).toMatchObject({ ok: false, kind: 'http', code: 'InvalidAnswer' });
  });

  it('sends the token as a bearer header and JSON bodies to the documented paths', async () => {
    const seen: string[] = [];
    const server = await serve((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization} ${req.headers['content-type'] ?? '-'}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.method === 'DELETE' ? '{}' : JSON.stringify({ leaseId: 'l1', ttlSeconds: 30, heartbeatIntervalSeconds: 10, revision: null, desired: [], rejected: [] }));
    });
    const client = createReconcilerClient({ server: `${server}/`, token: 'tok' });
    expect((await client.register(registration)).ok).toBe(true);
    expect((await client.heartbeat('gpu1', { leaseId: 'l1', llms: [] })).ok).toBe(true);
    expect((await client.deregister('gpu1', 'l1')).ok).toBe(true);
    expect(seen).toEqual([
      'POST /api/v1/agents/register Bearer tok application/json',
      'POST /api/v1/agents/gpu1/heartbeat Bearer tok application/json',
      'DELETE /api/v1/agents/gpu1?leaseId=l1 Bearer tok -',
    ]);
  });
});
