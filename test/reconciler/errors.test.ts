// The error registry and the one error shape: every code documented, bodies over 64 KiB are
// 413, malformed or ill-typed bodies are 400 with the field path, never a 5xx; unknown routes 404.
import fc from 'fast-check';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, renderErrorTable } from '../../reconciler/errors.js';
import { closeHarnesses, entry, registration, startHarness, type Harness } from './support/harness.js';

describe('the error registry', () => {
  it('is rendered as the documentation table, one row per code', async () => {
    const table = renderErrorTable();
    for (const code of Object.keys(ERROR_CODES)) expect(table).toContain(`| \`${code}\` |`);
    await expect(table).toMatchFileSnapshot('../golden/reconciler/error-codes.md');
  });

  it('every code has a 4xx/5xx status and a description, and is used by the reconciler', async () => {
    const sources = await readSources(join(import.meta.dirname, '../../reconciler'));
    for (const [code, { status, description }] of Object.entries(ERROR_CODES)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(description.length, code).toBeGreaterThan(10);
      expect(sources.some((text) => text.includes(`'${code}'`)), `${code} is declared but never answered`).toBe(true);
    }
  });
});

async function readSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts') && entry.name !== 'errors.ts') out.push(await readFile(join(entry.parentPath, entry.name), 'utf8'));
  }
  return out;
}

describe('the error shape', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(closeHarnesses);

  const post = async (url: string, payload: string, contentType = 'application/json'): Promise<{ status: number; body: unknown }> => {
    const response = await h.app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });
    return { status: response.statusCode, body: response.json() };
  };

  it('a body over 64 KiB is 413 PayloadTooLarge', async () => {
    const big = registration('gpu1', [entry('a', { healthMessage: 'x'.repeat(500) })]);
    const body = JSON.stringify({ ...big, version: 'v'.repeat(65 * 1024) });
    expect(await post('/api/v1/agents/register', body)).toEqual({ status: 413, body: { error: { code: 'PayloadTooLarge', message: 'request body exceeds 64 KiB' } } });
  });

  it('malformed JSON is 400 InvalidRequest', async () => {
    const { status, body } = await post('/api/v1/agents/register', '{"agentId": ');
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: 'InvalidRequest', message: expect.stringMatching(/^malformed JSON body: /) } });
  });

  it('a registration with a bad field is 400 InvalidRegistration naming the field path', async () => {
    const bad = registration('gpu1', [entry('ok-name'), { ...entry('Bad Name'), url: 'ftp://x' }]);
    const { status, body } = await post('/api/v1/agents/register', JSON.stringify(bad));
    expect(status).toBe(400);
    const message = (body as { error: { code: string; message: string } }).error.message;
    expect((body as { error: { code: string } }).error.code).toBe('InvalidRegistration');
    expect(message).toMatch(/^invalid registration: /);
    expect(message).toContain('llms.1.name: invalid name');
    expect(message).toContain('llms.1.url: expected an http(s) URL');
  });

  it('a heartbeat without leaseId is 400 InvalidRegistration', async () => {
    const { status, body } = await post('/api/v1/agents/gpu1/heartbeat', '{"llms": []}');
    expect(status).toBe(400);
    expect((body as { error: { message: string } }).error.message).toContain('leaseId');
  });

  it('a heartbeat entry that fits neither the partial nor the full form names the field of the closer one', async () => {
    const { status, body } = await post('/api/v1/agents/gpu1/heartbeat', JSON.stringify({ leaseId: 'x', llms: [{ name: 'a', health: 'bogus' }] }));
    expect(status).toBe(400);
    expect((body as { error: { message: string } }).error.message).toBe('invalid heartbeat: llms.0.health: Invalid option: expected one of "ok"|"failing"|"unknown"');
  });

  it('an empty JSON body to register is 400, not 500', async () => {
    expect((await post('/api/v1/agents/register', '')).status).toBe(400);
  });

  it('a body that is not JSON is 415 UnsupportedMediaType, text/plain included', async () => {
    for (const [body, type] of [['<xml/>', 'application/xml'], ['{"agentId":"gpu1"}', 'text/plain']] as const) {
      expect(await post('/api/v1/agents/register', body, type), type).toEqual({
        status: 415,
        body: { error: { code: 'UnsupportedMediaType', message: 'request bodies must be application/json' } },
      });
    }
  });

  it('an unknown route or method is 404 NotFound in the same shape', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/api/v1/nothing?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: 'NotFound', message: 'no route GET /api/v1/nothing' } });
    expect((await h.app.inject({ method: 'PUT', url: '/api/v1/llms' })).json()).toMatchObject({ error: { code: 'NotFound' } });
  });

  it('no JSON value sent to an agent route is answered with a 5xx', async () => {
    const routes = ['/api/v1/agents/register', '/api/v1/agents/gpu1/heartbeat'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 4 }), async (url, value) => {
        const { status, body } = await post(url, JSON.stringify(value));
        expect(status).toBeLessThan(500);
        if (status >= 400) expect(body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      }),
      { numRuns: 150 },
    );
  });

  it('registration-shaped bodies with arbitrary field values are never a 5xx', async () => {
    const anything = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }));
    await fc.assert(
      fc.asyncProperty(
        fc.record({ agentId: anything, host: anything, version: anything, llms: fc.array(fc.record({ name: anything, type: anything, model: anything, url: anything, health: anything }), { maxLength: 3 }) }),
        async (body) => {
          const { status } = await post('/api/v1/agents/register', JSON.stringify(body));
          expect([200, 400]).toContain(status);
        },
      ),
      { numRuns: 150 },
    );
  });
});
