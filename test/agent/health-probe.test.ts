import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { stablePort } from '../support/ports.js';
import { afterEach, describe, expect, it } from 'vitest';
import { checkServedModels, createHealthProber, planProbe, probeProvider, withOllamaTag, type ProbeResult } from '../../agent/health-probe.js';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import { replayServer, type ReplayedServer } from '../support/server-fixture.js';

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

const closedPort = stablePort;

describe('probeProvider', () => {
  it('is ok when /models serves the configured model', async () => {
    const server = await standin('Qwen/Qwen3-8B');
    expect(await probeProvider({ url: server.url, model: 'Qwen/Qwen3-8B' })).toEqual({ health: 'ok' });
  });

  it("is failing with HTTP 503 and the server's words when the server answers 503", async () => {
    const server = await standin('Qwen/Qwen3-8B');
    server.setFailing(true);
    expect(await probeProvider({ url: server.url, model: 'Qwen/Qwen3-8B' })).toEqual({ health: 'failing', healthMessage: 'HTTP 503: the model server is unavailable' });
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
    expect(await probeProvider(target)).toEqual({ health: 'failing', healthMessage: 'HTTP 500: Internal Server Error' });
    expect(paths).toEqual(['/health', '/health']);
  });

  it('strips a trailing slash from the url before /models', () => {
    expect(planProbe({ url: 'http://g:8000/v1/', model: 'm' })).toEqual([{ url: 'http://g:8000/v1/models', reads: 'models' }]);
    expect(planProbe({ url: 'http://g:8000/v1', model: 'm', healthPath: '/health' })).toEqual([{ url: 'http://g:8000/health', reads: 'status' }]);
  });

  it.each([
    ['llamacpp', ['http://g:8080/health status', 'http://g:8080/v1/models models']],
    ['vllm', ['http://g:8080/health status', 'http://g:8080/v1/models models']],
    ['tgi', ['http://g:8080/health status']],
    ['ollama', ['http://g:8080/v1/models models']],
    ['openai', ['http://g:8080/v1/models models']],
    ['other', ['http://g:8080/v1/models models']],
  ] as const)('probes a %s server by %j unless healthPath is set', (type, steps) => {
    expect(planProbe({ type, url: 'http://g:8080/v1', model: 'm' }).map((s) => `${s.url} ${s.reads}`)).toEqual(steps);
    expect(planProbe({ type, url: 'http://g:8080/v1', model: 'm', healthPath: '/ready' })).toEqual([{ url: 'http://g:8080/ready', reads: 'status' }]);
  });
});

