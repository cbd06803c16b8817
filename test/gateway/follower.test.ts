// The gateway following a real reconciler (the fastify app of reconciler/ on 127.0.0.1, over an
// in-memory lease store) through ReconcilerFollower: /readyz is 503 until a first view; when the
// reconciler goes away the gateway keeps routing on its last view and /readyz says so (still
// 200); when it comes back (a new reconciler over the same store, on the same port) the gateway
// re-lists, with no member twice and none lost.
import { afterEach, describe, expect, it } from 'vitest';
import { ReconcilerClient } from '../../client/reconciler-client.js';
import { ReconcilerFollower } from '../../gateway/reconciler-follower.js';
import { MemoryLeaseStore } from '../../reconciler/memory-lease-store.js';
import type { RegisteredLlm, RegistrationAnswer } from '../../schema/agent-protocol.js';
import { closeHarnesses, entry, registration, startHarness, type Harness } from '../reconciler/support/harness.js';
import { stablePort } from '../support/ports.js';
import { waitFor } from '../support/wait-for.js';
import { closeGateways, get, modelIds, post, startGateway, stateOf, type RunningGateway } from './support/gateway.js';
import { closeUpstreams, refusingUrl, startUpstream } from './support/upstreams.js';

const followers: ReconcilerFollower[] = [];
afterEach(async () => {
  await closeGateways();
  await Promise.all(followers.splice(0).map((f) => f.close()));
  await closeHarnesses();
  await closeUpstreams();
});

/** A reconciler that declares nothing and admits what agents publish, over `store`, on `port` (0: any). */
/** A reconciler on `port`, or on a port no other test's server can take while it is down (it comes back on it). */
async function reconciler(store: MemoryLeaseStore, port?: number): Promise<{ harness: Harness; url: string }> {
  const harness = await startHarness({ files: {}, store });
  await harness.app.listen({ host: '127.0.0.1', port: port ?? (await stablePort()) });
  const address = harness.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return { harness, url: `http://127.0.0.1:${address.port}` };
}

/** Registers as `mcpctl agent` does; returns the lease id. */
async function register(url: string, agentId: string, llms: RegisteredLlm[]): Promise<string> {
  const response = await fetch(`${url}/api/v1/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(registration(agentId, llms)) });
  if (!response.ok) throw new Error(`register answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as RegistrationAnswer).leaseId;
}

