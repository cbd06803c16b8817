// --auth (DESIGN §3): the token file with file:line:col errors, 401/403 on every route, name
// globs for register:llms tokens, open health routes.
import { afterEach, describe, expect, it } from 'vitest';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import { parseAuthFile, sha256Hex, type AuthConfig } from '../../service/auth.js';
import { closeHarnesses, entry, registration, startHarness, type Harness } from './support/harness.js';

afterEach(closeHarnesses);

const AUTH_YAML = `tokens:
  - name: viewer
    sha256: ${sha256Hex('view-token')}
    roles: [view:llms]
  - name: syncer
    sha256: ${sha256Hex('sync-token')}
    roles: [sync:llms]
  - name: gpu1
    sha256: ${sha256Hex('gpu1-token')}
    roles: [register:llms]
    names: ["vllm-gpu1-*"]
  - name: fleet
    sha256: ${sha256Hex('fleet-token')}
    roles: [register:llms, view:llms]
`;

function authConfig(): AuthConfig {
  const parsed = parseAuthFile('auth.yaml', AUTH_YAML);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.config;
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

describe('the --auth file', () => {
  it('parses tokens with roles and name globs', () => {
    const config = authConfig();
    expect(config.tokens.map((t) => [t.name, [...t.roles], t.names])).toEqual([
      ['viewer', ['view:llms'], null],
      ['syncer', ['sync:llms'], null],
      ['gpu1', ['register:llms'], ['vllm-gpu1-*']],
      ['fleet', ['register:llms', 'view:llms'], null],
    ]);
  });

  it('takes a hash in uppercase as the same hash', () => {
    const parsed = parseAuthFile('auth.yaml', `tokens:\n  - name: a\n    sha256: ${sha256Hex('password').toUpperCase()}\n    roles: [view:llms]\n`);
    expect(parsed.ok && parsed.config.tokens[0]?.sha256.toString('hex')).toBe(sha256Hex('password'));
  });

  it('the DESIGN example hashes are SHA-256 of the token text', () => {
    expect(sha256Hex('password')).toBe('5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8');
  });

  it.each([
    ['an unknown role', 'tokens:\n  - name: a\n    sha256: ' + 'a'.repeat(64) + '\n    roles: [admin]\n', 'auth.yaml:4:13: tokens.0.roles.0: expected one of view:llms, sync:llms, register:llms, use:llms, found "admin"'],
    ['a hash that is not SHA-256 hex', 'tokens:\n  - name: a\n    sha256: abc\n    roles: [view:llms]\n', 'auth.yaml:3:13: tokens.0.sha256: expected 64 hex digits (SHA-256 of the token)'],
    ['an unknown field', 'tokens:\n  - name: a\n    sha256: ' + 'a'.repeat(64) + '\n    roles: [view:llms]\n    token: secret\n', 'auth.yaml:5:5: tokens.0.token: unknown field "token" (expected one of name, sha256, roles, names)'],
    ['a missing roles list', 'tokens:\n  - name: a\n    sha256: ' + 'a'.repeat(64) + '\n', 'auth.yaml:2:5: tokens.0.roles: required field is missing (expected a list)'],
    ['invalid YAML, at the opening bracket', 'tokens: [\n', 'auth.yaml:1:9: invalid YAML: flow sequence opened with [ is never closed (expected ])'],
    ['a misspelt field once, with a did-you-mean', 'tokens:\n  - name: a\n    sha265: ' + 'a'.repeat(64) + '\n    roles: [view:llms]\n', 'auth.yaml:3:5: tokens.0.sha265: unknown field "sha265" (did you mean "sha256"?)'],
    ['an empty roles list', 'tokens:\n  - name: a\n    sha256: ' + 'a'.repeat(64) + '\n    roles: []\n', 'auth.yaml:4:12: tokens.0.roles: expected at least 1 item, found an empty list'],
    ['an alias without an anchor', 'tokens: *x\n', 'auth.yaml:1:9: invalid YAML: alias *x has no anchor &x before it in this document (anchors do not cross ---)'],
    ['names on a token that cannot register', `tokens:\n  - name: a\n    sha256: ${'c'.repeat(64)}\n    roles: [view:llms]\n    names: ["x-*"]\n`, 'auth.yaml:5:12: tokens.0.names: names limits what a register:llms token may publish or a use:llms token may call; this token has neither role'],
    ['the same hash twice, whatever its case', `tokens:\n  - name: a\n    sha256: ${'b'.repeat(64)}\n    roles: [view:llms]\n  - name: b\n    sha256: ${'B'.repeat(64)}\n    roles: [sync:llms]\n`, 'auth.yaml:6:13: tokens.1.sha256: the same hash as token "a"'],
    ['the same hash twice', `tokens:\n  - name: a\n    sha256: ${'b'.repeat(64)}\n    roles: [view:llms]\n  - name: b\n    sha256: ${'b'.repeat(64)}\n    roles: [sync:llms]\n`, 'auth.yaml:6:13: tokens.1.sha256: the same hash as token "a"'],
  ])('reports %s at file:line:col', (_label, text, expected) => {
    const parsed = parseAuthFile('auth.yaml', text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors).toEqual([expected]);
  });

  it.each([
    ['a token instead of its hash', 'my-secret-token', 'auth.yaml:3:13: tokens.0.sha256: expected 64 hex digits (SHA-256 of the token)'],
    ['a numeric token, without a quote hint that would repeat it', '918273645', 'auth.yaml:3:13: tokens.0.sha256: expected a string, found a number'],
    ['a token in a list', '[my-secret-token]', 'auth.yaml:3:13: tokens.0.sha256: expected a string, found a list'],
  ])('never echoes what was put in a sha256 field (it may be a token pasted by mistake): %s', (_label, value, expected) => {
    const parsed = parseAuthFile('auth.yaml', `tokens:\n  - name: a\n    sha256: ${value}\n    roles: [view:llms]\n`);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors).toEqual([expected]);
    expect(parsed.errors.join('\n')).not.toMatch(/my-secret-token|918273645/);
  });
});

