// Members that fail, against a real gateway and real fake upstreams: retries on another member
// (never the same twice, at most --retries), 502 after the last one, cooldowns after 3 failures
// in a row or a 429's Retry-After, a pool of one that never cools down, panic mode, --timeout,
// and drained members. Least-load's ties go to the first member by name (random is () => 0), so
// which member a request tries first is known.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { closeGateways, expectOpenAiError, metricsText, memberView, modelIds, openStream, post, samples, startGateway, stateOf, type RunningGateway } from './support/gateway.js';
import { chunk, closeUpstreams, refusingUrl, startBlackhole, startUpstream, type Behaviour, type Upstream } from './support/upstreams.js';

afterEach(async () => {
  await closeGateways();
  await closeUpstreams();
});

const UNAVAILABLE: Behaviour = { kind: 'status', status: 503 };

async function pool(behaviours: Record<string, Behaviour>, settings: Parameters<typeof startGateway>[0] = {}): Promise<{ gateway: RunningGateway; up: Record<string, Upstream> }> {
  const up: Record<string, Upstream> = {};
  for (const [name, behaviour] of Object.entries(behaviours)) up[name] = await startUpstream(name, behaviour);
  const gateway = await startGateway({ views: Object.entries(up).map(([name, u]) => memberView(name, { pool: 'p', url: u.url })), ...settings });
  return { gateway, up };
}

