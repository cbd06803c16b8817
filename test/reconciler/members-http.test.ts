// /members and /llms?pool= are written straight to the socket from pre-serialised parts. Over
// real HTTP they must still be well-formed answers: status, JSON content type, a content-length
// that matches the body, keep-alive reuse, HEAD without a body, and the pure rules' bytes.
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { buildViews } from '../../schema/effective.js';
import { membersOf } from '../../schema/pools.js';
import { POOL_ANSWER_MAX_AGE_MS } from '../../reconciler/routes/members-answer.js';
import { closeHarnesses, entry, registration, startHarness, TTL_MS, type Harness } from './support/harness.js';

afterEach(closeHarnesses);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Whether the socket had served a request before this one. */
  reused: boolean;
}

function send(agent: Agent, base: string, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function pureMembers(h: Harness, anchor: string): string {
  const served = h.desired.current();
  const views = buildViews({ declared: served?.llms ?? [], revision: served?.revision ?? null, live: h.services.leases.allLive(), nowMs: h.clock.nowMs, ttlMs: TTL_MS });
  return JSON.stringify(membersOf(views, anchor, h.services.declared.current().policies));
}

describe('the pre-serialised read routes over HTTP', () => {
  it('answer /members with the pure bytes, a JSON type and a matching length, on one kept-alive socket', async () => {
    const h = await startHarness();
    await h.services.leases.register(registration('gpu1', [entry('w1', { poolName: 'side' }), entry('w2', { poolName: 'side' }), entry('wé', { poolName: 'side' })]));
    const base = await h.listen();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      h.clock.advance(POOL_ANSWER_MAX_AGE_MS);
      const answers = [];
      for (const anchor of ['w1', 'w2', 'wé']) answers.push([anchor, await send(agent, base, `/api/v1/llms/${encodeURIComponent(anchor)}/members`)] as const);
      for (const [anchor, answer] of answers) {
        expect(answer.status).toBe(200);
        expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(Number(answer.headers['content-length'])).toBe(answer.body.length);
        expect(answer.body.toString('utf8')).toBe(pureMembers(h, anchor));
      }
      expect(answers.map(([, a]) => a.reused)).toEqual([false, true, true]);
    } finally {
      agent.destroy();
    }
  });

  it('answer /llms?pool= and HEAD alike, and a missing anchor with the JSON error', async () => {
    const h = await startHarness();
    await h.services.leases.register(registration('gpu1', [entry('w1', { poolName: 'side' })]));
    const base = await h.listen();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const pool = await send(agent, base, '/api/v1/llms?pool=side');
      expect(pool.status).toBe(200);
      expect(Number(pool.headers['content-length'])).toBe(pool.body.length);
      const parsed = JSON.parse(pool.body.toString('utf8')) as { revision: string; items: { metadata: { name: string } }[] };
      expect(parsed.items.map((v) => v.metadata.name)).toEqual(['w1']);

      const head = await send(agent, base, '/api/v1/llms/w1/members', 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(pureMembers(h, 'w1')));

      const missing = await send(agent, base, '/api/v1/llms/ghost/members');
      expect(missing.status).toBe(404);
      expect((JSON.parse(missing.body.toString('utf8')) as { error: { code: string } }).error.code).toBe('LlmNotFound');
      // The socket is still good after all of that.
      expect((await send(agent, base, '/api/v1/llms/w1/members')).reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});
