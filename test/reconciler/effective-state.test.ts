// The effective state keeps an index by name and pool key and recomputes only what changed.
// Whatever happens (registrations, beats, deregistrations, time, new revisions), its answers
// must equal the pure rules applied to the whole fleet from scratch.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { buildViews, type StaticProbe } from '../../schema/effective.js';
import { membersOf, summarizePools } from '../../schema/pools.js';
import { MEMBER_KINDS, PHASES, type LlmView, type MembersAnswer } from '../../schema/views.js';
import { signatureOf, type WatchEvent } from '../../reconciler/effective-state.js';
import { MembersAnswers, POOL_ANSWER_MAX_AGE_MS, REASON_MARK } from '../../reconciler/routes/members-answer.js';
import { closeHarnesses, entry, FLEET_FILES, GPU, registration, startHarness, TTL_MS, type Harness } from './support/harness.js';

afterEach(closeHarnesses);

const NAMES = ['qwen3', 'vllm-gpu1-qwen3', 'vllm-gpu2-qwen3', 'w1', 'w2', 'w3'];
const POOLS = [undefined, 'qwen3', 'user-vllm-qwen3-thinking', 'side'];

type Op =
  | { kind: 'register'; agent: number; entries: { name: string; pool: string | undefined; failing: boolean }[] }
  | { kind: 'beat'; agent: number; name: string; failing: boolean; utilizationPct: number | null }
  | { kind: 'probe'; probe: StaticProbe | null }
  | { kind: 'deregister'; agent: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'revision'; which: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('register' as const),
    agent: fc.integer({ min: 0, max: 3 }),
    entries: fc.array(fc.record({ name: fc.constantFrom(...NAMES), pool: fc.constantFrom(...POOLS), failing: fc.boolean() }), { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('beat' as const),
    agent: fc.integer({ min: 0, max: 3 }),
    name: fc.constantFrom(...NAMES),
    failing: fc.boolean(),
    // A beat with GPU figures replaces them without being a change; one without keeps them.
    utilizationPct: fc.option(fc.integer({ min: 0, max: 100 })),
  }),
  fc.record({
    kind: fc.constant('probe' as const),
    probe: fc.option(fc.record({ ok: fc.boolean(), message: fc.constantFrom('ECONNREFUSED', 'timeout') }, { requiredKeys: ['ok'] })),
  }),
  fc.record({ kind: fc.constant('deregister' as const), agent: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * TTL_MS }) }),
  fc.record({ kind: fc.constant('revision' as const), which: fc.integer({ min: 0, max: 1 }) }),
);

const REVISIONS = [
  FLEET_FILES,
  {
    'llms/other.yaml': `apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: side
spec:
  minActive: 1
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: w1
spec:
  type: vllm
  model: m
  poolName: side
`,
  },
];

/** The static Llm of FLEET_FILES, whose phase comes from probes. */
const STATIC_NAME = 'openai-gpt4o';

interface World {
  leases: Map<number, string>;
  probes: Map<string, StaticProbe>;
}

async function apply(h: Harness, op: Op, world: World): Promise<void> {
  const { leases } = world;
  const agentId = `agent-${'agent' in op ? op.agent : 0}`;
  switch (op.kind) {
    case 'register': {
      const entries = op.entries.map((e) => entry(e.name, { ...(e.pool === undefined ? {} : { poolName: e.pool }), health: e.failing ? 'failing' : 'ok' }));
      const answer = await h.services.leases.register(registration(agentId, entries));
      leases.set(op.agent, answer.leaseId);
      break;
    }
    case 'beat': {
      const gpus = op.utilizationPct === null ? {} : { gpus: [{ ...GPU, utilizationPct: op.utilizationPct }] };
      await h.services.leases.heartbeat(agentId, { leaseId: leases.get(op.agent) ?? 'none', llms: [{ name: op.name, health: op.failing ? 'failing' : 'ok' }], ...gpus });
      break;
    }
    case 'probe':
      if (op.probe === null) world.probes.delete(STATIC_NAME);
      else world.probes.set(STATIC_NAME, op.probe);
      h.services.state.setProbe(STATIC_NAME, op.probe ?? undefined);
      break;
    case 'deregister':
      await h.services.leases.deregister(agentId);
      break;
    case 'advance':
      h.clock.advance(op.ms);
      break;
    case 'revision':
      h.desired.serve(REVISIONS[op.which] ?? FLEET_FILES, `rev-${op.which}-${h.clock.nowMs}`);
      break;
  }
}

/**
 * The answer with what moves on every beat or with the clock alone (heartbeat times, ages in
 * reasons, GPU usage figures) blanked: a cached answer may lag in these by up to
 * POOL_ANSWER_MAX_AGE_MS.
 */
