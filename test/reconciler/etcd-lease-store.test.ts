// Several reconcilers on one real etcd (DESIGN §9): a write through one reaches the other's
// watch, a heartbeat through one is a newer beat on the other without a write of the record, a
// race for a name through both has exactly one winner, two `mcpctl reconciler` processes serve
// one fleet, and etcd going away is StoreUnavailable, not a hang. (The shared behaviours of every
// store are in lease-store-contract.test.ts.)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { EtcdLeaseStore, StoreUnavailable } from '../../reconciler/etcd-lease-store.js';
import type { LeaseEvent } from '../../reconciler/lease-store.js';
import { ReconcilerStartError, runReconcilerCommand } from '../../reconciler/main.js';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import type { LlmView } from '../../schema/views.js';
import { etcdForFile, etcdTool, TcpRelay, TestEtcd } from '../support/etcd.js';
import { leaseRecord } from './support/lease-record.js';
import { waitFor } from '../support/wait-for.js';
import { closeHarnesses, entry, FLEET_FILES, postJson, registration, startHarness, TTL_MS, type Harness } from './support/harness.js';

const BIN = join(import.meta.dirname, '../../dist/cli/bin.js');

const etcd = etcdForFile();
let prefixes = 0;
const stores: EtcdLeaseStore[] = [];
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await closeHarnesses();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(stores.splice(0).map((s) => s.close().catch(() => {})));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh prefix per test: the tests share one etcd. */
function nextPrefix(): string {
  return `/test-${++prefixes}/`;
}

function storeOn(prefix: string, options: { beatBatchMs?: number; endpoint?: string } = {}): EtcdLeaseStore {
  const store = new EtcdLeaseStore({ endpoints: [options.endpoint ?? etcd().endpoint], prefix, beatBatchMs: options.beatBatchMs ?? 50 });
  stores.push(store);
  return store;
}


async function watched(store: EtcdLeaseStore): Promise<LeaseEvent[]> {
  const events: LeaseEvent[] = [];
  store.watch((await store.list()).revision, (event) => events.push(event));
  return events;
}

/** etcd's current revision, read through a store of its own on an unused prefix. */
async function etcdRevision(): Promise<number> {
  const probe = storeOn(nextPrefix());
  const { revision } = await probe.list();
  await probe.close();
  return revision;
}