describe('probeProvider against recorded real servers (fixtures/servers)', () => {
  async function replay(name: string): Promise<ReplayedServer> {
    const server = await replayServer(name);
    cleanups.push(() => server.close());
    return server;
  }

  it('llama.cpp still loading its model is failing with its own words, though /v1/models answers', async () => {
    const server = await replay('llamacpp-loading');
    expect(await probeProvider({ type: 'llamacpp', url: `${server.origin}/v1`, model: 'qwen3-8b' })).toEqual({ health: 'failing', healthMessage: 'HTTP 503: Loading model' });
    expect(server.requests).toEqual(['GET /health -']);
  });

  it('llama.cpp with its model loaded is ok, checked by /health and then /v1/models; without --metrics it reports no load', async () => {
    const server = await replay('llamacpp-ready');
    expect(await probeProvider({ type: 'llamacpp', url: `${server.origin}/v1`, model: 'qwen3-8b' })).toEqual({ health: 'ok' });
    expect(await probeProvider({ type: 'llamacpp', url: `${server.origin}/v1`, model: 'qwen3-4b' })).toEqual({ health: 'failing', healthMessage: 'serves qwen3-8b, not qwen3-4b' });
    // A ready server is asked for its load; this one has no /metrics (a 404): no load, still ok.
    expect(server.requests).toEqual(['GET /health -', 'GET /v1/models -', 'GET /metrics -', 'GET /health -', 'GET /v1/models -']);
  });

  it.each([
    ['ggml-org/Qwen3-8B-GGUF:Q4_K_M', { health: 'ok' }],
    ['ggml-org/gemma-3-4b-it-GGUF:Q4_K_M', { health: 'failing', healthMessage: 'model ggml-org/gemma-3-4b-it-GGUF:Q4_K_M is loading' }],
    ['ggml-org/gpt-oss-20b-GGUF', { health: 'failing', healthMessage: 'model ggml-org/gpt-oss-20b-GGUF is unloaded' }],
    ['ggml-org/broken-GGUF:Q8_0', { health: 'failing', healthMessage: 'model ggml-org/broken-GGUF:Q8_0 failed to load (exit code 1)' }],
  ])('a llama.cpp router serving %s is %j', async (model, expected) => {
    const server = await replay('llamacpp-router');
    expect(await probeProvider({ type: 'llamacpp', url: `${server.origin}/v1`, model })).toEqual(expected);
  });

  it('vLLM started with --api-key is failing with its 401 without a key, ok with the key from apiKeyRef env', async () => {
    const server = await replay('vllm-api-key');
    const target = { type: 'vllm' as const, url: `${server.origin}/v1`, model: 'Qwen/Qwen3-8B' };
    expect(await probeProvider(target)).toEqual({ health: 'failing', healthMessage: 'HTTP 401: Unauthorized' });
    const env = { VLLM_KEY: 'sk-fixture-key-0123456789' };
    expect(await probeProvider({ ...target, apiKeyRef: { env: 'VLLM_KEY' } }, { env })).toEqual({ health: 'ok' });
    expect(server.requests.slice(2)).toEqual(['GET /health Bearer sk-fixture-key-0123456789', 'GET /v1/models Bearer sk-fixture-key-0123456789', 'GET /metrics Bearer sk-fixture-key-0123456789']);
  });

  it.each([
    ['vllm-metrics', 'vllm', 'Qwen/Qwen3-8B', { running: 3, waiting: 1, kvCacheUsage: 0.42 }],
    ['llamacpp-metrics', 'llamacpp', 'qwen3-8b', { running: 2, waiting: 5, kvCacheUsage: null }],
    ['tgi-metrics', 'tgi', 'tgi', { running: 8, waiting: 4, kvCacheUsage: null }],
  ] as const)('%s: a ready %s server reports its load from GET {origin}/metrics', async (name, type, model, load) => {
    const server = await replay(name);
    expect(await probeProvider({ type, url: `${server.origin}/v1`, model })).toEqual({ health: 'ok', load });
    expect(server.requests.at(-1)).toBe('GET /metrics -');
  });

  it('a failing server is not asked for its load; an Ollama or OpenAI endpoint never is', async () => {
    const loading = await replay('llamacpp-loading');
    await probeProvider({ type: 'llamacpp', url: `${loading.origin}/v1`, model: 'qwen3-8b' });
    expect(loading.requests).toEqual(['GET /health -']);
    const ollama = await replay('ollama');
    await probeProvider({ type: 'ollama', url: `${ollama.origin}/v1`, model: 'llama3.2' });
    expect(ollama.requests.some((r) => r.startsWith('GET /metrics'))).toBe(false);
  });

  it('the demo stand-in serves vLLM-style /metrics whose figures move from one probe to the next', async () => {
    const server = await startStandinServer({ model: 'Qwen/Qwen3-8B', metrics: true });
    cleanups.push(() => server.close());
    const target = { type: 'vllm' as const, url: server.url, model: 'Qwen/Qwen3-8B' };
    const first = await probeProvider(target);
    const second = await probeProvider(target);
    expect(first).toMatchObject({ health: 'ok', load: { running: expect.any(Number), waiting: expect.any(Number), kvCacheUsage: expect.any(Number) } });
    expect(second.load).not.toEqual(first.load);
    // Without `metrics` (the tests' stand-ins) /metrics is a 404: no load.
    expect(await probeProvider({ ...target, url: (await standin('Qwen/Qwen3-8B')).url })).toEqual({ health: 'ok' });
  });

  it('a /metrics answer that is not the Prometheus text format is no load, and no failure', async () => {
    const { origin } = await serve((req, res) => {
      if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>metrics live elsewhere</body></html>');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ id: 'm' }] }));
    });
    expect(await probeProvider({ type: 'vllm', url: `${origin}/v1`, model: 'm' })).toEqual({ health: 'ok' });
  });

  it('a wrong key is a 401 too, and a missing variable is failing with the name of the ref, never a key', async () => {
    const server = await replay('vllm-api-key');
    const target = { type: 'vllm' as const, url: `${server.origin}/v1`, model: 'Qwen/Qwen3-8B', apiKeyRef: { env: 'VLLM_KEY' } };
    expect(await probeProvider(target, { env: { VLLM_KEY: 'sk-wrong-key-98765' } })).toEqual({ health: 'failing', healthMessage: 'HTTP 401: Unauthorized' });
    expect(await probeProvider(target, { env: {} })).toEqual({ health: 'failing', healthMessage: 'apiKeyRef env VLLM_KEY is not set' });
  });

  it('a LiteLLM proxy answers 401 without a key and lists its models with the key read from apiKeyRef file', async () => {
    const server = await replay('litellm-master-key');
    const dir = await mkdtemp(join(tmpdir(), 'mcpctl-key-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const target = { type: 'openai' as const, url: `${server.origin}/v1`, model: 'gpt-4o' };
    expect(await probeProvider(target)).toEqual({ health: 'failing', healthMessage: 'HTTP 401: Authentication Error, No api key passed in.' });
    const keyFile = join(dir, 'litellm.key');
    expect(await probeProvider({ ...target, apiKeyRef: { file: keyFile } })).toEqual({ health: 'failing', healthMessage: `apiKeyRef file ${keyFile}: ENOENT (no such file)` });
    await writeFile(keyFile, 'sk-fixture-key-0123456789\n');
    expect(await probeProvider({ ...target, apiKeyRef: { file: keyFile } })).toEqual({ health: 'ok' });
  });

  it('vLLM whose engine died is failing with the status text of its empty 503', async () => {
    const server = await replay('vllm-engine-dead');
    expect(await probeProvider({ type: 'vllm', url: `${server.origin}/v1`, model: 'Qwen/Qwen3-8B' })).toEqual({ health: 'failing', healthMessage: 'HTTP 503: Service Unavailable' });
  });

  it('TGI is probed by /health alone', async () => {
    const ready = await replay('tgi-ready');
    expect(await probeProvider({ type: 'tgi', url: `${ready.origin}/v1`, model: 'any' })).toEqual({ health: 'ok' });
    const unhealthy = await replay('tgi-unhealthy');
    expect(await probeProvider({ type: 'tgi', url: `${unhealthy.origin}/v1`, model: 'any' })).toEqual({ health: 'failing', healthMessage: 'HTTP 503: unhealthy' });
  });

  it('Ollama serves an untagged model as :latest', async () => {
    const server = await replay('ollama');
    const probe = (model: string): Promise<ProbeResult> => probeProvider({ type: 'ollama', url: `${server.origin}/v1`, model });
    expect(await probe('llama3.2')).toEqual({ health: 'ok' });
    expect(await probe('llama3.2:latest')).toEqual({ health: 'ok' });
    expect(await probe('qwen3:8b')).toEqual({ health: 'ok' });
    expect(await probe('qwen3')).toEqual({ health: 'failing', healthMessage: 'serves llama3.2:latest, qwen3:8b, not qwen3' });
    expect(await probe('llama3.2:1b')).toEqual({ health: 'failing', healthMessage: 'serves llama3.2:latest, qwen3:8b, not llama3.2:1b' });
    // Another type compares names as they are.
    expect(await probeProvider({ type: 'openai', url: `${server.origin}/v1`, model: 'llama3.2' })).toMatchObject({ health: 'failing' });
  });
});

describe('withOllamaTag', () => {
  it.each([
    ['llama3.2', 'llama3.2:latest'],
    ['llama3.2:1b', 'llama3.2:1b'],
    ['registry.lan:5000/team/llama3', 'registry.lan:5000/team/llama3:latest'],
    ['registry.lan:5000/team/llama3:8b', 'registry.lan:5000/team/llama3:8b'],
  ])('%s is %s', (name, tagged) => {
    expect(withOllamaTag(name)).toBe(tagged);
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
