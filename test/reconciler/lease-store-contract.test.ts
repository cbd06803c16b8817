// What every LeaseStore promises, run against each one: list at a revision, watch after it,
// compare-and-set decided by the store, touches that move only the time. A new store (etcd)
// joins the table below and must pass the same suite.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLeaseStore } from '../../reconciler/file-lease-store.js';
import { LeaseWatchGap, type LeaseEvent, type LeaseRecord, type LeaseStore } from '../../reconciler/lease-store.js';
import { MemoryLeaseStore } from '../../reconciler/memory-lease-store.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const STORES: [string, () => Promise<LeaseStore>][] = [
  ['MemoryLeaseStore', () => Promise.resolve(new MemoryLeaseStore())],
  [
    'FileLeaseStore',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mcpctl-contract-'));
      dirs.push(dir);
      return new FileLeaseStore({ dir, batchMs: 60_000 });
    },
  ],
];

function record(agentId: string, names: string[] = [`${agentId}-llm`], lastHeartbeatAt = 1_000): LeaseRecord {
  return {
    agentId,
    leaseId: `lease-${agentId}`,
    host: `${agentId}.lan`,
    version: '0.1.0',
    gpus: [],
    lastHeartbeatAt,
    llms: names.map((name) => ({ name, type: 'vllm', model: 'm', url: `http://${name}:1/v1`, health: 'ok' })),
  };
}

function describeEvent(event: LeaseEvent): string {
  return event.type === 'delete' ? `delete ${event.agentId}@${event.modRevision}` : `${event.type} ${event.record.agentId}@${event.modRevision}`;
}

describe.each(STORES)('%s', (_name, make) => {
  it('lists nothing at first, then what was written, at the revision of the last write', async () => {
    const store = await make();
    expect(await store.list()).toEqual({ records: [], revision: 0 });
    const put = await store.compareAndSet('gpu1', 0, record('gpu1'));
    expect(put).toEqual({ ok: true, modRevision: 1 });
    const list = await store.list();
    expect(list.revision).toBe(1);
    expect(list.records).toEqual([{ record: record('gpu1'), modRevision: 1 }]);
  });

  it('watch delivers every change after the listed revision, in order, until unwatched', async () => {
    const store = await make();
    const { revision } = await store.list();
    const events: string[] = [];
    const unwatch = store.watch(revision, (e) => events.push(describeEvent(e)));
    await store.compareAndSet('gpu1', 0, record('gpu1'));
    store.touch('gpu1', 5_000);
    await store.compareAndSet('gpu1', 2, null);
    unwatch();
    await store.compareAndSet('gpu2', 0, record('gpu2'));
    expect(events).toEqual(['put gpu1@1', 'touch gpu1@2', 'delete gpu1@3']);
  });

  it('a watch from a revision that is not the current one is refused: list again', async () => {
    const store = await make();
    await store.list();
    await store.compareAndSet('gpu1', 0, record('gpu1'));
    expect(() => store.watch(0, () => {})).toThrow(LeaseWatchGap);
  });

  it('compare-and-set writes only over the expected revision, and answers what is there otherwise', async () => {
    const store = await make();
    await store.list();
    expect(await store.compareAndSet('gpu1', 0, record('gpu1'))).toEqual({ ok: true, modRevision: 1 });
    // A second "create" loses: the key exists.
    expect(await store.compareAndSet('gpu1', 0, record('gpu1', ['other']))).toEqual({ ok: false, current: { record: record('gpu1'), modRevision: 1 } });
    store.touch('gpu1', 2_000);
    // A takeover decided on revision 1 loses to the heartbeat that came in between.
    const lost = await store.compareAndSet('gpu1', 1, record('gpu1', []));
    expect(lost.ok).toBe(false);
    expect(lost.ok ? null : lost.current?.modRevision).toBe(2);
    expect(await store.compareAndSet('gpu1', 2, record('gpu1', []))).toEqual({ ok: true, modRevision: 3 });
    expect(await store.compareAndSet('ghost', 7, null)).toEqual({ ok: false, current: null });
  });

  it('putLater decides at once like compare-and-set', async () => {
    const store = await make();
    await store.list();
    await store.compareAndSet('gpu1', 0, record('gpu1'));
    expect(store.putLater(1, record('gpu1', ['x']))).toEqual({ ok: true, modRevision: 2 });
    expect(store.putLater(1, record('gpu1', ['y'])).ok).toBe(false);
    expect((await store.list()).records[0]?.record.llms.map((e) => e.name)).toEqual(['x']);
  });

  it('a touch moves the time and GPUs only, keeps the entries, and is refused for an absent key', async () => {
    const store = await make();
    await store.list();
    const original = record('gpu1');
    await store.compareAndSet('gpu1', 0, original);
    const gpus = [{ index: 0, name: 'H100', memoryTotalMiB: 1, memoryUsedMiB: 1, utilizationPct: 1 }];
    const events: LeaseEvent[] = [];
    store.watch(1, (e) => events.push(e));
    expect(store.touch('gpu1', 9_000, gpus)).toBe(true);
    const [listed] = (await store.list()).records;
    expect(listed).toEqual({ record: { ...record('gpu1'), lastHeartbeatAt: 9_000, gpus }, modRevision: 2 });
    expect(listed?.record.llms).toBe(original.llms);
    // The event says what moved, from what.
    expect(events).toMatchObject([{ type: 'touch', modRevision: 2, previousHeartbeatAt: 1_000, previousGpus: [] }]);
    expect(store.touch('ghost', 9_000)).toBe(false);
    await store.close();
  });

  it('a touch with loads sets them on the stored entries in place, and drops one set to undefined', async () => {
    const store = await make();
    await store.list();
    const original = record('gpu1', ['a', 'b']);
    await store.compareAndSet('gpu1', 0, original);
    const load = { running: 3, waiting: 1, kvCacheUsage: 0.42 };
    expect(store.touch('gpu1', 9_000, undefined, [{ name: 'a', load }, { name: 'ghost', load }])).toBe(true);
    const [listed] = (await store.list()).records;
    expect(listed?.record.llms).toBe(original.llms);
    expect(listed?.record.llms.map((e) => e.load)).toEqual([load, undefined]);
    store.touch('gpu1', 10_000, undefined, [{ name: 'a', load: undefined }]);
    expect((await store.list()).records[0]?.record.llms[0]).not.toHaveProperty('load');
    await store.close();
  });
});
