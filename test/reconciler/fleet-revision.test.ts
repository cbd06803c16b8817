// One revision for the fleet on a real etcd (DESIGN §9), with FleetRevision instances in this
// process over real Git repositories: one leader reads Git, everyone serves what it accepted,
// a sync through a follower reaches it, a bad commit is rejected for all, the next leader takes
// over, and a deposed leader cannot write. (Whole reconciler processes: fleet-processes.test.ts.)
import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { compactionTarget } from '../../reconciler/etcd-compaction.js';
import { FleetRevision } from '../../reconciler/fleet-revision.js';
import { GitSource } from '../../reconciler/git-source.js';
import { LeaderElection } from '../../reconciler/leader-election.js';
import { etcdForFile, etcdTool, TestEtcd } from '../support/etcd.js';
import { waitFor } from '../support/wait-for.js';
import { createRemoteWithClone, llmYaml, makeTempDir, removeTempDirs, type TestRepo } from './desired-fixtures.js';

const etcd = etcdForFile();
let prefixes = 0;
const fleets: FleetRevision[] = [];

afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.stop().catch(() => {})));
  await removeTempDirs();
});

describe('compactionTarget', () => {
  it.each([
    { previousTickRevision: null, currentRevision: 90_000, compactedRevision: 0, keepRevisions: 5_000, target: null, why: 'the first tick only notes the revision' },
    { previousTickRevision: 50_000, currentRevision: 90_000, compactedRevision: 0, keepRevisions: 5_000, target: 50_000, why: 'what the previous tick saw (5 minutes ago)' },
    { previousTickRevision: 50_000, currentRevision: 52_000, compactedRevision: 0, keepRevisions: 5_000, target: 47_000, why: 'a quiet etcd keeps the last few thousand revisions' },
    { previousTickRevision: 50_000, currentRevision: 52_000, compactedRevision: 47_000, keepRevisions: 5_000, target: null, why: 'nothing new to compact' },
    { previousTickRevision: 3_000, currentRevision: 4_000, compactedRevision: 0, keepRevisions: 5_000, target: null, why: 'a young etcd is not compacted' },
  ])('$why', ({ why: _why, target, ...tick }) => {
    expect(compactionTarget(tick)).toBe(target);
  });
});

/** A remote whose reconcilers do not watch it: only the poll (an hour) or a sync makes the leader read it. */
async function fleetOn(prefix: string, remote: string, id: string, options: { endpoint?: string; compactEveryMs?: number } = {}): Promise<FleetRevision> {
  const git = new GitSource({ source: remote, branch: 'main', path: 'llms', cacheDir: await makeTempDir(`cache-${id}`) });
  const source = { description: git.description, read: () => git.read(), readRevision: (revision: string) => git.readRevision(revision), watch: async () => async () => {} };
  const fleet = new FleetRevision({
    endpoints: [options.endpoint ?? etcd().endpoint],
    prefix,
    source,
    pollMs: 3_600_000,
    leaderTtlSeconds: 2,
    reconcilerId: id,
    syncTimeoutMs: 20_000,
    ...(options.compactEveryMs === undefined ? {} : { compaction: { intervalMs: options.compactEveryMs, keepRevisions: 0 } }),
  });
  fleets.push(fleet);
  return fleet;
}

async function twoFleets(clone: TestRepo, remote: string): Promise<{ leader: FleetRevision; follower: FleetRevision; prefix: string }> {
  const prefix = `/fleet-${++prefixes}/`;
  const one = await fleetOn(prefix, remote, 'one');
  await one.start();
  const two = await fleetOn(prefix, remote, 'two');
  await two.start();
  expect(one.leader()?.id).toBe('one');
  expect(two.leader()?.id).toBe('one');
  return { leader: one, follower: two, prefix };
}

