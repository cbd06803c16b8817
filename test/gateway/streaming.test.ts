// Streamed answers through a real gateway: passed through chunk by chunk as they come, a member
// that dies mid-stream ends the client's stream with an error event, and a client that goes away
// (mid-stream or before the first byte) gets the member's request aborted at once.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { closeGateways, get, memberView, metricsText, openStream, post, samples, sendAndHold, startGateway, stateOf } from './support/gateway.js';
import { chunk, closeUpstreams, sseText, startUpstream } from './support/upstreams.js';

afterEach(async () => {
  await closeGateways();
  await closeUpstreams();
});

const CHUNKS = ['Hel', 'lo', ', ', 'wor', 'ld'].map(chunk);
const streamBody = { model: 'p', stream: true, messages: [{ role: 'user', content: 'hi' }] };

/** Whoever stops first: the predicate holding, or a generous deadline (a hung test fails, it does not wait forever). */
const ABORT_DEADLINE_MS = 5_000;

describe('streaming', () => {
  it('is passed through chunk by chunk: the client has the first chunk before the member sent the last', async () => {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const upstream = await startUpstream('a', { kind: 'sse', chunks: CHUNKS, intervalMs: 5, holdAfter: 1, release: released });
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url })] });

    const stream = await openStream(`${gateway.url}/v1/chat/completions`, streamBody);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.headers['x-mcpctl-member']).toBe('a');
    await waitFor('the first chunk to reach the client', () => stream.received() === `data: ${CHUNKS[0] ?? ''}\n\n`);
    // The member holds the rest back until released: nothing was buffered waiting for it.
    expect(upstream.requests[0]?.chunksSent).toBe(1);
    release();
    expect(await stream.ended).toBe(true);
    expect(stream.received()).toBe(sseText(CHUNKS));
  });

  it('passes every byte of a stream on a timer through unchanged', async () => {
    const upstream = await startUpstream('a', { kind: 'sse', chunks: CHUNKS, intervalMs: 10 });
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url })] });
    const stream = await openStream(`${gateway.url}/v1/chat/completions`, streamBody);
    expect(await stream.ended).toBe(true);
    expect(stream.received()).toBe(sseText(CHUNKS));
    expect(await stateOf(gateway.url)).toEqual([{ name: 'a', pool: 'p', inFlight: 0, routable: true, cooldown: null }]);
  });
});

