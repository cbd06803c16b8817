import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import type { AgentSettings } from '../../agent/config.js';
import { createHealthProber } from '../../agent/health-probe.js';
import { createReconcilerClient } from '../../agent/reconciler-client.js';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import { createFakeLeaseTable, startFakeReconciler, type FakeLeaseTable, type FakeReconciler } from './fake-reconciler.js';
import { waitFor } from '../support/wait-for.js';

// Two reconcilers of one fleet: separate HTTP servers over one lease table, as two reconcilers on
// one etcd are.
let table: FakeLeaseTable;
let a: FakeReconciler;
let b: FakeReconciler;
let standin: StandinServer;
let logs: string[];
let agent: RunningAgent | undefined;
const others: FakeReconciler[] = [];

beforeEach(async () => {
  table = createFakeLeaseTable();
  a = await startFakeReconciler({ table });
  b = await startFakeReconciler({ table });
  standin = await startStandinServer({ model: 'Qwen/Qwen3-8B' });
  logs = [];
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await Promise.all([a, b, ...others.splice(0)].map((fake) => fake.close()));
  await standin.close();
});

function settings(servers: string[], overrides: Partial<AgentSettings> = {}): AgentSettings {
  return {
    servers,
    token: 'tok-gpu1',
    agentId: 'gpu1',
    providers: [{ name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking', type: 'vllm', model: 'Qwen/Qwen3-8B', url: standin.url }],
    ...overrides,
  } as AgentSettings;
}

function start(initial: AgentSettings = settings([a.url, b.url])): RunningAgent {
  agent = startAgent(initial, {
    createClient: (s) => createReconcilerClient({ server: s.server, token: s.token, timeoutMs: 1000 }),
    prober: createHealthProber(),
    gpus: { read: async () => [] },
    log: (message) => logs.push(message),
    host: 'gpu1.lan',
    version: '0.1.0',
    random: () => 0.5,
    backoff: { initialMs: 20, maxMs: 80 },
  });
  return agent;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** `reconciler A unreachable (REASON); trying B`, whatever the socket said. */
const switchLine = (from: FakeReconciler, to: FakeReconciler): RegExp => new RegExp(`^reconciler ${escape(from.url)} unreachable \\(.+\\); trying ${escape(to.url)}$`);
const beatsAt = (fake: FakeReconciler): Record<string, unknown>[] => fake.callsOf('heartbeat').map((c) => c.body ?? {});
const registrationsAt = (fake: FakeReconciler): number => fake.callsOf('register').length;

describe('an agent with several reconcilers', () => {
  it('talks to the first one only while it answers', async () => {
    start();
    await waitFor('three heartbeats at the first reconciler', () => beatsAt(a).length >= 3);
    expect(registrationsAt(a)).toBe(1);
    expect(b.calls).toEqual([]);
    expect(logs).toContain(`registered as gpu1 with ${a.url}: vllm-gpu1-qwen3 (ok); heartbeat every 50ms`);
  });

  it('moves to the next one when the first goes down, beating with the same lease and registering nowhere again', async () => {
    start();
    await waitFor('a heartbeat at the first reconciler', () => beatsAt(a).length >= 1);
    await a.close();
    await waitFor('two heartbeats at the second reconciler', () => beatsAt(b).length >= 2);
    expect(beatsAt(b).every((beat) => beat.leaseId === 'lease-1')).toBe(true);
    expect(registrationsAt(a) + registrationsAt(b)).toBe(1);
    // ECONNREFUSED, or ECONNRESET when the close caught a beat in flight.
    expect(logs.filter((line) => line.includes('; trying '))).toEqual([expect.stringMatching(switchLine(a, b))]);
    // One switch, and no backoff: the second answered at once.
    expect(logs.filter((line) => line.includes('; trying '))).toHaveLength(1);
    expect(logs.some((line) => line.includes('retrying in') || line.includes('reachable again'))).toBe(false);
  });

  it('moves to the next one when the first answers 503 StoreUnavailable, keeping the lease', async () => {
    start();
    await waitFor('a heartbeat at the first reconciler', () => beatsAt(a).length >= 1);
    a.unavailable = true;
    await waitFor('two heartbeats at the second reconciler', () => beatsAt(b).length >= 2);
    expect(beatsAt(b).every((beat) => beat.leaseId === 'lease-1')).toBe(true);
    expect(registrationsAt(a) + registrationsAt(b)).toBe(1);
    expect(logs).toContain(`reconciler ${a.url} answered the heartbeat with 503 StoreUnavailable: the lease store is unavailable; trying ${b.url}`);
    // It stays with the one that answers, even once the first is back.
    a.unavailable = false;
    const beatsAtA = beatsAt(a).length;
    await waitFor('two more heartbeats at the second reconciler', () => beatsAt(b).length >= 4);
    expect(beatsAt(a)).toHaveLength(beatsAtA);
  });

  it('registers again at the next one when that one does not know the lease', async () => {
    const separate = await startFakeReconciler({ table: createFakeLeaseTable('other') });
    others.push(separate);
    start(settings([a.url, separate.url]));
    await waitFor('a heartbeat at the first reconciler', () => beatsAt(a).length >= 1);
    await a.close();
    await waitFor('a registration at the second reconciler', () => registrationsAt(separate) >= 1);
    // It beat there with its lease first, and registered there on LeaseNotFound.
    expect(separate.calls.map((c) => `${c.method} ${c.path.replace(/.*\//, '')}`).slice(0, 2)).toEqual(['POST heartbeat', 'POST register']);
    expect(beatsAt(separate)[0]).toMatchObject({ leaseId: 'lease-1' });
    expect(logs).toContain('reconciler no longer knows lease lease-1 (LeaseNotFound); registering again');
    await waitFor('a heartbeat there under its own lease', () => beatsAt(separate).length >= 2);
    expect(beatsAt(separate)[1]).toMatchObject({ leaseId: 'other-1' });
    expect(registrationsAt(a)).toBe(1);
  });

  it('registers with the next one when the first is down at start', async () => {
    await a.close();
    start();
    await waitFor('a heartbeat at the second reconciler', () => beatsAt(b).length >= 1);
    expect(registrationsAt(b)).toBe(1);
    expect(logs[0]).toBe(`reconciler ${a.url} unreachable (ECONNREFUSED); trying ${b.url}`);
  });

  it('tries each reconciler once at once, backs off after each round, and carries on with its lease when one is back', async () => {
    start();
    await waitFor('a heartbeat at the first reconciler', () => beatsAt(a).length >= 1);
    await Promise.all([a.goDown(), b.goDown()]);
    const isRoundEnd = (line: string): boolean => line.includes('tried all 2 reconcilers');
    await waitFor('four failed rounds', () => logs.filter(isRoundEnd).length >= 4);
    const firstEnd = logs.findIndex(isRoundEnd);
    // From the first full round on: one quick switch, then the round's end with a doubled delay.
    const rounds = logs.slice(firstEnd + 1).filter((line) => line.startsWith('reconciler ')).slice(0, 6);
    const [x, y] = rounds[0]?.startsWith(`reconciler ${a.url} `) === true ? [a, b] : [b, a];
    expect(rounds).toEqual([
      expect.stringMatching(switchLine(x, y)),
      `reconciler ${y.url} unreachable (ECONNREFUSED); tried all 2 reconcilers; trying ${x.url} in 40ms`,
      expect.stringMatching(switchLine(x, y)),
      `reconciler ${y.url} unreachable (ECONNREFUSED); tried all 2 reconcilers; trying ${x.url} in 80ms`,
      expect.stringMatching(switchLine(x, y)),
      `reconciler ${y.url} unreachable (ECONNREFUSED); tried all 2 reconcilers; trying ${x.url} in 80ms`,
    ]);
    expect(logs[firstEnd]).toMatch(/; trying \S+ in 20ms$/);
    await b.comeBack();
    await waitFor('a heartbeat at the second reconciler', () => beatsAt(b).length >= 1);
    expect(beatsAt(b).every((beat) => beat.leaseId === 'lease-1')).toBe(true);
    expect(registrationsAt(a) + registrationsAt(b)).toBe(1);
    await waitFor('the recovery line', () => logs.includes(`reconciler reachable again at ${b.url}`));
  });

  it('deregisters through the next reconciler when the current one is down at stop', async () => {
    const running = start();
    await waitFor('a heartbeat at the first reconciler', () => beatsAt(a).length >= 1);
    await a.close();
    await running.stop();
    expect(b.callsOf('deregister').map((c) => c.path)).toEqual(['/api/v1/agents/gpu1?leaseId=lease-1']);
    expect(table.leases.size).toBe(0);
    expect(logs.at(-1)).toBe(`deregistered gpu1 from ${b.url}`);
  });
});

describe('a reloaded servers list', () => {
  it('keeps the lease when the new list shares a reconciler, moving off one that was dropped', async () => {
    const running = start(settings([a.url]));
    await waitFor('a heartbeat at the first reconciler', () => beatsAt(a).length >= 1);
    running.updateConfig(settings([b.url, a.url]));
    expect(logs).toContain(`config reloaded: reconcilers ${a.url} → ${b.url}, ${a.url}`);
    // Still on the first: it is in the list, and it answers.
    const beatsAtA = beatsAt(a).length;
    await waitFor('two more heartbeats at the first reconciler', () => beatsAt(a).length >= beatsAtA + 2);
    expect(b.calls).toEqual([]);

    running.updateConfig(settings([b.url]));
    await waitFor('a heartbeat at the second reconciler', () => beatsAt(b).length >= 1);
    expect(beatsAt(b).every((beat) => beat.leaseId === 'lease-1')).toBe(true);
    expect(registrationsAt(a) + registrationsAt(b)).toBe(1);
    expect(a.callsOf('deregister')).toEqual([]);
  });

  it('treats a list with none of the old reconcilers as another fleet: deregisters there and registers anew', async () => {
    const other = await startFakeReconciler();
    others.push(other);
    const running = start();
    await waitFor('a heartbeat at the first reconciler', () => beatsAt(a).length >= 1);
    running.updateConfig(settings([other.url]));
    await waitFor('a registration with the other fleet', () => registrationsAt(other) >= 1);
    expect(a.callsOf('deregister').map((c) => c.path)).toEqual(['/api/v1/agents/gpu1?leaseId=lease-1']);
    expect(logs).toContain(`deregistered gpu1 from ${a.url} (config changed)`);
  });

  it('changes nothing when the list is the same', async () => {
    const running = start();
    await waitFor('a heartbeat at the first reconciler', () => beatsAt(a).length >= 1);
    const before = logs.length;
    running.updateConfig(settings([a.url, `${b.url}/`]));
    expect(logs.slice(before).filter((line) => line.startsWith('config reloaded'))).toEqual([]);
  });
});
