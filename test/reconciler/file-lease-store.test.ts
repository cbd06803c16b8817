// The state-dir lease file: durable writes are on disk when they resolve, batched changes reach
// it on flush, a burst shares writes, and nothing half-written is ever read back.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLeaseStore, LEASE_FILE } from '../../reconciler/file-lease-store.js';
import type { LeaseRecord } from '../../reconciler/lease-store.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpctl-leases-'));
  dirs.push(dir);
  return dir;
}

function record(agentId: string, lastHeartbeatAt = 1_000): LeaseRecord {
  return {
    agentId,
    leaseId: `lease-${agentId}`,
    host: `${agentId}.lan`,
    version: '0.1.0',
    gpus: [],
    lastHeartbeatAt,
    llms: [{ name: `${agentId}-llm`, poolName: 'p', type: 'vllm', model: 'm', url: 'http://h:1/v1', health: 'ok' }],
  };
}

async function onDisk(dir: string): Promise<LeaseRecord[]> {
  return (JSON.parse(await readFile(join(dir, LEASE_FILE), 'utf8')) as { agents: LeaseRecord[] }).agents;
}

async function listed(store: FileLeaseStore): Promise<LeaseRecord[]> {
  return (await store.list()).records.map((r) => r.record);
}

describe('FileLeaseStore', () => {
  it('a compare-and-set is on disk when its promise resolves', async () => {
    const dir = await stateDir();
    const store = new FileLeaseStore({ dir, batchMs: 60_000 });
    expect(await listed(store)).toEqual([]);
    const put = await store.compareAndSet('gpu1', 0, record('gpu1'));
    expect(await onDisk(dir)).toEqual([record('gpu1')]);
    await store.compareAndSet('gpu1', put.ok ? put.modRevision : -1, null);
    expect(await onDisk(dir)).toEqual([]);
  });

  it('a burst of concurrent puts all land, sharing writes', async () => {
    const dir = await stateDir();
    const store = new FileLeaseStore({ dir, batchMs: 60_000 });
    await store.list();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.compareAndSet(`gpu${String(i).padStart(2, '0')}`, 0, record(`gpu${String(i).padStart(2, '0')}`))));
    const agents = await onDisk(dir);
    expect(agents.map((a) => a.agentId)).toEqual(Array.from({ length: 50 }, (_, i) => `gpu${String(i).padStart(2, '0')}`));
  });

  it('batched heartbeat times wait for the batch or a flush', async () => {
    const dir = await stateDir();
    const store = new FileLeaseStore({ dir, batchMs: 60_000 });
    await store.list();
    await store.compareAndSet('gpu1', 0, record('gpu1', 1_000));
    store.touch('gpu1', 9_000);
    expect((await onDisk(dir))[0]?.lastHeartbeatAt).toBe(1_000);
    await store.flush();
    expect((await onDisk(dir))[0]?.lastHeartbeatAt).toBe(9_000);
  });

  it('a second store over the same folder loads what the first wrote, and removes leftover temp files', async () => {
    const dir = await stateDir();
    const first = new FileLeaseStore({ dir });
    await first.list();
    await first.compareAndSet('gpu1', 0, record('gpu1'));
    await first.close();
    // Both namings: gitio's writeFileAtomic (hidden), and the one of earlier versions.
    await writeFile(join(dir, `.${LEASE_FILE}.0a1b2c3d.tmp`), '{"half');
    await writeFile(join(dir, `${LEASE_FILE}.tmp-999-0`), '{"half');
    const second = new FileLeaseStore({ dir });
    expect(await listed(second)).toEqual([record('gpu1')]);
    expect(await readdir(dir)).toEqual([LEASE_FILE]);
  });

  it('keeps GPU figures an agent could not read as null across a restart', async () => {
    const dir = await stateDir();
    const mig = { ...record('gpu1'), gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 20341, utilizationPct: null }] };
    const first = new FileLeaseStore({ dir });
    await first.list();
    await first.compareAndSet('gpu1', 0, mig);
    await first.close();
    expect(await listed(new FileLeaseStore({ dir }))).toEqual([mig]);
  });

  it('refuses a corrupt file with a message that says what to do', async () => {
    const dir = await stateDir();
    await writeFile(join(dir, LEASE_FILE), '{"formatVersion": 1, "agents": [{"agentId": 3}]}');
    await expect(new FileLeaseStore({ dir }).list()).rejects.toThrow(/leases\.json: unexpected content \(agents\.0\.agentId: .*\); move it away to start with no registrations/);
    await writeFile(join(dir, LEASE_FILE), 'not json');
    await expect(new FileLeaseStore({ dir }).list()).rejects.toThrow(/leases\.json: not valid JSON/);
  });
});