describe.skipIf(!etcdTool.available)(`EtcdLeaseStore, several on one etcd${etcdTool.skipNote}`, () => {
  it('a record written through one reconciler reaches the watch of another, at the revision etcd gave it', async () => {
    const prefix = nextPrefix();
    const [a, b] = [storeOn(prefix), storeOn(prefix)];
    await a.list();
    const events = await watched(b);
    const put = await a.compareAndSet('gpu1', 0, leaseRecord('gpu1', ['w1']));
    if (!put.ok) throw new Error('refused');
    await waitFor('the put on the other store', () => events.find((e) => e.type === 'put'));
    expect(events).toEqual([{ type: 'put', record: leaseRecord('gpu1', ['w1']), modRevision: put.modRevision }]);
    expect(await b.compareAndSet('gpu1', put.modRevision, null)).toEqual({ ok: true, modRevision: 0 });
    await waitFor('the delete on the first store', async () => (await a.list()).records.length === 0);
  });

  it('a heartbeat through one reconciler is a newer beat on the other, and no write of the record', async () => {
    const prefix = nextPrefix();
    const [a, b] = [storeOn(prefix), storeOn(prefix)];
    await a.list();
    const put = await a.compareAndSet('gpu1', 0, leaseRecord('gpu1', ['w1']));
    if (!put.ok) throw new Error('refused');
    const events = await watched(b);
    const gpus = [{ index: 0, name: 'H100', memoryTotalMiB: 1, memoryUsedMiB: 5, utilizationPct: 50 }];
    a.touch('gpu1', 5_000, gpus, [{ name: 'w1', load: { running: 2, waiting: 0, kvCacheUsage: null } }]);
    const touch = await waitFor('the beat on the other store', () => events.find((e) => e.type === 'touch'));
    expect(touch).toMatchObject({ type: 'touch', modRevision: put.modRevision, previousHeartbeatAt: 1_000, record: { lastHeartbeatAt: 5_000, gpus } });
    expect(touch.type === 'touch' && touch.record.llms[0]?.load).toEqual({ running: 2, waiting: 0, kvCacheUsage: null });
    // An older beat (this reconciler heard from the agent earlier) does not move the time back.
    b.touch('gpu1', 4_000);
    await b.flush();
    const [listed] = (await storeOn(prefix).list()).records;
    expect(listed).toMatchObject({ modRevision: put.modRevision, record: { lastHeartbeatAt: 5_000 } });
  });

  it('a reconciler that lists later finds every agent\'s newest beat, however many beats writes turned the delta keys over', async () => {
    const prefix = nextPrefix();
    const a = storeOn(prefix, { beatBatchMs: 60_000 });
    await a.list();
    for (const agentId of ['quiet', 'busy']) await a.compareAndSet(agentId, 0, leaseRecord(agentId, [`${agentId}-llm`]));
    a.touch('quiet', 2_000);
    await a.flush();
    // 100 writes with `busy` alone: `quiet` left the delta keys long ago, the snapshots keep it.
    for (let write = 1; write <= 100; write++) {
      a.touch('busy', 2_000 + write);
      await a.flush();
    }
    const listed = (await storeOn(prefix).list()).records.map((r) => `${r.record.agentId}@${r.record.lastHeartbeatAt}`).sort();
    expect(listed).toEqual(['busy@2100', 'quiet@2000']);
  });

  it('two agents claiming one name through two reconcilers at once: exactly one gets it, round after round', async () => {
    const prefix = nextPrefix();
    const [a, b] = [storeOn(prefix), storeOn(prefix)];
    await Promise.all([a.list(), b.list()]);
    for (let round = 0; round < 25; round++) {
      const name = `n${round}`;
      const [x, y] = await Promise.all([a.compareAndSet(`x${round}`, 0, leaseRecord(`x${round}`, [name])), b.compareAndSet(`y${round}`, 0, leaseRecord(`y${round}`, [name]))]);
      expect([x.ok, y.ok].filter(Boolean)).toHaveLength(1);
      // The loser is answered once its own store has seen the winner.
      const [loserStore, winner] = x.ok ? [b, `x${round}`] : [a, `y${round}`];
      const holders = (await loserStore.list()).records.filter((r) => r.record.llms.some((e) => e.name === name)).map((r) => r.record.agentId);
      expect(holders).toEqual([winner]);
    }
  });

  it('a name released by a batched put superseded by a compare-and-set is free for another agent', async () => {
    const store = storeOn(nextPrefix());
    await store.list();
    const put = await store.compareAndSet('x', 0, leaseRecord('x', ['a', 'b']));
    if (!put.ok) throw new Error('refused');
    // The batched put (b dropped) is shown at once; the durable write made on top of it replaces it before it is sent.
    expect(store.putLater(put.modRevision, leaseRecord('x', ['a'])).ok).toBe(true);
    expect((await store.compareAndSet('x', put.modRevision, leaseRecord('x', ['a']))).ok).toBe(true);
    expect((await store.compareAndSet('y', 0, leaseRecord('y', ['b']))).ok).toBe(true);
  });

  it('a claim whose holder does not list the name (left by hand) is released, and the next try takes the name', async () => {
    const prefix = nextPrefix();
    const raw = new Etcd3({ hosts: `http://${etcd().endpoint}` });
    try {
      await raw.put(`${prefix}names/n1`).value('ghost');
      const errors: string[] = [];
      const store = new EtcdLeaseStore({ endpoints: [etcd().endpoint], prefix, onError: (error) => errors.push(error.message) });
      stores.push(store);
      await store.list();
      expect(await store.compareAndSet('x', 0, leaseRecord('x', ['n1']))).toEqual({ ok: false, current: null });
      expect(errors).toEqual(['released the claim on n1 of agent ghost, whose record does not list it']);
      expect((await store.compareAndSet('x', 0, leaseRecord('x', ['n1']))).ok).toBe(true);
      expect(await raw.get(`${prefix}names/n1`).string()).toBe('x');
    } finally {
      raw.close();
    }
  });

  it('a takeover race through two reconcilers: exactly one agent takes the stale name, the other is told who holds it', async () => {
    const prefix = nextPrefix();
    const one = await startHarness({ files: null, store: storeOn(prefix) });
    const two = await startHarness({ files: null, store: storeOn(prefix) });
    const register = async (h: Harness, agentId: string, name: string): Promise<RegistrationAnswer> => {
      const { status, body } = await postJson(h.app, '/api/v1/agents/register', registration(agentId, [entry(name)]));
      expect(status).toBe(200);
      return body as RegistrationAnswer;
    };
    for (let round = 0; round < 8; round++) {
      const name = `scratch${round}`;
      two.clock.nowMs = one.clock.nowMs;
      await register(one, `holder${round}`, name);
      await waitFor('the holder on the second reconciler', () => two.services.leases.live(name));
      // The holder falls silent past the TTL on both reconcilers' clocks.
      one.clock.advance(TTL_MS + 1_000);
      two.clock.nowMs = one.clock.nowMs;
      const [x, y] = await Promise.all([register(one, `x${round}`, name), register(two, `y${round}`, name)]);
      const winners = [x, y].filter((answer) => answer.rejected.length === 0);
      expect(winners).toHaveLength(1);
      const loser = x.rejected.length === 0 ? y : x;
      const winner = x.rejected.length === 0 ? `x${round}` : `y${round}`;
      expect(loser.rejected).toEqual([{ name, reason: expect.stringMatching(new RegExp(`^held by agent ${winner} under a live lease`)) }]);
      await waitFor('both reconcilers to agree', () => one.services.leases.live(name)?.agentId === winner && two.services.leases.live(name)?.agentId === winner);
    }
  });

  it('300 names in one write go in txns within etcd\'s 128 ops; refused at a later step, etcd holds the earlier steps\' names with their claims and no other', async () => {
    const prefix = nextPrefix();
    const [a, b] = [storeOn(prefix), storeOn(prefix)];
    await Promise.all([a.list(), b.list()]);
    // Another agent holds a name the third step would claim.
    expect((await b.compareAndSet('holder', 0, leaseRecord('holder', ['n-280']))).ok).toBe(true);
    await waitFor('the holder on the first store', async () => (await a.list()).records.length === 1);
    const names = Array.from({ length: 300 }, (_, i) => `n-${i}`);
    const refused = await a.compareAndSet('big', 0, leaseRecord('big', names));
    if (refused.ok) throw new Error('written over a held name');
    // The first two steps (127 names each) were written: what etcd holds is answered, to retry from.
    expect(refused.current?.record.llms.map((e) => e.name)).toEqual(names.slice(0, 254));
    const raw = new Etcd3({ hosts: `http://${etcd().endpoint}` });
    try {
      const claims = await raw.getAll().prefix(`${prefix}names/`).strings();
      const listed = new Map((await b.list()).records.map((r) => [r.record.agentId, new Set(r.record.llms.map((e) => e.name))]));
      expect(Object.keys(claims)).toHaveLength(255);
      for (const [key, holder] of Object.entries(claims)) expect(listed.get(holder)?.has(key.slice(`${prefix}names/`.length))).toBe(true);
    } finally {
      raw.close();
    }
    // The retry without the held name, from what etcd holds, takes the rest.
    const rest = names.filter((n) => n !== 'n-280');
    const written = await a.compareAndSet('big', refused.current?.modRevision ?? -1, leaseRecord('big', rest));
    expect(written.ok).toBe(true);
    await waitFor('every name on the other store', async () => (await b.list()).records.find((r) => r.record.agentId === 'big')?.record.llms.length === 299);
    expect(a.availability()).toEqual({ available: true });
  });

  it('an agent registering 300 Llms through one reconciler gets all 300, and the other reconciler serves them', async () => {
    const prefix = nextPrefix();
    const one = await startHarness({ files: null, store: storeOn(prefix) });
    const two = await startHarness({ files: null, store: storeOn(prefix) });
    const names = Array.from({ length: 300 }, (_, i) => `zoo-${i}`);
    const { status, body } = await postJson(one.app, '/api/v1/agents/register', registration('zoo', names.map((n) => entry(n))));
    expect(status).toBe(200);
    expect((body as RegistrationAnswer).rejected).toEqual([]);
    await waitFor('all 300 on the second reconciler', () => names.every((n) => two.services.leases.live(n)?.agentId === 'zoo'));
  });

  it('an agent back from stale is written to its record, so a takeover decided on the old time loses', async () => {
    const prefix = nextPrefix();
    const a = storeOn(prefix);
    const b = new EtcdLeaseStore({ endpoints: [etcd().endpoint], prefix, reviveAfterMs: TTL_MS });
    stores.push(b);
    await a.list();
    const put = await a.compareAndSet('holder', 0, leaseRecord('holder', ['w1'], 1_000));
    if (!put.ok) throw new Error('refused');
    const events = await watched(b);
    // A beat within the TTL is no write; one after it is.
    b.touch('holder', 1_000 + TTL_MS);
    b.touch('holder', 1_000 + 3 * TTL_MS);
    await b.flush();
    await waitFor('the record write', () => events.some((e) => e.type === 'put'));
    const takeover = await a.compareAndSet('holder', put.modRevision, leaseRecord('holder', [], 1_000));
    expect(takeover.ok).toBe(false);
    expect(takeover.ok ? null : takeover.current?.record.lastHeartbeatAt).toBe(1_000 + 3 * TTL_MS);
  });

  it('a reconciler that joins a running fleet counts its members live at once, not as restored', async () => {
    const prefix = nextPrefix();
    const one = await startHarness({ store: storeOn(prefix) });
    const { status } = await postJson(one.app, '/api/v1/agents/register', registration('gpu1', [entry('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking' })]));
    expect(status).toBe(200);
    const two = await startHarness({ store: storeOn(prefix) });
    const live = two.services.leases.live('vllm-gpu1-qwen3');
    expect(live?.agentId).toBe('gpu1');
    expect(live?.restored).toBeUndefined();
  });

  it('a steady fleet costs etcd one revision per beats batch, whatever the number of agents', async () => {
    const prefix = nextPrefix();
    const store = storeOn(prefix, { beatBatchMs: 60_000 });
    await store.list();
    const agents = 300;
    for (let i = 0; i < agents; i++) await store.compareAndSet(`gpu${i}`, 0, leaseRecord(`gpu${i}`, [`llm${i}`]));
    await store.flush();
    const before = await etcdRevision();
    const batches = 5;
    for (let batch = 1; batch <= batches; batch++) {
      for (let i = 0; i < agents; i++) store.touch(`gpu${i}`, 10_000 * batch);
      await store.flush();
    }
    // The probe's own list reads, but never writes: the difference is this store's beats txns.
    expect((await etcdRevision()) - before).toBe(batches);
  });

  it('a failed start on an unreachable etcd is one line naming --store', async () => {
    const error = await runReconcilerCommand({
      worktree: '.',
      branch: 'main',
      path: 'llms',
      listen: '127.0.0.1:0',
      poll: '30s',
      heartbeatInterval: '10s',
      ttl: '30s',
      gc: '10m',
      unmanaged: 'admit',
      store: 'etcd://127.0.0.1:9',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReconcilerStartError);
    expect((error as Error).message).toMatch(/^cannot restore leases from --store etcd:\/\/127\.0\.0\.1:9: etcd is unavailable \(list: /);
  });

  it('two mcpctl reconciler processes share a fleet: register through one, heartbeat through the other, both show it active', async () => {
    const prefix = nextPrefix();
    const dir = await mkdtemp(join(tmpdir(), 'mcpctl-etcd-fleet-'));
    dirs.push(dir);
    await mkdir(join(dir, 'llms'));
    for (const [path, text] of Object.entries(FLEET_FILES)) await writeFile(join(dir, path), text);
    const urls = await Promise.all([0, 1].map(() => startReconciler(['--worktree', dir, '--listen', '127.0.0.1:0', '--store', `etcd://${etcd().endpoint}`, '--store-prefix', prefix])));
    const [one, two] = urls as [string, string];
    const registered = await post(`${one}/api/v1/agents/register`, registration('gpu1', [entry('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking' })]));
    expect(registered.status).toBe(200);
    const { leaseId } = registered.body as RegistrationAnswer;
    // The other reconciler knows the lease from etcd's watch.
    const beat = await waitFor('the lease on the second reconciler', async () => {
      const answer = await post(`${two}/api/v1/agents/gpu1/heartbeat`, { leaseId, llms: [{ name: 'vllm-gpu1-qwen3', health: 'ok' }] });
      return answer.status === 200 ? answer : undefined;
    });
    expect((beat.body as RegistrationAnswer).leaseId).toBe(leaseId);
    for (const url of [one, two]) {
      const view = await waitFor(`vllm-gpu1-qwen3 active on ${url}`, async () => {
        const { items } = (await (await fetch(`${url}/api/v1/llms`)).json()) as { items: LlmView[] };
        const found = items.find((v) => v.metadata.name === 'vllm-gpu1-qwen3');
        return found?.status.phase === 'active' ? found : undefined;
      });
      expect(view.status.agent?.id).toBe('gpu1');
    }
  });

  it('a watch that comes back after its revision was compacted lists again and diffs: each change once', async () => {
    const relay = await TcpRelay.start(etcd().endpoint);
    const raw = new Etcd3({ hosts: `http://${etcd().endpoint}` });
    try {
      const prefix = nextPrefix();
      const a = storeOn(prefix);
      const broken: string[] = [];
      const b = new EtcdLeaseStore({ endpoints: [relay.endpoint], prefix, onError: (error) => broken.push(error.message) });
      stores.push(b);
      await a.list();
      const gone = await a.compareAndSet('gone', 0, leaseRecord('gone', ['w1']));
      const kept = await a.compareAndSet('kept', 0, leaseRecord('kept', ['w2']));
      if (!gone.ok || !kept.ok) throw new Error('refused');
      const events = await watched(b);
      // b alone loses etcd; meanwhile changes, then a compaction past them. The re-list tells
      // deletes first, then the rest in key order.
      relay.cut();
      expect(await a.compareAndSet('gone', gone.modRevision, null)).toEqual({ ok: true, modRevision: 0 });
      const added = await a.compareAndSet('added', 0, leaseRecord('added', ['w3']));
      if (!added.ok) throw new Error('refused');
      a.touch('kept', 50_000);
      await a.flush();
      await raw.kv.compact({ revision: (await etcdRevision()).toString(), physical: true });
      relay.mend();
      await waitFor('the other store to catch up', () => events.some((e) => e.type === 'put' && e.record.agentId === 'added'), 30_000);
      const later = await a.compareAndSet('later', 0, leaseRecord('later', ['w4']));
      if (!later.ok) throw new Error('refused');
      await waitFor('a write after the catch-up', () => events.some((e) => e.type === 'put' && e.record.agentId === 'later'), 30_000);
      expect(events.map((e) => `${e.type} ${e.type === 'delete' ? e.agentId : e.record.agentId}`)).toEqual(['delete gone', 'put added', 'touch kept', 'put later']);
      expect(broken.some((m) => m.includes('listing again'))).toBe(true);
      expect((await b.list()).records.map((r) => `${r.record.agentId}@${r.record.lastHeartbeatAt}`).sort()).toEqual(['added@1000', 'kept@50000', 'later@1000']);
    } finally {
      raw.close();
      await relay.close();
    }
  });

  it('etcd killed and started again: calls fail with StoreUnavailable meanwhile, and the watch carries on after', async () => {
    const own = await TestEtcd.start();
    try {
      const prefix = nextPrefix();
      const [a, b] = [storeOn(prefix, { endpoint: own.endpoint }), storeOn(prefix, { endpoint: own.endpoint })];
      await a.list();
      const events = await watched(b);
      const first = await a.compareAndSet('gpu1', 0, leaseRecord('gpu1', ['w1']));
      if (!first.ok) throw new Error('refused');
      // Seen by the other store before etcd goes: a watch broken earlier re-lists, and a re-list
      // shows the key as it is then (level-triggered), not every revision it went through.
      await waitFor('the first write on the other store', () => events.some((e) => e.modRevision === first.modRevision), 30_000);
      await own.kill();
      await expect(a.compareAndSet('gpu1', first.modRevision, leaseRecord('gpu1', ['w2']))).rejects.toBeInstanceOf(StoreUnavailable);
      expect(a.availability()).toEqual({ available: false, reason: expect.stringMatching(/^etcd is unavailable \(compare-and-set: /), sinceMs: expect.any(Number) });
      // Known to be away: the next write is refused at once, not after another call bound.
      await expect(a.compareAndSet('gpu1', first.modRevision, leaseRecord('gpu1', ['w2']))).rejects.toBeInstanceOf(StoreUnavailable);
      // Beats are refused too while etcd does not answer (the agent is told to retry).
      expect(() => a.touch('gpu1', 2_000)).toThrow(StoreUnavailable);
      await own.run();
      await waitFor('the store available again', () => a.availability().available, 30_000);
      await waitFor('beats accepted again', () => {
        try {
          return a.touch('gpu1', 3_000);
        } catch {
          return false;
        }
      }, 30_000);
      const second = await waitFor('a write after the restart', async () => {
        const result = await a.compareAndSet('gpu1', first.modRevision, leaseRecord('gpu1', ['w2']));
        return result.ok ? result : undefined;
      }, 30_000);
      await waitFor('the write on the other store', () => events.some((e) => e.modRevision === second.modRevision), 30_000);
      expect(events.filter((e) => e.type !== 'touch').map((e) => e.modRevision)).toEqual([first.modRevision, second.modRevision]);
    } finally {
      await Promise.all(stores.splice(0).map((s) => s.close().catch(() => {})));
      await own.stop();
    }
  });
});

async function startReconciler(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'reconciler', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout?.resume();
  return waitFor('the reconciler to get ready', () => {
    if (child.exitCode !== null) throw new Error(`the reconciler exited ${child.exitCode}:\n${stderr}`);
    return /mcpctl reconciler serving (http:\/\/\S+)/.exec(stderr)?.[1];
  }, 20_000);
}

async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: response.status, body: await response.json() };
}