describe('shutting the gateway down', () => {
  it('lets a stream in flight finish, and refuses new connections', async () => {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const upstream = await startUpstream('a', { kind: 'sse', chunks: CHUNKS, intervalMs: 5, holdAfter: 1, release: released });
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url })] });
    const stream = await openStream(`${gateway.url}/v1/chat/completions`, streamBody);
    await waitFor('the first chunk', () => stream.received().length > 0);
    const closed = gateway.app.close();
    await waitFor('the listener to close', () => !gateway.app.server.listening);
    await expect(get(`${gateway.url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
    release();
    expect(await stream.ended).toBe(true);
    expect(stream.received()).toBe(sseText(CHUNKS));
    await closed;
  });
});

describe('a member that dies mid-stream', () => {
  it('ends the client stream with an error event, and its failure is counted', async () => {
    const dying = await startUpstream('a', { kind: 'sse', chunks: CHUNKS, intervalMs: 5, dieAfter: 2 });
    const other = await startUpstream('b');
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: dying.url }), memberView('b', { pool: 'p', url: other.url })] });

    const stream = await openStream(`${gateway.url}/v1/chat/completions`, streamBody);
    expect(stream.headers['x-mcpctl-member']).toBe('a');
    const ended = await Promise.race([stream.ended, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ABORT_DEADLINE_MS))]);
    expect(ended).not.toBe('hung');
    const text = stream.received();
    expect(text.startsWith(`data: ${CHUNKS[0] ?? ''}\n\ndata: ${CHUNKS[1] ?? ''}\n\n`)).toBe(true);
    const events = text.trim().split('\n\n');
    const last = JSON.parse((events.at(-1) ?? '').replace(/^data: /, '')) as { error: { type: string; code: string; message: string } };
    expect(last.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
    expect(last.error.message).toContain('member a failed mid-stream');
    expect(text).not.toContain('[DONE]');
    // Bytes had reached the client: the request is not retried on b.
    expect(other.requests.length).toBe(0);

    expect(gateway.states.get('a').consecutiveFailures).toBe(1);
    const metrics = await metricsText(gateway.url);
    expect(samples(metrics, 'mcpctl_gateway_requests_total{')).toEqual(['mcpctl_gateway_requests_total{pool="p",member="a",status="502"} 1']);
    expect((await stateOf(gateway.url)).find((m) => m.name === 'a')?.inFlight).toBe(0);
  });

  it('cuts a JSON answer it broke off, so that it cannot pass as whole, and counts the failure', async () => {
    const dying = await startUpstream('a', { kind: 'json', cutAfterBytes: 20 });
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: dying.url })] });
    await expect(post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [] })).rejects.toThrow(/cut|socket hang up|aborted/);
    await waitFor('the failure to be counted', () => gateway.states.get('a').consecutiveFailures === 1);
    expect((await stateOf(gateway.url))[0]?.inFlight).toBe(0);
  });

  it('three deaths in a row cool it down like any other failure', async () => {
    const dying = await startUpstream('a', { kind: 'sse', chunks: CHUNKS, intervalMs: 1, dieAfter: 1 });
    const other = await startUpstream('b');
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: dying.url }), memberView('b', { pool: 'p', url: other.url })] });
    for (let i = 0; i < 3; i++) await (await openStream(`${gateway.url}/v1/chat/completions`, { ...streamBody, model: 'a' })).ended;
    const a = (await stateOf(gateway.url)).find((m) => m.name === 'a');
    expect(a?.cooldown?.reason).toMatch(/^the answer broke off/);
  });
});

describe('a member whose stream stalls', () => {
  it('longer than --timeout between two chunks ends the client stream with an error event, never a hung client', async () => {
    const never = new Promise<void>(() => undefined);
    const upstream = await startUpstream('a', { kind: 'sse', chunks: CHUNKS, intervalMs: 1, holdAfter: 1, release: never });
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url })], settings: { timeoutMs: 300 } });
    const stream = await openStream(`${gateway.url}/v1/chat/completions`, streamBody);
    const ended = await Promise.race([stream.ended, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ABORT_DEADLINE_MS))]);
    expect(ended).not.toBe('hung');
    expect(stream.received()).toMatch(/^data: .*\n\ndata: \{"error":\{"message":"member a failed mid-stream: the answer stalled longer than --timeout"/);
    await waitFor('the member to see its request closed', () => upstream.requests[0]?.abortedAtMs != null, ABORT_DEADLINE_MS);
    expect(gateway.states.get('a').consecutiveFailures).toBe(1);
  });
});

describe('a client that goes away', () => {
  it('mid-stream: the member sees its request aborted', async () => {
    const upstream = await startUpstream('a', { kind: 'sse', chunks: Array.from({ length: 200 }, (_, i) => chunk(`t${i}`)), intervalMs: 20 });
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: upstream.url })] });
    const stream = await openStream(`${gateway.url}/v1/chat/completions`, streamBody);
    await waitFor('a first chunk', () => stream.received().length > 0);
    stream.destroy();
    const seen = await waitFor('the member to see its request closed', () => upstream.requests[0]?.abortedAtMs ?? undefined, ABORT_DEADLINE_MS);
    expect(seen).toBeGreaterThan(0);
    expect(upstream.requests[0]?.answered).toBe(false);
    await waitFor('nothing in flight', async () => (await stateOf(gateway.url)).every((m) => m.inFlight === 0));
    // Going away is no failure of the member.
    expect(gateway.states.get('a').consecutiveFailures).toBe(0);
    expect(samples(await metricsText(gateway.url), 'mcpctl_gateway_requests_total{')).toEqual(['mcpctl_gateway_requests_total{pool="p",member="a",status="499"} 1']);
  });

  it('before the first byte: the member sees its request aborted, and nothing is retried', async () => {
    const silent = await startUpstream('a', { kind: 'hang' });
    const other = await startUpstream('b');
    const gateway = await startGateway({ views: [memberView('a', { pool: 'p', url: silent.url }), memberView('b', { pool: 'p', url: other.url })], settings: { timeoutMs: 60_000 } });
    const held = sendAndHold(`${gateway.url}/v1/chat/completions`, streamBody);
    await waitFor('the member to receive the request', () => silent.requests.length === 1);
    held.destroy();
    await waitFor('the member to see its request closed', () => silent.requests[0]?.abortedAtMs != null, ABORT_DEADLINE_MS);
    await waitFor('nothing in flight', async () => (await stateOf(gateway.url)).every((m) => m.inFlight === 0));
    expect(other.requests.length).toBe(0);
    expect(gateway.states.get('a').consecutiveFailures).toBe(0);
  });
});
