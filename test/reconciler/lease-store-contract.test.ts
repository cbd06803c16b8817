// What every LeaseStore promises, run against each one: list at a revision, watch after it,
// compare-and-set decided by the store, touches that move only the time. Revisions are compared
// with each other, never with fixed numbers: etcd's count every write of the cluster. Where the
// stores differ by design (a local touch is a write with a revision of its own, an etcd touch
// keeps the record's), the table says so and the test checks each store's own rule.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EtcdLeaseStore, StoreUnavailable } from '../../reconciler/etcd-lease-store.js';
import { FileLeaseStore } from '../../reconciler/file-lease-store.js';
import { LeaseWatchGap, type LeaseEvent, type LeaseRecord, type LeaseStore } from '../../reconciler/lease-store.js';
import { MemoryLeaseStore } from '../../reconciler/memory-lease-store.js';
import { etcdForFile, etcdTool } from '../support/etcd.js';
import { leaseRecord } from './support/lease-record.js';

const dirs: string[] = [];
const opened: LeaseStore[] = [];
const etcd = etcdForFile();
let prefixes = 0;

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

interface StoreKind {
  make: () => Promise<LeaseStore>;
  /** A touch is a write of its own with a new revision (local), or keeps the record's (etcd). */
  touchMovesRevision: boolean;
  /** putLater is applied at once with the next revision (local), or sent soon and keeps the revision meanwhile (etcd). */
  putLaterMovesRevision: boolean;
}

function opening(make: () => Promise<LeaseStore>): () => Promise<LeaseStore> {
  return async () => {
    const store = await make();
    opened.push(store);
    return store;
  };
}

const STORES: [string, StoreKind][] = [
  ['MemoryLeaseStore', { make: opening(() => Promise.resolve(new MemoryLeaseStore())), touchMovesRevision: true, putLaterMovesRevision: true }],
  [
    'FileLeaseStore',
    {
      make: opening(async () => {
        const dir = await mkdtemp(join(tmpdir(), 'mcpctl-contract-'));
        dirs.push(dir);
        return new FileLeaseStore({ dir, batchMs: 60_000 });
      }),
      touchMovesRevision: true,
      putLaterMovesRevision: true,
    },
  ],
  [
    `EtcdLeaseStore${etcdTool.skipNote}`,
    {
      make: opening(() => Promise.resolve(new EtcdLeaseStore({ endpoints: [etcd().endpoint], prefix: `/contract-${++prefixes}/`, beatBatchMs: 60_000 }))),
      touchMovesRevision: false,
      putLaterMovesRevision: false,
    },
  ],
];


async function written(store: LeaseStore, agentId: string, expected: number, next: LeaseRecord | null): Promise<number> {
  const result = await store.compareAndSet(agentId, expected, next);
  if (!result.ok) throw new Error(`compare-and-set of ${agentId} over ${expected} refused`);
  return result.modRevision;
}