function withoutTelemetry(answer: MembersAnswer | null): MembersAnswer | null {
  if (answer === null) return null;
  const members = answer.members.map((view) => {
    const { agent, phase } = view.status;
    if (agent === null) return view;
    const timed = phase === 'active' || phase === 'stale';
    const gpus = agent.gpus.map((g) => ({ ...g, memoryUsedMiB: 0, utilizationPct: 0 }));
    return { ...view, status: { ...view.status, agent: { ...agent, lastHeartbeatAt: '', gpus }, reason: timed ? '' : view.status.reason } };
  });
  return { ...answer, members };
}

function freshViews(h: Harness, world: World): LlmView[] {
  const served = h.desired.current();
  return buildViews({ declared: served?.llms ?? [], revision: served?.revision ?? null, live: h.services.leases.allLive(), nowMs: h.clock.nowMs, ttlMs: TTL_MS, probes: world.probes });
}

/**
 * [served, pure] JSON text of every name's `/members` and every pool's `/llms?pool=`, by route;
 * the pure side from buildViews and membersOf at the clock's current time.
 */
function servedAndPure(h: Harness, world: World): Map<string, [string | null, string | null]> {
  const views = freshViews(h, world);
  const snapshot = h.services.declared.current();
  const out = new Map<string, [string | null, string | null]>();
  for (const name of new Set([...NAMES, STATIC_NAME, ...views.map((v) => v.metadata.name)])) {
    const answer = membersOf(views, name, snapshot.policies);
    out.set(`/llms/${name}/members`, [answersOf(h).membersJson(name)?.toString('utf8') ?? null, answer === null ? null : JSON.stringify(answer)]);
  }
  for (const key of new Set([...POOLS, ...views.map((v) => v.status.pool.key)])) {
    if (key === undefined) continue;
    const items = views.filter((v) => v.status.pool.key === key);
    out.set(`/llms?pool=${key}`, [answersOf(h).poolViewsJson(key, snapshot.revision).toString('utf8'), JSON.stringify({ revision: snapshot.revision, items })]);
  }
  return out;
}

const answers = new WeakMap<Harness, MembersAnswers>();

/** The encoded answers the routes serve, one cache per harness as the route plugin keeps one. */
function answersOf(h: Harness): MembersAnswers {
  let found = answers.get(h);
  if (found === undefined) {
    found = new MembersAnswers(h.services.state);
    answers.set(h, found);
  }
  return found;
}

/** A revision declaring `count` Llms w0, w1, … in the pool `big`. */
function bigPoolFiles(count: number): Record<string, string> {
  const docs = Array.from({ length: count }, (_, i) => `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: w${i}\nspec:\n  type: vllm\n  model: m\n  poolName: big\n`);
  return { 'llms/big.yaml': docs.join('---\n') };
}

