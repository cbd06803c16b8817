// Static endpoints are probed with GET {url}/models against a real local HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StaticProber } from '../../reconciler/static-prober.js';
import type { LlmView } from '../../schema/views.js';
import { closeHarnesses, getJson, startHarness } from './support/harness.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await closeHarnesses();
});

async function endpoint(status: number, seen: string[]): Promise<string> {
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    res.writeHead(status, { 'content-type': 'application/json' }).end('{"data":[]}');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

function staticLlm(name: string, url: string): string {
  return `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: ${name}\nspec:\n  type: openai\n  model: m\n  url: ${url}\n  source: static\n  apiKeyRef: { env: TEST_KEY }\n`;
}

describe('StaticProber', () => {
  it('marks an endpoint that answers active and one that fails unhealthy, with the key from apiKeyRef', async () => {
    const seen: string[] = [];
    const up = await endpoint(200, seen);
    const down = await endpoint(503, seen);
    const h = await startHarness({ files: { 'llms/a.yaml': staticLlm('up', up), 'llms/b.yaml': staticLlm('down', down) } });
    expect(((await getJson(h.app, '/api/v1/llms/up')).body as LlmView).status.phase).toBe('unknown');
    const prober = new StaticProber({
      declared: h.services.declared,
      report: (name, probe) => h.services.state.setProbe(name, probe),
      intervalMs: 60_000,
      env: { TEST_KEY: 'k-123' },
    });
    await prober.probeAll();
    expect(((await getJson(h.app, '/api/v1/llms/up')).body as LlmView).status).toMatchObject({ phase: 'active', reason: 'static endpoint answers' });
    expect(((await getJson(h.app, '/api/v1/llms/down')).body as LlmView).status).toMatchObject({ phase: 'unhealthy', reason: 'endpoint failing: HTTP 503 from GET /models' });
    expect(seen.sort()).toEqual(['GET /v1/models Bearer k-123', 'GET /v1/models Bearer k-123']);
    await prober.stop();
  });

  it('names the network error of an endpoint nobody listens on', async () => {
    const seen: string[] = [];
    const url = await endpoint(200, seen);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const h = await startHarness({ files: { 'llms/a.yaml': staticLlm('gone', url) } });
    const prober = new StaticProber({ declared: h.services.declared, report: (name, probe) => h.services.state.setProbe(name, probe), intervalMs: 60_000, env: {} });
    await prober.probeAll();
    expect(((await getJson(h.app, '/api/v1/llms/gone')).body as LlmView).status.reason).toBe('endpoint failing: ECONNREFUSED');
  });
});