/** One heartbeat: what makes a lease restored by a restarted reconciler active again. */
async function beat(url: string, agentId: string, leaseId: string): Promise<void> {
  const response = await fetch(`${url}/api/v1/agents/${agentId}/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ leaseId }) });
  if (!response.ok) throw new Error(`heartbeat answered ${response.status}: ${await response.text()}`);
}

function followingGateway(server: string): Promise<{ gateway: RunningGateway; follower: ReconcilerFollower; log: string[] }> {
  const log: string[] = [];
  const follower = new ReconcilerFollower({ reconciler: new ReconcilerClient({ server }), log: (level, line) => log.push(`${level}: ${line}`), backoff: { initialMs: 50, maxMs: 200 } });
  followers.push(follower);
  follower.start();
  return startGateway({ routes: () => follower.routes(), readiness: () => follower.readiness() }).then((gateway) => ({ gateway, follower, log }));
}

const chat = (gateway: RunningGateway, model: string) => post(`${gateway.url}/v1/chat/completions`, { model, messages: [] });

describe('the gateway following a reconciler', () => {
  it('answers /readyz 503 before a first view, then 200 once the reconciler is there', async () => {
    const server = await refusingUrl();
    const port = Number(new URL(server).port);
    const { gateway } = await followingGateway(`http://127.0.0.1:${port}`);
    await waitFor('a failed first list', async () => ((await get(`${gateway.url}/readyz`)).json as { reconciler?: string } | undefined)?.reconciler?.includes('ECONNREFUSED'));
    const before = await get(`${gateway.url}/readyz`);
    expect(before.status).toBe(503);
    expect(before.json).toMatchObject({ status: 'not ready' });

    const upstream = await startUpstream('a');
    const { url } = await reconciler(new MemoryLeaseStore(), port);
    await register(url, 'gpu1', [entry('a', { poolName: 'p', url: upstream.url })]);
    await waitFor('ready', async () => (await get(`${gateway.url}/readyz`)).status === 200);
    expect((await get(`${gateway.url}/readyz`)).json).toEqual({ status: 'ready', reconciler: 'connected' });
    await waitFor('the member to be routable', async () => (await modelIds(gateway.url)).includes('p'));
    expect((await chat(gateway, 'p')).status).toBe(200);
  });

  it('keeps routing on the last view while the reconciler is away, and re-lists when it is back', async () => {
    const upstreams = { a: await startUpstream('a'), b: await startUpstream('b'), c: await startUpstream('c') };
    const store = new MemoryLeaseStore();
    const first = await reconciler(store);
    const lease = await register(first.url, 'gpu1', [entry('a', { poolName: 'p', url: upstreams.a.url }), entry('b', { poolName: 'p', url: upstreams.b.url })]);
    const { gateway, log } = await followingGateway(first.url);
    await waitFor('the first view', async () => (await modelIds(gateway.url)).join() === 'a,b,p');
    expect((await get(`${gateway.url}/readyz`)).json).toEqual({ status: 'ready', reconciler: 'connected' });

    // The reconciler goes away.
    await first.harness.close();
    await waitFor('/readyz to say the reconciler is unreachable', async () => ((await get(`${gateway.url}/readyz`)).json as { reconciler: string }).reconciler.startsWith('unreachable since '));
    const away = await get(`${gateway.url}/readyz`);
    expect(away.status).toBe(200);
    expect((away.json as { reconciler: string }).reconciler).toMatch(/^unreachable since \d{4}-\d\d-\d\dT[\d:.]+Z: .*; routing on the last view$/);
    expect(log.some((line) => line.startsWith('warn: ') && line.includes('routing on the last view'))).toBe(true);
    // Routing goes on, on the last view.
    for (const model of ['p', 'p', 'a', 'b']) expect((await chat(gateway, model)).status).toBe(200);

    // It comes back on the same port, over the same store (its restored leases are stale until
    // their agents beat), with one more member published meanwhile.
    const second = await reconciler(store, Number(new URL(first.url).port));
    await beat(second.url, 'gpu1', lease);
    await register(second.url, 'gpu2', [entry('c', { poolName: 'p', url: upstreams.c.url })]);
    await waitFor('/readyz to say connected', async () => ((await get(`${gateway.url}/readyz`)).json as { reconciler: string }).reconciler === 'connected');
    await waitFor('the re-listed view', async () => (await modelIds(gateway.url)).join() === 'a,b,c,p');
    expect(log.some((line) => line.includes('is back'))).toBe(true);

    // Each member once, none lost, in the models and the state endpoint.
    expect(await modelIds(gateway.url)).toEqual(['a', 'b', 'c', 'p']);
    for (const name of ['a', 'b', 'c']) expect((await chat(gateway, name)).headers['x-mcpctl-member']).toBe(name);
    expect((await stateOf(gateway.url)).map((m) => [m.name, m.pool])).toEqual([
      ['a', 'p'],
      ['b', 'p'],
      ['c', 'p'],
    ]);
  });

  it('drops a member the reconciler no longer serves after it comes back', async () => {
    const upstreams = { a: await startUpstream('a'), b: await startUpstream('b') };
    const store = new MemoryLeaseStore();
    const first = await reconciler(store);
    const lease = await register(first.url, 'gpu1', [entry('a', { poolName: 'p', url: upstreams.a.url })]);
    await register(first.url, 'gpu2', [entry('b', { poolName: 'p', url: upstreams.b.url })]);
    const { gateway } = await followingGateway(first.url);
    await waitFor('the first view', async () => (await modelIds(gateway.url)).join() === 'a,b,p');

    await first.harness.close();
    await waitFor('unreachable', async () => ((await get(`${gateway.url}/readyz`)).json as { reconciler: string }).reconciler.startsWith('unreachable'));
    const second = await reconciler(store, Number(new URL(first.url).port));
    await beat(second.url, 'gpu1', lease);
    // gpu2 deregisters while the gateway reconnects: b is gone from the re-listed view.
    const gone = await fetch(`${second.url}/api/v1/agents/gpu2`, { method: 'DELETE' });
    expect(gone.status).toBeLessThan(300);
    await waitFor('the re-listed view without b', async () => (await modelIds(gateway.url)).join() === 'a,p');
    for (let i = 0; i < 3; i++) expect((await chat(gateway, 'p')).headers['x-mcpctl-member']).toBe('a');
    expect((await stateOf(gateway.url)).map((m) => m.name)).toEqual(['a']);
  });
});