interface RouteCase {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  body?: unknown;
}

// Every route under /api/v1 with the role it needs.
const ROUTES: [RouteCase, 'view' | 'sync' | 'register'][] = [
  [{ method: 'GET', url: '/api/v1/llms' }, 'view'],
  [{ method: 'GET', url: '/api/v1/llms/qwen3' }, 'view'],
  [{ method: 'GET', url: '/api/v1/llms/qwen3/members' }, 'view'],
  [{ method: 'GET', url: '/api/v1/pools' }, 'view'],
  [{ method: 'GET', url: '/api/v1/plan' }, 'view'],
  [{ method: 'GET', url: '/api/v1/declared' }, 'view'],
  [{ method: 'GET', url: '/api/v1/status' }, 'view'],
  [{ method: 'POST', url: '/api/v1/sync', body: {} }, 'sync'],
  [{ method: 'POST', url: '/api/v1/agents/register', body: registration('gpu1', [entry('vllm-gpu1-qwen3')]) }, 'register'],
  [{ method: 'POST', url: '/api/v1/agents/gpu1/heartbeat', body: { leaseId: 'x', llms: [] } }, 'register'],
  [{ method: 'DELETE', url: '/api/v1/agents/gpu1' }, 'register'],
];

async function call(h: Harness, route: RouteCase, headers: Record<string, string>): Promise<{ status: number; code: string | undefined }> {
  const response = await h.app.inject({
    method: route.method,
    url: route.url,
    headers: route.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(route.body === undefined ? {} : { payload: JSON.stringify(route.body) }),
  });
  const body = response.json() as { error?: { code: string } };
  return { status: response.statusCode, code: body.error?.code };
}

describe('401 and 403 on every route', () => {
  it.each(ROUTES)('%o needs a valid token', async (route) => {
    const h = await startHarness({ auth: authConfig() });
    expect(await call(h, route, {})).toEqual({ status: 401, code: 'Unauthorized' });
    expect(await call(h, route, bearer('wrong-token'))).toEqual({ status: 401, code: 'Unauthorized' });
    expect(await call(h, route, { authorization: 'Basic dXNlcjpwYXNz' })).toEqual({ status: 401, code: 'Unauthorized' });
  });

  it.each(ROUTES)('%o needs its role (%s)', async (route, role) => {
    const h = await startHarness({ auth: authConfig() });
    const tokens = { view: 'view-token', sync: 'sync-token', register: 'gpu1-token' } as const;
    for (const [tokenRole, token] of Object.entries(tokens)) {
      const result = await call(h, route, bearer(token));
      if (tokenRole === role) expect([401, 403], `${tokenRole} on ${route.url}: ${result.status}`).not.toContain(result.status);
      else expect(result, `${tokenRole} on ${route.url}`).toEqual({ status: 403, code: 'Forbidden' });
    }
  });

  it('GET /watch needs view:llms', async () => {
    const h = await startHarness({ auth: authConfig() });
    const none = await h.app.inject({ method: 'GET', url: '/api/v1/watch' });
    expect(none.statusCode).toBe(401);
    const sync = await h.app.inject({ method: 'GET', url: '/api/v1/watch', headers: bearer('sync-token') });
    expect(sync.statusCode).toBe(403);
  });

  it('401 names the scheme and the reason', async () => {
    const h = await startHarness({ auth: authConfig() });
    const response = await h.app.inject({ method: 'GET', url: '/api/v1/llms' });
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toEqual({ error: { code: 'Unauthorized', message: 'missing bearer token: send Authorization: Bearer <token>' } });
    const forbidden = await h.app.inject({ method: 'GET', url: '/api/v1/llms', headers: bearer('sync-token') });
    expect(forbidden.json()).toEqual({ error: { code: 'Forbidden', message: 'token "syncer" lacks the role view:llms' } });
  });

  it('health, readiness and metrics need no token', async () => {
    const h = await startHarness({ auth: authConfig() });
    for (const url of ['/healthz', '/readyz', '/metrics']) expect((await h.app.inject(url)).statusCode, url).toBe(200);
  });
});