describe.skipIf(!etcdTool.available)(`FleetRevision on one etcd${etcdTool.skipNote}`, () => {
  it('two reconcilers serve the revision the leader accepted; a sync through the follower makes the leader read Git, and both serve the new commit', async () => {
    const { remote, clone } = await createRemoteWithClone();
    const first = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const { leader, follower } = await twoFleets(clone, remote);
    expect([leader.current()?.revision, follower.current()?.revision]).toEqual([first, first]);
    expect(follower.current()?.llms.map((l) => l.resource.metadata.name)).toEqual(['a']);

    const second = await clone.commit({ 'llms/b.yaml': llmYaml('b') });
    const attempt = await follower.sync();
    expect(attempt).toMatchObject({ revision: second, result: 'applied', errors: [] });
    expect(follower.current()?.revision).toBe(second);
    expect(follower.current()?.llms.map((l) => l.resource.metadata.name).sort()).toEqual(['a', 'b']);
    await waitFor('the leader to serve it', () => leader.current()?.revision === second);
    for (const fleet of [leader, follower]) {
      expect(fleet.status()).toMatchObject({ revision: second, lastGoodRevision: second, errors: [] });
      expect(fleet.status().history.map((a) => `${a.revision} ${a.result}`)).toEqual([`${second} applied`, `${first} applied`]);
    }
  });

  it('a bad commit is rejected by the leader: both keep serving the last good revision and show its errors', async () => {
    const { remote, clone } = await createRemoteWithClone();
    const good = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const { leader, follower } = await twoFleets(clone, remote);
    const bad = await clone.commit({ 'llms/broken.yaml': 'kind: [' });
    const attempt = await follower.sync();
    expect(attempt).toMatchObject({ revision: bad, result: 'rejected' });
    // The follower's sync returns once its watch shows the record; the leader takes in its own
    // write when etcd answers the write, which may come a moment later.
    await waitFor('the leader to show the rejected commit', () => leader.status().revision === bad);
    for (const fleet of [leader, follower]) {
      const status = fleet.status();
      expect(fleet.current()?.revision).toBe(good);
      expect(status).toMatchObject({ revision: bad, lastGoodRevision: good });
      expect(status.errors.map((e) => `${e.file}:${e.line}`)).toEqual(['llms/broken.yaml:1']);
    }
  });

  it('when the leader stops, the other reconciler leads and keeps following Git', async () => {
    const { remote, clone } = await createRemoteWithClone();
    await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const { leader, follower } = await twoFleets(clone, remote);
    await leader.stop();
    await waitFor('the follower to lead', () => follower.leader()?.id === 'two');
    const next = await clone.commit({ 'llms/c.yaml': llmYaml('c') });
    expect(await follower.sync()).toMatchObject({ revision: next, result: 'applied' });
    expect(follower.current()?.revision).toBe(next);
  });

  it('a sync request left while no reconciler leads is answered by the first read of the next leader', async () => {
    const { remote, clone } = await createRemoteWithClone();
    await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const prefix = `/fleet-${++prefixes}/`;
    const raw = new Etcd3({ hosts: `http://${etcd().endpoint}` });
    try {
      const first = await fleetOn(prefix, remote, 'one');
      await first.start();
      await first.stop();
      const next = await clone.commit({ 'llms/d.yaml': llmYaml('d') });
      const request = await raw.put(`${prefix}sync`).value('{}').exec();
      const second = await fleetOn(prefix, remote, 'two');
      await second.start();
      const record = JSON.parse((await raw.get(`${prefix}revision`).string()) ?? '{}') as { syncedThrough: number; lastGoodRevision: string };
      expect(record.syncedThrough).toBeGreaterThanOrEqual(Number(request.header.revision));
      expect(record.lastGoodRevision).toBe(next);
      expect(second.current()?.revision).toBe(next);
    } finally {
      raw.close();
    }
  });

  it('a deposed leader cannot write: its fence fails once the leader key is a new one, whoever holds it', async () => {
    const prefix = `/fleet-${++prefixes}/`;
    const raw = new Etcd3({ hosts: `http://${etcd().endpoint}` });
    const elections: LeaderElection[] = [];
    try {
      const leading = new Set<string>();
      for (const id of ['x', 'y']) {
        const election = new LeaderElection({
          client: raw,
          key: `${prefix}leader`,
          id,
          ttlSeconds: 2,
          callTimeoutMs: 2000,
          onLeading: (now) => (now ? leading.add(id) : leading.delete(id)),
          log: () => {},
        });
        elections.push(election);
        await election.start();
      }
      const [x, y] = elections as [LeaderElection, LeaderElection];
      expect([...leading]).toEqual(['x']);
      const fence = x.fence();
      if (fence === null) throw new Error('x does not lead');
      // The key removed by hand (as if x's lease ended unseen): both campaign again and one wins.
      // Either way the key is a new one, so the fence x held as leader before no longer holds.
      await raw.delete().key(`${prefix}leader`);
      const agreed = (): boolean => {
        const winner = [...leading][0];
        return leading.size === 1 && (x.fence() !== null) !== (y.fence() !== null) && x.leader()?.id === winner && y.leader()?.id === winner;
      };
      await waitFor('one of them to lead again, and both to know it', agreed);
      const write = await raw.kv.txn({ compare: [fence], success: [{ request_put: { key: Buffer.from(`${prefix}revision`), value: Buffer.from('late') } }], failure: [] });
      expect(write.succeeded).toBe(false);
    } finally {
      for (const election of elections) await election.stop();
      raw.close();
    }
  });

  it('etcd killed and started again: both keep serving, a sync fails meanwhile, and after it the fleet follows Git again', async () => {
    const own = await TestEtcd.start();
    try {
      const { remote, clone } = await createRemoteWithClone();
      const first = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
      const prefix = '/restarted/';
      const leader = await fleetOn(prefix, remote, 'one', { endpoint: own.endpoint });
      await leader.start();
      const follower = await fleetOn(prefix, remote, 'two', { endpoint: own.endpoint });
      await follower.start();
      await own.kill();
      await expect(follower.sync()).rejects.toThrow(/etcd is unavailable/);
      expect([leader.current()?.revision, follower.current()?.revision]).toEqual([first, first]);
      await own.run();
      const next = await clone.commit({ 'llms/e.yaml': llmYaml('e') });
      const attempt = await waitFor('a sync after the restart', () => follower.sync().catch(() => undefined), 30_000);
      expect(attempt.revision).toBe(next);
      expect(follower.current()?.revision).toBe(next);
      await waitFor('the leader to serve it too', () => leader.current()?.revision === next);
    } finally {
      await Promise.all(fleets.splice(0).map((f) => f.stop().catch(() => {})));
      await own.stop();
    }
  });

  it('the leader compacts etcd history now and then', async () => {
    const own = await TestEtcd.start();
    const raw = new Etcd3({ hosts: `http://${own.endpoint}` });
    try {
      const { remote, clone } = await createRemoteWithClone();
      await clone.commit({ 'llms/a.yaml': llmYaml('a') });
      const fleet = await fleetOn('/compacted/', remote, 'one', { endpoint: own.endpoint, compactEveryMs: 200 });
      await fleet.start();
      for (let i = 0; i < 5; i++) await raw.put(`/other/${i}`).value('x');
      await waitFor('revision 1 to be compacted', async () => {
        const error = await raw.get('/other/0').revision(1).exec().then(() => null, (e: unknown) => e as Error);
        return error !== null && /compacted/.test(error.message);
      });
      // Compaction does not disturb the fleet: it still serves and answers a sync.
      expect((await fleet.sync()).result).toBe('unchanged');
    } finally {
      raw.close();
      await Promise.all(fleets.splice(0).map((f) => f.stop().catch(() => {})));
      await own.stop();
    }
  });
});