const chat = (gateway: RunningGateway, model = 'p') => post(`${gateway.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hi' }] });
const requestCounts = (up: Record<string, Upstream>) => Object.fromEntries(Object.entries(up).map(([name, u]) => [name, u.requests.length]));

describe('every member failing', () => {
  it('is a 502 upstream_error naming every member tried, each tried once', async () => {
    const { gateway, up } = await pool({ a: UNAVAILABLE, b: UNAVAILABLE, c: UNAVAILABLE });
    const error = expectOpenAiError(await chat(gateway), 502, 'upstream_error', 'upstream_error');
    expect(error.message).toContain('a (HTTP 503)');
    expect(error.message).toContain('b (HTTP 503)');
    expect(error.message).toContain('c (HTTP 503)');
    expect(requestCounts(up)).toEqual({ a: 1, b: 1, c: 1 });
  });

  it('tries at most --retries other members', async () => {
    const { gateway, up } = await pool({ a: UNAVAILABLE, b: UNAVAILABLE, c: UNAVAILABLE }, { settings: { retries: 1 } });
    const error = expectOpenAiError(await chat(gateway), 502, 'upstream_error', 'upstream_error');
    expect(requestCounts(up)).toEqual({ a: 1, b: 1, c: 0 });
    expect(error.message).toMatch(/a \(HTTP 503\); b \(HTTP 503\)$/);
    expect(samples(await metricsText(gateway.url), 'mcpctl_gateway_retries_total{')).toEqual(['mcpctl_gateway_retries_total{pool="p"} 1']);
  });

  it('never tries the same member twice, even with more retries than members', async () => {
    const { gateway, up } = await pool({ a: UNAVAILABLE, b: UNAVAILABLE }, { settings: { retries: 5 } });
    const error = expectOpenAiError(await chat(gateway), 502, 'upstream_error', 'upstream_error');
    expect(error.message).toContain('every member tried');
    expect(requestCounts(up)).toEqual({ a: 1, b: 1 });
  });

  it('--retries 0 tries one member only', async () => {
    const { gateway, up } = await pool({ a: UNAVAILABLE, b: { kind: 'json' } }, { settings: { retries: 0 } });
    expectOpenAiError(await chat(gateway), 502, 'upstream_error', 'upstream_error');
    expect(requestCounts(up)).toEqual({ a: 1, b: 0 });
  });
});

describe('a retry on another member', () => {
  it('after a connection refusal succeeds', async () => {
    const b = await startUpstream('b');
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: await refusingUrl() }), memberView('b', { pool: 'p', url: b.url })] });
    const answer = await chat(gateway);
    expect(answer.status).toBe(200);
    expect(answer.headers['x-mcpctl-member']).toBe('b');
    expect(b.requests.length).toBe(1);
  });

  it.each([
    ['a 503', UNAVAILABLE],
    ['a 429', { kind: 'status', status: 429 } satisfies Behaviour],
    ['a 500', { kind: 'status', status: 500 } satisfies Behaviour],
    // Nothing reached the client: the 200's headers wait for the first byte of its body.
    ['a 200 that breaks off before its first byte', { kind: 'json', cutAfterBytes: 0 } satisfies Behaviour],
  ])('after %s succeeds, and the member that failed saw the request once', async (_what, failing) => {
    const { gateway, up } = await pool({ a: failing, b: { kind: 'json' } });
    const answer = await chat(gateway);
    expect(answer.status).toBe(200);
    expect(answer.headers['x-mcpctl-member']).toBe('b');
    expect(answer.json).toMatchObject({ choices: [{ message: { content: 'hello from b' } }] });
    expect(requestCounts(up)).toEqual({ a: 1, b: 1 });
  });

  it('a 4xx other than 429 is the answer, not a failure', async () => {
    const { gateway, up } = await pool({ a: { kind: 'status', status: 400 }, b: { kind: 'json' } });
    const answer = await chat(gateway);
    expect(answer.status).toBe(400);
    expect(answer.headers['x-mcpctl-member']).toBe('a');
    expect(requestCounts(up)).toEqual({ a: 1, b: 0 });
  });
});

describe('cooldowns', () => {
  it('3 failures in a row cool a member down, visible in the state endpoint and /metrics', async () => {
    const cooldownMs = 60_000;
    const { gateway, up } = await pool({ a: UNAVAILABLE, b: { kind: 'json' } }, { settings: { cooldownMs } });
    // Two failures are not yet a cooldown.
    for (let i = 0; i < 2; i++) expectOpenAiError(await chat(gateway, 'a'), 502, 'upstream_error', 'upstream_error');
    expect((await stateOf(gateway.url)).find((m) => m.name === 'a')?.cooldown).toBeNull();
    expectOpenAiError(await chat(gateway, 'a'), 502, 'upstream_error', 'upstream_error');

    const a = (await stateOf(gateway.url)).find((m) => m.name === 'a');
    expect(a).toMatchObject({ name: 'a', pool: 'p', inFlight: 0, cooldown: { reason: 'HTTP 503' } });
    const cooldown = a?.cooldown;
    if (cooldown == null) throw new Error('no cooldown');
    expect(Date.parse(cooldown.until) - Date.parse(cooldown.since)).toBe(cooldownMs);

    const metrics = await metricsText(gateway.url);
    expect(samples(metrics, 'mcpctl_gateway_cooldowns_total{')).toEqual(['mcpctl_gateway_cooldowns_total{pool="p",member="a"} 1']);
    expect(samples(metrics, 'mcpctl_gateway_member_cooldown_until_seconds{')).toEqual([`mcpctl_gateway_member_cooldown_until_seconds{pool="p",member="a"} ${Date.parse(cooldown.until) / 1000}`]);

    // The pool's requests now all go to b, though a wins least-load's tie.
    for (let i = 0; i < 3; i++) expect((await chat(gateway)).headers['x-mcpctl-member']).toBe('b');
    expect(requestCounts(up)).toEqual({ a: 3, b: 3 });
  });

  it('a cooled-down member takes requests again after --cooldown', async () => {
    const { gateway, up } = await pool({ a: UNAVAILABLE, b: { kind: 'json' } }, { settings: { cooldownMs: 300 } });
    for (let i = 0; i < 3; i++) await chat(gateway, 'a');
    expect((await stateOf(gateway.url)).find((m) => m.name === 'a')?.cooldown).not.toBeNull();
    up['a']?.behave({ kind: 'json' });
    await waitFor('the cooldown to end', async () => (await stateOf(gateway.url)).find((m) => m.name === 'a')?.cooldown === null);
    expect((await chat(gateway)).headers['x-mcpctl-member']).toBe('a');
  });

  it("a 429 with Retry-After cools the member down for that long at once", async () => {
    const { gateway } = await pool({ a: { kind: 'status', status: 429, headers: { 'retry-after': '120' } }, b: { kind: 'json' } });
    expect((await chat(gateway)).headers['x-mcpctl-member']).toBe('b');
    const cooldown = (await stateOf(gateway.url)).find((m) => m.name === 'a')?.cooldown;
    expect(cooldown?.reason).toBe('HTTP 429');
    expect(Date.parse(cooldown?.until ?? '') - Date.parse(cooldown?.since ?? '')).toBe(120_000);
  });

  it('a pool of one never cools down', async () => {
    const { gateway, up } = await pool({ solo: UNAVAILABLE });
    for (let i = 0; i < 5; i++) expectOpenAiError(await chat(gateway), 502, 'upstream_error', 'upstream_error');
    up['solo']?.behave({ kind: 'status', status: 429, headers: { 'retry-after': '600' } });
    expectOpenAiError(await chat(gateway), 502, 'upstream_error', 'upstream_error');
    expect(await stateOf(gateway.url)).toEqual([{ name: 'solo', pool: 'p', inFlight: 0, routable: true, cooldown: null }]);
    expect(samples(await metricsText(gateway.url), 'mcpctl_gateway_cooldowns_total{')).toEqual([]);
    up['solo']?.behave({ kind: 'json' });
    expect((await chat(gateway)).status).toBe(200);
    expect(requestCounts(up)).toEqual({ solo: 7 });
  });

  it('when every member cools down, the one whose cooldown ends first is tried (panic mode)', async () => {
    const { gateway, up } = await pool({ a: { kind: 'status', status: 429, headers: { 'retry-after': '3600' } }, b: UNAVAILABLE }, { settings: { cooldownMs: 60_000, retries: 0 } });
    expectOpenAiError(await chat(gateway, 'a'), 502, 'upstream_error', 'upstream_error');
    for (let i = 0; i < 3; i++) expectOpenAiError(await chat(gateway, 'b'), 502, 'upstream_error', 'upstream_error');
    const cooling = await stateOf(gateway.url);
    expect(cooling.map((m) => [m.name, m.cooldown?.reason])).toEqual([
      ['a', 'HTTP 429'],
      ['b', 'HTTP 503'],
    ]);

    up['a']?.behave({ kind: 'json' });
    up['b']?.behave({ kind: 'json' });
    const answer = await chat(gateway);
    expect(answer.status).toBe(200);
    // b's cooldown (60 s) ends before a's (an hour): b gets the request, and is healthy again.
    expect(answer.headers['x-mcpctl-member']).toBe('b');
    expect((await stateOf(gateway.url)).map((m) => [m.name, m.cooldown?.reason ?? null])).toEqual([
      ['a', 'HTTP 429'],
      ['b', null],
    ]);
    expect(requestCounts(up)).toEqual({ a: 1, b: 4 });
  });
});

describe('an upstream that never answers', () => {
  it('is given up after --timeout and the request retried on another member', async () => {
    const { gateway, up } = await pool({ a: { kind: 'hang' }, b: { kind: 'json' } }, { settings: { timeoutMs: 300 } });
    const answer = await chat(gateway);
    expect(answer.status).toBe(200);
    expect(answer.headers['x-mcpctl-member']).toBe('b');
    await waitFor('the silent member to see its request closed', () => up['a']?.requests[0]?.abortedAtMs != null);
  });

  it('every member silent is a 502 after the retries, each request closed', async () => {
    const { gateway, up } = await pool({ a: { kind: 'hang' }, b: { kind: 'hang' } }, { settings: { timeoutMs: 300, retries: 1 } });
    const error = expectOpenAiError(await chat(gateway), 502, 'upstream_error', 'upstream_error');
    expect(error.message).toContain('a (no answer within --timeout)');
    expect(error.message).toContain('b (no answer within --timeout)');
    await waitFor('both silent members to see their requests closed', () => up['a']?.requests[0]?.abortedAtMs != null && up['b']?.requests[0]?.abortedAtMs != null);
    expect((await stateOf(gateway.url)).map((m) => m.inFlight)).toEqual([0, 0]);
  });
});

describe('a member that cannot be reached', () => {
  it('is given up after --connect-timeout and the request retried on another member, then 502 when none is left', async () => {
    const blackhole = await startBlackhole();
    try {
      const b = await startUpstream('b');
      const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: blackhole.url }), memberView('b', { pool: 'p', url: b.url })], connectTimeoutMs: 300 });
      const answer = await chat(gateway);
      expect(answer.status).toBe(200);
      expect(answer.headers['x-mcpctl-member']).toBe('b');
      const error = expectOpenAiError(await chat(gateway, 'a'), 502, 'upstream_error', 'upstream_error');
      expect(error.message).toContain('a (connect timed out)');
    } finally {
      blackhole.close();
    }
  });
});

describe('a drained member', () => {
  it('gets no new request, and its in-flight request finishes', async () => {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { gateway, up } = await pool({ a: { kind: 'sse', chunks: [chunk('one'), chunk('two')], intervalMs: 5, holdAfter: 1, release: released }, b: { kind: 'json' } });
    const streaming = await openStream(`${gateway.url}/v1/chat/completions`, { model: 'p', stream: true, messages: [] });
    expect(streaming.headers['x-mcpctl-member']).toBe('a');

    const a = up['a'];
    const b = up['b'];
    if (a === undefined || b === undefined) throw new Error('no upstreams');
    gateway.setViews([memberView('a', { pool: 'p', url: a.url, phase: 'draining' }), memberView('b', { pool: 'p', url: b.url })]);
    for (let i = 0; i < 4; i++) expect((await chat(gateway)).headers['x-mcpctl-member']).toBe('b');
    expectOpenAiError(await chat(gateway, 'a'), 503, 'no_active_member', 'service_unavailable');
    expect(await modelIds(gateway.url)).toEqual(['b', 'p']);
    expect((await stateOf(gateway.url)).find((m) => m.name === 'a')?.inFlight).toBe(1);

    release();
    expect(await streaming.ended).toBe(true);
    expect(streaming.received()).toContain('data: [DONE]');
    expect(a.requests.length).toBe(1);
    await waitFor('a to have nothing in flight', async () => (await stateOf(gateway.url)).every((m) => m.inFlight === 0));
  });
});
