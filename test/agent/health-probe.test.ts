import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkServedModels, createHealthProber, probeProvider, resolveProbeUrl, type ProbeResult } from '../../agent/health-probe.js';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function standin(model: string): Promise<StandinServer> {
  const server = await startStandinServer({ model });
  cleanups.push(() => server.close());
  return server;
}

/** A real HTTP server with a hand-written handler; requests are recorded by path. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ origin: string; paths: string[] }> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    handler?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('probeProvider', () => {
  it('is ok when /models serves the configured model', async () => {
    const server = await standin('Qwen/Qwen3-8B');
    expect(await probeProvider({ url: server.url, model: 'Qwen/Qwen3-8B' })).toEqual({ health: 'ok' });
  });

  it('is failing with HTTP 503 when the server answers 503', async () => {
    const server = await standin('Qwen/Qwen3-8B');
    server.setFailing(true);
    expect(await probeProvider({ url: server.url, model: 'Qwen/Qwen3-8B' })).toEqual({ health: 'failing', healthMessage: 'HTTP 503' });
    server.setFailing(false);
    expect(await probeProvider({ url: server.url, model: 'Qwen/Qwen3-8B' })).toEqual({ health: 'ok' });
  });

  it('is failing with ECONNREFUSED when nothing listens', async () => {
    const port = await closedPort();
    expect(await probeProvider({ url: `http://127.0.0.1:${port}/v1`, model: 'm' })).toEqual({ health: 'failing', healthMessage: 'ECONNREFUSED' });
  });

  it('is failing with a timeout when the server does not answer in time', async () => {
    const { origin } = await serve(() => {
      // Never answers.
    });
    expect(await probeProvider({ url: `${origin}/v1`, model: 'm' }, { timeoutMs: 150 })).toEqual({ health: 'failing', healthMessage: 'timeout after 150ms' });
  });

  it('is failing when the server serves another model, naming both', async () => {
    const server = await standin('Qwen/Qwen3-4B');
    expect(await probeProvider({ url: server.url, model: 'Qwen/Qwen3-8B' })).toEqual({ health: 'failing', healthMessage: 'serves Qwen/Qwen3-4B, not Qwen/Qwen3-8B' });
  });

  it('asks {origin}{healthPath} when healthPath is set, and needs only a 2xx', async () => {
    let healthy = true;
    const { origin, paths } = await serve((req, res) => {
      res.writeHead(req.url === '/health' && healthy ? 200 : 500).end('');
    });
    const target = { url: `${origin}/v1`, model: 'anything', healthPath: '/health' };
    expect(await probeProvider(target)).toEqual({ health: 'ok' });
    healthy = false;
    expect(await probeProvider(target)).toEqual({ health: 'failing', healthMessage: 'HTTP 500' });
    expect(paths).toEqual(['/health', '/health']);
  });

  it('strips a trailing slash from the url before /models', () => {
    expect(resolveProbeUrl({ url: 'http://g:8000/v1/', model: 'm' })).toBe('http://g:8000/v1/models');
    expect(resolveProbeUrl({ url: 'http://g:8000/v1', model: 'm', healthPath: '/health' })).toBe('http://g:8000/health');
  });
});

describe('checkServedModels', () => {
  it.each([
    ['not JSON', 'oops', '/models answered something other than JSON'],
    ['no data list', '{"object":"list"}', '/models answer has no data list'],
    ['an empty list', '{"data":[]}', 'serves no model, not m'],
    ['many others', '{"data":[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"},{"id":"e"}]}', 'serves a, b, c and 2 more, not m'],
  ])('fails on %s', (_case, body, message) => {
    expect(checkServedModels(body, 'm')).toEqual({ health: 'failing', healthMessage: message });
  });
});

describe('createHealthProber', () => {
  it('keeps at most one probe in flight per provider', async () => {
    let started = 0;
    let finish: (result: ProbeResult) => void = () => {};
    const prober = createHealthProber(() => {
      started++;
      return new Promise((resolve) => {
        finish = resolve;
      });
    });
    const provider = { name: 'a', type: 'vllm' as const, model: 'm', url: 'http://g:1/v1' };
    const first = prober.probe(provider);
    const second = prober.probe(provider);
    expect(started).toBe(1);
    finish({ health: 'ok' });
    expect(await first).toEqual({ health: 'ok' });
    expect(await second).toEqual({ health: 'ok' });
    void prober.probe(provider);
    expect(started).toBe(2);
  });
});

describe('startStandinServer', () => {
  it('answers a chat completion for its model', async () => {
    const server = await standin('Qwen/Qwen3-8B');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const response = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'Qwen/Qwen3-8B', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; model: string; choices: { message: { role: string; content: string } }[] };
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('Qwen/Qwen3-8B');
    expect(body.choices[0]?.message).toEqual({ role: 'assistant', content: 'Hello from the Qwen/Qwen3-8B stand-in.' });
  });

  it('lists its model in the OpenAI shape', async () => {
    const server = await standin('llama-3.1-8b');
    const body = (await (await fetch(`${server.url}/models`)).json()) as { object: string; data: { id: string; object: string }[] };
    expect(body.object).toBe('list');
    expect(body.data.map((d) => [d.id, d.object])).toEqual([['llama-3.1-8b', 'model']]);
  });
});