describe('name globs of a register:llms token', () => {
  it('a body naming an Llm outside the globs is refused whole with 403, naming it', async () => {
    const h = await startHarness({ auth: authConfig() });
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/agents/register',
      headers: { ...bearer('gpu1-token'), 'content-type': 'application/json' },
      payload: JSON.stringify(registration('gpu1', [entry('vllm-gpu1-qwen3'), entry('vllm-gpu2-qwen3')])),
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({ error: { code: 'Forbidden', message: 'token "gpu1" may not publish "vllm-gpu2-qwen3": allowed names are vllm-gpu1-*' } });
    expect(h.services.leases.agentCount).toBe(0);
  });

  it('names inside the globs register; a heartbeat naming one outside is refused', async () => {
    const h = await startHarness({ auth: authConfig() });
    const headers = { ...bearer('gpu1-token'), 'content-type': 'application/json' };
    const registered = await h.app.inject({ method: 'POST', url: '/api/v1/agents/register', headers, payload: JSON.stringify(registration('gpu1', [entry('vllm-gpu1-qwen3')])) });
    expect(registered.statusCode).toBe(200);
    const { leaseId } = registered.json() as RegistrationAnswer;
    const outside = await h.app.inject({
      method: 'POST',
      url: '/api/v1/agents/gpu1/heartbeat',
      headers,
      payload: JSON.stringify({ leaseId, llms: [entry('other-name')] }),
    });
    expect(outside.statusCode).toBe(403);
    const inside = await h.app.inject({ method: 'POST', url: '/api/v1/agents/gpu1/heartbeat', headers, payload: JSON.stringify({ leaseId, llms: [{ name: 'vllm-gpu1-qwen3', health: 'ok' }] }) });
    expect(inside.statusCode).toBe(200);
  });

  it('a limited token may not deregister an agent holding names outside its globs', async () => {
    const h = await startHarness({ auth: authConfig() });
    const fleet = { ...bearer('fleet-token'), 'content-type': 'application/json' };
    await h.app.inject({ method: 'POST', url: '/api/v1/agents/register', headers: fleet, payload: JSON.stringify(registration('gpu2', [entry('vllm-gpu2-qwen3')])) });
    const response = await h.app.inject({ method: 'DELETE', url: '/api/v1/agents/gpu2', headers: bearer('gpu1-token') });
    expect(response.statusCode).toBe(403);
    expect(h.services.leases.agentCount).toBe(1);
  });

  it('a limited token may not re-register an agent id whose lease holds names outside its globs', async () => {
    const h = await startHarness({ auth: authConfig() });
    const fleet = { ...bearer('fleet-token'), 'content-type': 'application/json' };
    await h.app.inject({ method: 'POST', url: '/api/v1/agents/register', headers: fleet, payload: JSON.stringify(registration('shared', [entry('vllm-gpu2-qwen3')])) });
    // An empty registration under the same agent id would drop vllm-gpu2-qwen3.
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/agents/register',
      headers: { ...bearer('gpu1-token'), 'content-type': 'application/json' },
      payload: JSON.stringify(registration('shared', [])),
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({ error: { code: 'Forbidden', message: 'token "gpu1" may not publish "vllm-gpu2-qwen3": allowed names are vllm-gpu1-*' } });
    expect(h.services.leases.namesOf('shared')).toEqual(['vllm-gpu2-qwen3']);
  });
});
