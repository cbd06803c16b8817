// Two `mcpctl reconciler` processes on one real etcd and one Git repository (DESIGN §9, "one
// revision for the fleet"): both serve the revision the leader accepted, a sync through the
// follower reaches the leader, a bad commit is rejected for both, and after kill -9 of the
// leader the other one leads and keeps following Git.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusAnswer } from '../../schema/views.js';
import { etcdTool, TestEtcd } from '../support/etcd.js';
import { waitFor } from '../support/wait-for.js';
import { createRemoteWithClone, llmYaml, removeTempDirs } from './desired-fixtures.js';

const BIN = join(import.meta.dirname, '../../dist/cli/bin.js');
const TTL_SECONDS = 3;

let etcd: TestEtcd;
let raw: Etcd3;
let prefixes = 0;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!etcdTool.available) return;
  etcd = await TestEtcd.start();
  raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
}, 60_000);
afterAll(async () => {
  if (!etcdTool.available) return;
  raw.close();
  await etcd.stop();
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await removeTempDirs();
});

interface Reconciler {
  url: string;
  child: ChildProcess;
}

async function startReconciler(remote: string, prefix: string): Promise<Reconciler> {
  const args = ['reconciler', '--source', remote, '--listen', '127.0.0.1:0', '--store', `etcd://${etcd.endpoint}`, '--store-prefix', prefix];
  args.push('--ttl', `${TTL_SECONDS}s`, '--heartbeat-interval', '1s', '--gc', '1m', '--poll', '1h');
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout?.resume();
  const url = await waitFor('the reconciler to get ready', () => {
    if (child.exitCode !== null) throw new Error(`the reconciler exited ${child.exitCode}:\n${stderr}`);
    return /mcpctl reconciler serving (http:\/\/\S+?)[ "]/.exec(stderr)?.[1];
  }, 20_000);
  return { url, child };
}

async function status(url: string): Promise<StatusAnswer> {
  return (await (await fetch(`${url}/api/v1/status`)).json()) as StatusAnswer;
}

async function servedRevision(url: string): Promise<string | null> {
  return ((await (await fetch(`${url}/api/v1/llms`)).json()) as { revision: string | null }).revision;
}

async function sync(url: string): Promise<{ status: number; body: { revision: string | null; result: string } }> {
  const response = await fetch(`${url}/api/v1/sync`, { method: 'POST' });
  return { status: response.status, body: (await response.json()) as { revision: string | null; result: string } };
}

/** The leader key: who leads and the URL it announced. */
async function leaderOf(prefix: string): Promise<{ id: string; url: string | null; lease: string } | null> {
  const response = await raw.get(`${prefix}leader`).exec();
  const kv = response.kvs[0];
  if (kv === undefined) return null;
  return { ...(JSON.parse(kv.value.toString()) as { id: string; url: string | null }), lease: String(kv.lease) };
}

async function twoReconcilers(remote: string): Promise<{ leader: Reconciler; follower: Reconciler; prefix: string }> {
  const prefix = `/processes-${++prefixes}/`;
  const both = [await startReconciler(remote, prefix), await startReconciler(remote, prefix)];
  const announced = await waitFor('the leader to announce its URL', async () => (await leaderOf(prefix))?.url ?? undefined);
  const leader = both.find((r) => r.url === announced);
  const follower = both.find((r) => r.url !== announced);
  if (leader === undefined || follower === undefined) throw new Error(`the leader announced ${announced}, not one of ${both.map((r) => r.url).join(', ')}`);
  return { leader, follower, prefix };
}

describe.skipIf(!etcdTool.available)(`two mcpctl reconciler processes on one etcd and one Git repository${etcdTool.skipNote}`, () => {
  it('serve the same revision; a commit synced through the follower is served by both; a bad commit is rejected and both show its errors', async () => {
    const { remote, clone } = await createRemoteWithClone();
    const first = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const { leader, follower } = await twoReconcilers(remote);
    for (const { url } of [leader, follower]) await waitFor(`${url} to serve ${first}`, async () => (await servedRevision(url)) === first);

    const second = await clone.commit({ 'llms/b.yaml': llmYaml('b') });
    const synced = await sync(follower.url);
    expect(synced.status).toBe(200);
    expect(synced.body.revision).toBe(second);
    for (const { url } of [leader, follower]) {
      await waitFor(`${url} to serve ${second}`, async () => (await servedRevision(url)) === second);
      expect(await status(url)).toMatchObject({ revision: second, lastGoodRevision: second, errors: [] });
    }

    const bad = await clone.commit({ 'llms/broken.yaml': 'kind: [' });
    const rejected = await sync(follower.url);
    expect(rejected.body).toMatchObject({ revision: second, result: 'rejected' });
    for (const { url } of [leader, follower]) {
      const answer = await waitFor(`${url} to show the rejection`, async () => {
        const s = await status(url);
        return s.revision === bad ? s : undefined;
      });
      expect(answer.lastGoodRevision).toBe(second);
      expect(answer.errors.map((e) => `${e.file}:${e.line}`)).toEqual(['llms/broken.yaml:1']);
      expect(await servedRevision(url)).toBe(second);
    }
  });

  it('kill -9 of the leader: the other reconciler leads (its key lived on a lease of at most --ttl) and keeps following Git', async () => {
    const { remote, clone } = await createRemoteWithClone();
    const first = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const { leader, follower, prefix } = await twoReconcilers(remote);
    const before = await leaderOf(prefix);
    const lease = await raw.leaseClient.leaseTimeToLive({ ID: before?.lease ?? '0' });
    expect(Number(lease.grantedTTL)).toBeLessThanOrEqual(TTL_SECONDS);
    await waitFor(`${follower.url} to serve ${first}`, async () => (await servedRevision(follower.url)) === first);

    leader.child.kill('SIGKILL');
    const after = await waitFor('the follower to lead', async () => {
      const now = await leaderOf(prefix);
      return now !== null && now.url === follower.url ? now : undefined;
    }, 30_000);
    expect(after.id).not.toBe(before?.id);
    expect(await servedRevision(follower.url)).toBe(first);

    const next = await clone.commit({ 'llms/c.yaml': llmYaml('c') });
    const synced = await sync(follower.url);
    expect(synced.body.revision).toBe(next);
    expect(await status(follower.url)).toMatchObject({ revision: next, lastGoodRevision: next, errors: [] });
  });
});