describe.each(STORES)('%s', (name, kind) => {
  const it_ = name.startsWith('EtcdLeaseStore') && !etcdTool.available ? it.skip : it;

  it_('takes writes once listed, and says what kind of store it is', async () => {
    const store = await kind.make();
    await store.list();
    expect(store.availability()).toEqual({ available: true });
    expect(store.kind).toBe(name.startsWith('EtcdLeaseStore') ? 'etcd' : name === 'FileLeaseStore' ? 'file' : 'memory');
    expect(store.endpoints.length > 0).toBe(store.kind === 'etcd');
  });

  it_('lists nothing at first, then what was written, at a revision not before the write', async () => {
    const store = await kind.make();
    const first = await store.list();
    expect(first.records).toEqual([]);
    const put = await store.compareAndSet('gpu1', 0, leaseRecord('gpu1'));
    expect(put.ok && put.modRevision > first.revision).toBe(true);
    const list = await store.list();
    expect(list.revision).toBeGreaterThanOrEqual(put.ok ? put.modRevision : 0);
    expect(list.records).toEqual([{ record: leaseRecord('gpu1'), modRevision: put.ok ? put.modRevision : 0 }]);
  });

  it_('watch delivers every change after the listed revision, in order, until unwatched', async () => {
    const store = await kind.make();
    const { revision } = await store.list();
    const events: LeaseEvent[] = [];
    const unwatch = store.watch(revision, (e) => events.push(e));
    const created = await written(store, 'gpu1', 0, leaseRecord('gpu1'));
    store.touch('gpu1', 5_000);
    const touched = events.at(-1)?.modRevision ?? -1;
    const deleted = await store.compareAndSet('gpu1', touched, null);
    expect(deleted).toEqual({ ok: true, modRevision: 0 });
    unwatch();
    await written(store, 'gpu2', 0, leaseRecord('gpu2'));
    expect(events.map((e) => `${e.type} ${e.type === 'delete' ? e.agentId : e.record.agentId}`)).toEqual(['put gpu1', 'touch gpu1', 'delete gpu1']);
    expect(events[0]?.modRevision).toBe(created);
    if (kind.touchMovesRevision) expect(touched).toBeGreaterThan(created);
    else expect(touched).toBe(created);
    expect(events[2]!.modRevision).toBeGreaterThan(touched);
  });

  it_('a watch from a revision that is not the current one is refused: list again', async () => {
    const store = await kind.make();
    const { revision } = await store.list();
    await store.compareAndSet('gpu1', 0, leaseRecord('gpu1'));
    expect(() => store.watch(revision, () => {})).toThrow(LeaseWatchGap);
  });

  it_('compare-and-set writes only over the expected revision, and answers what is there otherwise', async () => {
    const store = await kind.make();
    await store.list();
    const created = await written(store, 'gpu1', 0, leaseRecord('gpu1'));
    // A second "create" loses: the key exists.
    expect(await store.compareAndSet('gpu1', 0, leaseRecord('gpu1', ['other']))).toEqual({ ok: false, current: { record: leaseRecord('gpu1'), modRevision: created } });
    const events: LeaseEvent[] = [];
    store.watch((await store.list()).revision, (e) => events.push(e));
    store.touch('gpu1', 2_000);
    const afterTouch = events[0]?.modRevision ?? -1;
    if (kind.touchMovesRevision) {
      // A takeover decided before the heartbeat that came in between loses to it.
      const lost = await store.compareAndSet('gpu1', created, leaseRecord('gpu1', []));
      expect(lost.ok).toBe(false);
      expect(lost.ok ? null : lost.current?.modRevision).toBe(afterTouch);
    }
    const taken = await store.compareAndSet('gpu1', afterTouch, leaseRecord('gpu1', []));
    expect(taken.ok && taken.modRevision > afterTouch).toBe(true);
    expect(await store.compareAndSet('ghost', 7, null)).toEqual({ ok: false, current: null });
  });

  it_('putLater decides at once like compare-and-set, and the record is there after a flush', async () => {
    const store = await kind.make();
    await store.list();
    const created = await written(store, 'gpu1', 0, leaseRecord('gpu1'));
    const later = store.putLater(created, leaseRecord('gpu1', ['x']));
    expect(later).toEqual({ ok: true, modRevision: kind.putLaterMovesRevision ? created + 1 : created });
    expect(store.putLater(created + 100, leaseRecord('gpu1', ['z'])).ok).toBe(false);
    // Local stores applied it with a revision of its own; etcd keeps the revision until it lands.
    expect(store.putLater(created, leaseRecord('gpu1', ['y'])).ok).toBe(!kind.putLaterMovesRevision);
    await store.flush();
    const expected = kind.putLaterMovesRevision ? ['x'] : ['y'];
    expect((await store.list()).records[0]?.record.llms.map((e) => e.name)).toEqual(expected);
  });

  it_('a touch moves the time and GPUs only, on the record watchers were given, and is refused for an absent key', async () => {
    const store = await kind.make();
    const events: LeaseEvent[] = [];
    store.watch((await store.list()).revision, (e) => events.push(e));
    const created = await written(store, 'gpu1', 0, leaseRecord('gpu1'));
    const gpus = [{ index: 0, name: 'H100', memoryTotalMiB: 1, memoryUsedMiB: 1, utilizationPct: 1 }];
    expect(store.touch('gpu1', 9_000, gpus)).toBe(true);
    const [put, touch] = events;
    expect(touch).toMatchObject({ type: 'touch', previousHeartbeatAt: 1_000, previousGpus: [] });
    // In place: the record the put gave watchers now holds the new time.
    expect(touch?.type === 'touch' && put?.type === 'put' && touch.record === put.record).toBe(true);
    await store.flush();
    const [listed] = (await store.list()).records;
    expect(listed).toEqual({ record: { ...leaseRecord('gpu1'), lastHeartbeatAt: 9_000, gpus }, modRevision: kind.touchMovesRevision ? created + 1 : created });
    expect(store.touch('ghost', 9_000)).toBe(false);
  });

  it_('a touch with loads sets them on the stored entries in place, and drops one set to undefined', async () => {
    const store = await kind.make();
    const events: LeaseEvent[] = [];
    store.watch((await store.list()).revision, (e) => events.push(e));
    await written(store, 'gpu1', 0, leaseRecord('gpu1', ['a', 'b']));
    const entries = events[0]?.type === 'put' ? events[0].record.llms : [];
    const load = { running: 3, waiting: 1, kvCacheUsage: 0.42 };
    expect(store.touch('gpu1', 9_000, undefined, [{ name: 'a', load }, { name: 'ghost', load }])).toBe(true);
    expect(entries.map((e) => e.load)).toEqual([load, undefined]);
    await store.flush();
    expect((await store.list()).records[0]?.record.llms.map((e) => e.load)).toEqual([load, undefined]);
    store.touch('gpu1', 10_000, undefined, [{ name: 'a', load: undefined }]);
    expect(entries[0]).not.toHaveProperty('load');
    await store.flush();
    expect((await store.list()).records[0]?.record.llms[0]).not.toHaveProperty('load');
  });

  it_('an agent with hundreds of names registers, swaps every one, and deregisters; its names are free after (etcd: beyond one txn of 128 ops)', async () => {
    const store = await kind.make();
    await store.list();
    const names = (prefix: string): string[] => Array.from({ length: 300 }, (_, i) => `${prefix}-${i}`);
    const created = await written(store, 'big', 0, leaseRecord('big', names('a')));
    expect((await store.list()).records).toEqual([{ record: leaseRecord('big', names('a')), modRevision: created }]);
    // Every name released and as many new ones claimed, in one compare-and-set.
    const swapped = await written(store, 'big', created, leaseRecord('big', names('b')));
    expect((await store.list()).records).toEqual([{ record: leaseRecord('big', names('b')), modRevision: swapped }]);
    expect(await written(store, 'other', 0, leaseRecord('other', ['a-0', 'a-299']))).toBeGreaterThan(swapped);
    await store.compareAndSet('big', swapped, null);
    expect((await store.list()).records.map((r) => r.record.agentId)).toEqual(['other']);
    expect(await written(store, 'third', 0, leaseRecord('third', ['b-0', 'b-299']))).toBeGreaterThan(swapped);
  });

  it_('a deleted record is gone from the list and a create over it starts again from absent', async () => {
    const store = await kind.make();
    await store.list();
    const created = await written(store, 'gpu1', 0, leaseRecord('gpu1'));
    expect(await store.compareAndSet('gpu1', created, null)).toEqual({ ok: true, modRevision: 0 });
    expect((await store.list()).records).toEqual([]);
    expect(await store.compareAndSet('gpu1', created, null)).toEqual({ ok: false, current: null });
    expect((await store.compareAndSet('gpu1', 0, leaseRecord('gpu1'))).ok).toBe(true);
  });

  it_('close writes what was batched: a new store over the same data lists it', async () => {
    if (name === 'MemoryLeaseStore') return;
    const store = await kind.make();
    await store.list();
    const created = await written(store, 'gpu1', 0, leaseRecord('gpu1'));
    store.putLater(created, leaseRecord('gpu1', ['x']));
    store.touch('gpu1', 7_000);
    await store.close();
    if (store instanceof EtcdLeaseStore) {
      await expect(store.compareAndSet('gpu1', 0, leaseRecord('gpu1'))).rejects.toBeInstanceOf(StoreUnavailable);
      return; // its beats lease is revoked on close: the time lives on only in the record's own writes
    }
    const again = store instanceof FileLeaseStore ? new FileLeaseStore({ dir: dirs.at(-1)!, batchMs: 60_000 }) : null;
    const [listed] = (await again!.list()).records;
    expect(listed?.record).toEqual({ ...leaseRecord('gpu1', ['x']), lastHeartbeatAt: 7_000 });
  });
});
