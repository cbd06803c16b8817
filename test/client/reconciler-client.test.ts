// The headless client over real HTTP: against a real reconciler every answer parses to exactly
// what was served (the view schemas describe every field, in the order it is written), and an
// answer of the wrong shape, a broken body, an error status or no server at all is its typed error.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { HttpError, InvalidServerUrl, MalformedAnswer, ReconcilerUnreachable } from '../../client/errors.js';
import { ReconcilerClient } from '../../client/reconciler-client.js';
import type { WatchEvent } from '../../client/watch-stream.js';
import { closeHarnesses, entry, FLEET_FILES, GPU, registration, startHarness } from '../reconciler/support/harness.js';
import { stablePort } from '../support/ports.js';
import { waitFor } from '../support/wait-for.js';
import { buildTuiFleet } from '../tui/support/tui-fleet.js';

describe('against a real reconciler', () => {
  let server: string;
  let client: ReconcilerClient;

  beforeAll(async () => {
    const harness = await startHarness();
    server = await harness.listen();
    client = new ReconcilerClient({ server });
    const register = async (agentId: string, llms: ReturnType<typeof entry>[]): Promise<void> => {
      const response = await fetch(`${server}/api/v1/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(registration(agentId, llms, [GPU])) });
      expect(response.status).toBe(200);
    };
    // Managed (one drifting from Git), draining, virtual, static and a legacy solo: every status shape.
    await register('gpu1', [entry('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking', model: 'Qwen/Qwen3-32B' })]);
    await register('gpu2', [entry('vllm-gpu2-qwen3', { poolName: 'user-vllm-qwen3-thinking' }), entry('scratch-gpu2', { health: 'failing' })]);
    // A rejected revision after the served one: status carries errors and history.
    harness.desired.serve({ ...FLEET_FILES, 'llms/broken.yaml': 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: Bad_Name\nspec:\n  type: vllm\n' }, 'rev-2');
  });

  afterAll(() => closeHarnesses());

  /** The answer as served, written back as JSON: what `get -o json` printed before answers were parsed. */
  async function served(path: string, init?: RequestInit): Promise<string> {
    const response = await fetch(`${server}${path}`, init);
    return JSON.stringify(await response.json());
  }

  test('each route parses to exactly what it served', async () => {
    expect(JSON.stringify(await client.listLlms())).toBe(await served('/api/v1/llms'));
    expect(JSON.stringify(await client.listLlms('user-vllm-qwen3-thinking'))).toBe(await served('/api/v1/llms?pool=user-vllm-qwen3-thinking'));
    expect(JSON.stringify(await client.getLlm('vllm-gpu1-qwen3'))).toBe(await served('/api/v1/llms/vllm-gpu1-qwen3'));
    expect(JSON.stringify(await client.getLlm('openai-gpt4o'))).toBe(await served('/api/v1/llms/openai-gpt4o'));
    expect(JSON.stringify(await client.members('vllm-gpu2-qwen3'))).toBe(await served('/api/v1/llms/vllm-gpu2-qwen3/members'));
    expect(JSON.stringify(await client.listPools())).toBe(await served('/api/v1/pools'));
    expect(JSON.stringify(await client.status())).toBe(await served('/api/v1/status'));
    expect(JSON.stringify(await client.health())).toBe(await served('/healthz'));
    const sync = await client.sync();
    expect(sync.result).toBe('unchanged');
  });

  test('the answers cover every kind, phase and optional field the fleet has', async () => {
    const { items } = await client.listLlms();
    expect(new Set(items.map((v) => v.status.kind))).toEqual(new Set(['managed', 'static', 'virtual', 'declared']));
    expect(items.find((v) => v.metadata.name === 'vllm-gpu1-qwen3')?.status.drift).not.toEqual([]);
    expect((await client.status()).errors).not.toEqual([]);
  });

  test('404 is null for one Llm and its members', async () => {
    expect(await client.getLlm('nope')).toBeNull();
    expect(await client.members('nope')).toBeNull();
  });

  test('watch hands on typed events until aborted', async () => {
    const events: WatchEvent[] = [];
    const controller = new AbortController();
    const watching = client.watch((e) => events.push(e), controller.signal);
    await waitFor('the opening ADDED events', () => events.filter((e) => e.type === 'ADDED').length >= 5);
    controller.abort();
    await watching;
    const names = events.flatMap((e) => (e.type === 'STATUS' || e.type === 'HEARTBEAT' ? [] : [e.view.metadata.name]));
    expect(names).toContain('vllm-gpu1-qwen3');
  });

  test('an error status is an HttpError with the reconciler code and message', async () => {
    const error = await fetchError(() => new ReconcilerClient({ server: `${server}/nowhere` }).status());
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(404);
    expect((error as HttpError).code).toBe('NotFound');
    expect((error as HttpError).message).toBe(`${server}/nowhere answered 404 NotFound: no route GET /nowhere/api/v1/status`);
  });
});

describe('answers that are not what the route promises', () => {
  let stub: Server;
  let base: string;
  let body = '';

  beforeAll(async () => {
    stub = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => stub.close(() => resolve())));
  afterEach(() => {
    body = '';
  });

  test('a field of the wrong shape is one line naming the route and the field', async () => {
    const view = buildTuiFleet().view('vllm-gpu1-qwen3');
    body = JSON.stringify({ revision: null, items: [view, { ...view, status: { ...view.status, phase: 'up' } }] });
    const error = await fetchError(() => new ReconcilerClient({ server: base }).listLlms());
    expect(error).toBeInstanceOf(MalformedAnswer);
    expect((error as Error).message).toBe(
      `GET ${base}/api/v1/llms answered with a body of the wrong shape: items.1.status.phase: expected one of "active", "pending", "stale", "unhealthy", "draining", "unknown", found "up"`,
    );
  });

  test('missing fields are named, and how many more problems there are', async () => {
    body = JSON.stringify({ revision: 'r', items: [{ apiVersion: 'mcpctl/v1', kind: 'Llm', metadata: { name: 'a' }, spec: { type: 'vllm', model: 'm' }, status: {} }] });
    const error = await fetchError(() => new ReconcilerClient({ server: base }).listLlms());
    expect((error as Error).message).toBe(
      `GET ${base}/api/v1/llms answered with a body of the wrong shape: items.0.status.kind: missing (expected one of "managed", "static", "virtual", "declared") (and 7 more)`,
    );
  });

  test('a wrong value names what was expected and what was found', async () => {
    body = JSON.stringify({ items: [{ key: 'p', explicit: true, size: '2', activeCount: 1, minActive: 0, health: 'Healthy', declared: false, members: [] }] });
    const error = await fetchError(() => new ReconcilerClient({ server: base }).listPools());
    expect((error as Error).message).toBe(`GET ${base}/api/v1/pools answered with a body of the wrong shape: items.0.size: expected number, found "2"`);
  });

  test('a body that is not JSON says so', async () => {
    body = '<html>proxy error</html>';
    const error = await fetchError(() => new ReconcilerClient({ server: base }).status());
    expect(error).toBeInstanceOf(MalformedAnswer);
    expect((error as Error).message).toBe(`${base}/api/v1/status answered 200 with a body that is not JSON`);
  });
});

describe('slow answers', () => {
  test('a read slower than timeoutMs is unreachable (timeout); a sync may take longer, as a sync reads Git or waits for the leader', async () => {
    const delayMs = 400;
    const slow = createServer((request, response) => {
      request.resume();
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(request.url === '/api/v1/sync' ? JSON.stringify({ revision: 'r', result: 'unchanged', errors: [] }) : JSON.stringify({ status: 'ok' }));
      }, delayMs);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const server = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
      const client = new ReconcilerClient({ server, timeoutMs: 100 });
      const error = await fetchError(() => client.health());
      expect(error).toBeInstanceOf(ReconcilerUnreachable);
      expect(await client.sync()).toMatchObject({ revision: 'r', result: 'unchanged' });
      // And it has a bound of its own.
      const bounded = await fetchError(() => new ReconcilerClient({ server, timeoutMs: 100, syncTimeoutMs: 100 }).sync());
      expect(bounded).toBeInstanceOf(ReconcilerUnreachable);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});

describe('no reconciler at all', () => {
  test('a closed port is ReconcilerUnreachable with the socket error', async () => {
    const port = await stablePort();
    const error = await fetchError(() => new ReconcilerClient({ server: `http://127.0.0.1:${port}` }).listLlms());
    expect(error).toBeInstanceOf(ReconcilerUnreachable);
    expect((error as Error).message).toBe(`cannot reach the reconciler at http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  test('a server that is not an http(s) URL is InvalidServerUrl', async () => {
    const error = await fetchError(() => new ReconcilerClient({ server: 'ftp://x' }).listLlms());
    expect(error).toBeInstanceOf(InvalidServerUrl);
    expect((error as InvalidServerUrl).server).toBe('ftp://x');
  });
});

async function fetchError(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}