/** One agent's entries for bigPoolFiles' Llms. */
function bigPoolEntries(count: number): ReturnType<typeof entry>[] {
  return Array.from({ length: count }, (_, i) => entry(`w${i}`, { poolName: 'big' }));
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function newWorld(): World {
  return { leases: new Map(), probes: new Map() };
}

describe('the effective-state index', () => {
  it('always answers what a full recompute of the pure rules answers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const h = await startHarness();
        const world = newWorld();
        try {
          for (const op of ops) {
            await apply(h, op, world);
            const views = freshViews(h, world);
            const policies = h.services.declared.current().policies;
            expect(h.services.state.views()).toEqual(views);
            expect(h.services.state.pools()).toEqual(summarizePools(views, policies));
            for (const name of NAMES) {
              expect(h.services.state.members(name)).toEqual(membersOf(views, name, policies));
              // The serialised answer may be up to POOL_ANSWER_MAX_AGE_MS old in its telemetry only.
              const json = answersOf(h).membersJson(name);
              const answer = json === null ? null : (JSON.parse(json.toString('utf8')) as MembersAnswer);
              expect(withoutTelemetry(answer)).toEqual(withoutTelemetry(membersOf(views, name, policies)));
            }
            const counts = h.services.state.counts();
            expect(counts.llms).toBe(views.length);
            for (const phase of PHASES) expect(counts.byPhase[phase]).toBe(views.filter((v) => v.status.phase === phase).length);
            for (const kind of MEMBER_KINDS) expect(counts.byKind[kind]).toBe(views.filter((v) => v.status.kind === kind).length);
          }
        } finally {
          await h.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('serves the very bytes of the pure rules once the cached answers have aged out', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: POOL_ANSWER_MAX_AGE_MS - 1 }), async (ops, within) => {
        const h = await startHarness();
        const world = newWorld();
        try {
          for (const op of ops) {
            await apply(h, op, world);
            // Every answer cached before now is rebuilt, from per-member parts kept across ops.
            h.clock.advance(POOL_ANSWER_MAX_AGE_MS);
            const exact = servedAndPure(h, world);
            for (const [route, [served, pure]] of exact) expect(served, route).toBe(pure);
            // Within the age limit: the same bytes again (ages may lag), or, after a real
            // change such as a lease turning stale, the pure answer of this moment.
            h.clock.advance(within);
            for (const [route, [served, pure]] of servedAndPure(h, world)) {
              if (served !== exact.get(route)?.[0]) expect(served, route).toBe(pure);
            }
          }
        } finally {
          await h.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('serves a member whose own strings hold the reason mark whole', async () => {
    const h = await startHarness();
    const world = newWorld();
    const odd = entry('w1', { model: REASON_MARK, poolName: 'side' });
    await h.services.leases.register(registration('gpu1', [odd, entry('w2', { poolName: 'side' })]));
    for (let step = 0; step < 3; step++) {
      h.clock.advance(POOL_ANSWER_MAX_AGE_MS);
      const pairs = servedAndPure(h, world);
      expect(pairs.get('/llms/w1/members')?.[0]).toContain(JSON.stringify(REASON_MARK).slice(1, -1));
      for (const [route, [served, pure]] of pairs) expect(served, route).toBe(pure);
    }
  });

  it('keeps the bytes of a pool answer when it ages out unchanged, and renders afresh when an age moves', async () => {
    const h = await startHarness();
    const world = newWorld();
    // Undeclared workers: their reasons carry no age, so a second later nothing has changed.
    await h.services.leases.register(registration('gpu1', [entry('w1', { poolName: 'side' }), entry('w2', { poolName: 'side' })]));
    const first = answersOf(h).membersParts('w1')?.[1];
    h.clock.advance(POOL_ANSWER_MAX_AGE_MS);
    expect(answersOf(h).membersParts('w1')?.[1]).toBe(first);
    for (const [route, [served, pure]] of servedAndPure(h, world)) expect(served, route).toBe(pure);

    // A declared worker's reason says how long ago it beat: the next second is new bytes.
    await h.services.leases.register(registration('gpu2', [entry('vllm-gpu1-qwen3')]));
    const declared = answersOf(h).membersParts('vllm-gpu1-qwen3')?.[1];
    h.clock.advance(POOL_ANSWER_MAX_AGE_MS);
    const later = answersOf(h).membersParts('vllm-gpu1-qwen3')?.[1];
    expect(later).not.toBe(declared);
    expect(later?.toString('utf8')).toContain('"heartbeat 1s ago from agent gpu2"');
    for (const [route, [served, pure]] of servedAndPure(h, world)) expect(served, route).toBe(pure);
  });

  it('rebuilds an answer nearing its age limit after the request that found it, for the next one', async () => {
    const h = await startHarness();
    await h.services.leases.register(registration('gpu2', [entry('vllm-gpu1-qwen3')]));
    h.clock.advance(600);
    expect(answersOf(h).membersJson('vllm-gpu1-qwen3')?.toString('utf8')).toContain('"heartbeat 0s ago from agent gpu2"');
    h.clock.advance(800);
    // Still within the age limit: this request gets the bytes it found...
    expect(answersOf(h).membersJson('vllm-gpu1-qwen3')?.toString('utf8')).toContain('"heartbeat 0s ago from agent gpu2"');
    await new Promise((resolve) => setImmediate(resolve));
    // ...and the next one the answer rebuilt in between, as of then.
    expect(answersOf(h).membersJson('vllm-gpu1-qwen3')?.toString('utf8')).toContain('"heartbeat 1s ago from agent gpu2"');
  });

  it('builds a refresh ahead a few members per turn of the event loop; requests meanwhile get the bytes they found', async () => {
    const h = await startHarness({ files: bigPoolFiles(100) });
    const sliced = new MembersAnswers(h.services.state, { refreshTurnMs: 0 });
    await h.services.leases.register(registration('gpu1', bigPoolEntries(100)));
    h.clock.advance(600);
    const found = sliced.membersParts('w0')?.[1];
    expect(found?.toString('utf8')).toContain('"heartbeat 0s ago from agent gpu1"');
    h.clock.advance(800);
    // Found nearing its age limit: served, and a refresh starts after this request.
    expect(sliced.membersParts('w0')?.[1]).toBe(found);
    await nextTurn();
    // One turn renders MEMBERS_PER_CLOCK_LOOK (16) of the 100 members: the pool has no new answer yet.
    expect(sliced.membersParts('w0')?.[1]).toBe(found);
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    const refreshed = sliced.membersJson('w0')?.toString('utf8');
    expect(refreshed).toContain('"heartbeat 1s ago from agent gpu1"');
    // The very bytes of an answer built in one go at the same moment.
    expect(refreshed).toBe(new MembersAnswers(h.services.state).membersJson('w0')?.toString('utf8'));
  });

  it('gives up a refresh ahead when the pool moves on meanwhile; the answer built for the change stays', async () => {
    const h = await startHarness({ files: bigPoolFiles(100) });
    const sliced = new MembersAnswers(h.services.state, { refreshTurnMs: 0 });
    await h.services.leases.register(registration('gpu1', bigPoolEntries(100)));
    sliced.membersParts('w0');
    h.clock.advance(800);
    sliced.membersParts('w0');
    await nextTurn();
    // A new member joins while the refresh is half done: the next request builds the answer at once.
    await h.services.leases.register(registration('gpu2', [entry('late', { poolName: 'big' })]));
    const rebuilt = sliced.membersParts('w0')?.[1];
    expect(rebuilt?.toString('utf8')).toContain('"name":"late"');
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    // The refresh from before the change was dropped, not stored over it.
    expect(sliced.membersParts('w0')?.[1]).toBe(rebuilt);
    expect(sliced.membersJson('w0')?.toString('utf8')).toBe(new MembersAnswers(h.services.state).membersJson('w0')?.toString('utf8'));
  });

  it('tells watchers about real changes only, each once', async () => {
    const h = await startHarness();
    const events: string[] = [];
    h.services.state.subscribe((e: WatchEvent) => events.push(e.type === 'STATUS' ? 'STATUS' : `${e.type} ${e.view.metadata.name} ${e.view.status.phase}`));
    const { leaseId } = await h.services.leases.register(registration('gpu1', [entry('w1')]));
    h.services.state.refresh();
    h.clock.advance(3_000);
    await h.services.leases.heartbeat('gpu1', { leaseId, llms: [{ name: 'w1', health: 'ok' }], gpus: [{ ...GPU, utilizationPct: 99 }] });
    h.services.state.refresh();
    h.clock.advance(TTL_MS + 1);
    h.services.state.refresh();
    h.services.state.refresh();
    await h.services.leases.heartbeat('gpu1', { leaseId, llms: [] });
    h.services.state.refresh();
    expect(events).toEqual(['ADDED w1 active', 'MODIFIED w1 stale', 'MODIFIED w1 active']);
  });
});

describe('signatureOf', () => {
  function view(status: Partial<LlmView['status']> = {}): LlmView {
    return {
      apiVersion: 'mcpctl/v1',
      kind: 'Llm',
      metadata: { name: 'a' },
      spec: { type: 'vllm', model: 'm', url: 'http://a:1/v1' },
      status: {
        kind: 'virtual',
        phase: 'active',
        pool: { key: 'a', explicit: false },
        sync: 'OutOfSync',
        source: null,
        agent: { id: 'gpu1', host: 'gpu1.lan', lastHeartbeatAt: '2025-01-01T00:00:00.000Z', gpus: [GPU], url: 'http://a:1/v1' },
        drift: [],
        reason: 'heartbeat 1s ago from agent gpu1',
        ...status,
      },
    };
  }

  it('ignores ages, heartbeat times and GPU usage', () => {
    const later = view({
      reason: 'heartbeat 7s ago from agent gpu1',
      agent: { id: 'gpu1', host: 'gpu1.lan', lastHeartbeatAt: '2025-01-01T00:00:06.000Z', gpus: [{ ...GPU, utilizationPct: 90 }], url: 'http://a:1/v1' },
    });
    expect(signatureOf(later)).toBe(signatureOf(view()));
  });

  it('sees phase, agent, pool and the reason of a failing endpoint', () => {
    const base = signatureOf(view());
    expect(signatureOf(view({ phase: 'stale' }))).not.toBe(base);
    expect(signatureOf(view({ agent: { id: 'gpu2', host: 'gpu1.lan', lastHeartbeatAt: '2025-01-01T00:00:00.000Z', gpus: [GPU], url: 'http://a:1/v1' } }))).not.toBe(base);
    expect(signatureOf(view({ pool: { key: 'b', explicit: true } }))).not.toBe(base);
    expect(signatureOf(view({ agent: { id: 'gpu1', host: 'gpu1.lan', lastHeartbeatAt: '2025-01-01T00:00:00.000Z', gpus: [GPU], url: 'http://b:2/v1' } }))).not.toBe(base);
    const failing = signatureOf(view({ phase: 'unhealthy', reason: 'endpoint failing: ECONNREFUSED' }));
    expect(signatureOf(view({ phase: 'unhealthy', reason: 'endpoint failing: timeout' }))).not.toBe(failing);
  });
});
