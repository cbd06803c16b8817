// Two `mcpctl reconciler` processes on one real etcd and one Git repository (DESIGN §9, "one
// revision for the fleet"): both serve the revision the leader accepted, a sync through the
// follower reaches the leader, a bad commit is rejected for both, and after kill -9 of the
// leader the other one leads and keeps following Git.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import type { LlmView, StatusAnswer } from '../../schema/views.js';
import { etcdForFile, etcdTool } from '../support/etcd.js';
import { waitFor } from '../support/wait-for.js';
import { createRemoteWithClone, llmYaml, removeTempDirs } from './desired-fixtures.js';
import { entry, registration } from './support/harness.js';

const BIN = join(import.meta.dirname, '../../dist/cli/bin.js');
const TTL_SECONDS = 3;

const etcd = etcdForFile();
let raw: Etcd3;
let prefixes = 0;
const children: ChildProcess[] = [];

beforeAll(() => {
  if (etcdTool.available) raw = new Etcd3({ hosts: `http://${etcd().endpoint}` });
});
afterAll(() => {
  if (etcdTool.available) raw.close();
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
  const args = ['reconciler', '--source', remote, '--listen', '127.0.0.1:0', '--store', `etcd://${etcd().endpoint}`, '--store-prefix', prefix];
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

async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

async function phaseOn(url: string, name: string): Promise<string | null> {
  const response = await fetch(`${url}/api/v1/llms/${name}`);
  return response.status === 200 ? ((await response.json()) as LlmView).status.phase : null;
}

/**
 * An agent's beats as `servers: [first, second]` sends them: every `intervalMs` to the first
 * reconciler, and to the second once the first does not answer. Stops when `stop` is called.
 */
function beatAcross(servers: [string, string], agentId: string, leaseId: string, intervalMs: number): { stop(): Promise<void>; failures(): number } {
  let stopped = false;
  let current = 0;
  let failures = 0;
  const loop = (async () => {
    while (!stopped) {
      const server = servers[current] as string;
      const answer = await postJson(`${server}/api/v1/agents/${agentId}/heartbeat`, { leaseId, llms: [], gpus: [] }).catch(() => null);
      if (answer === null || answer.status === 503) {
        current = 1 - current;
        continue;
      }
      if (answer.status !== 200) failures++;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
    failures: () => failures,
  };
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

  it('kill -9 of the leader during heartbeats: the other reconciler leads (its key lived on a lease of at most --ttl), no member goes stale, and it keeps following Git', async () => {
    const { remote, clone } = await createRemoteWithClone();
    const first = await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const { leader, follower, prefix } = await twoReconcilers(remote);
    const before = await leaderOf(prefix);
    const lease = await raw.leaseClient.leaseTimeToLive({ ID: before?.lease ?? '0' });
    expect(Number(lease.grantedTTL)).toBeLessThanOrEqual(TTL_SECONDS);
    await waitFor(`${follower.url} to serve ${first}`, async () => (await servedRevision(follower.url)) === first);

    // An agent registered through the leader beats through it, and through the follower once it is gone.
    const registered = await postJson(`${leader.url}/api/v1/agents/register`, registration('gpu1', [entry('gpu1-worker')]));
    expect(registered.status).toBe(200);
    const { leaseId } = registered.body as RegistrationAnswer;
    const beats = beatAcross([leader.url, follower.url], 'gpu1', leaseId, 300);
    await waitFor('the follower to see the worker active', async () => (await phaseOn(follower.url, 'gpu1-worker')) === 'active');
    const phases = new Set<string | null>();
    const watching = { stop: false };
    const watched = (async () => {
      while (!watching.stop) {
        phases.add(await phaseOn(follower.url, 'gpu1-worker'));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    leader.child.kill('SIGKILL');
    const after = await waitFor('the follower to lead', async () => {
      const now = await leaderOf(prefix);
      return now !== null && now.url === follower.url ? now : undefined;
    }, 30_000);
    expect(after.id).not.toBe(before?.id);
    expect(await servedRevision(follower.url)).toBe(first);
    // Beats went on through the follower for longer than one TTL: the worker never went stale.
    await new Promise((resolve) => setTimeout(resolve, (TTL_SECONDS + 1) * 1000));
    watching.stop = true;
    await watched;
    await beats.stop();
    expect([...phases]).toEqual(['active']);
    expect(beats.failures()).toBe(0);

    const next = await clone.commit({ 'llms/c.yaml': llmYaml('c') });
    const synced = await sync(follower.url);
    expect(synced.body.revision).toBe(next);
    expect(await status(follower.url)).toMatchObject({ revision: next, lastGoodRevision: next, errors: [] });
  });

  it('a watch on one reconciler sees a registration made through the other', async () => {
    const { remote, clone } = await createRemoteWithClone();
    await clone.commit({ 'llms/a.yaml': llmYaml('a') });
    const { leader, follower } = await twoReconcilers(remote);
    const stop = new AbortController();
    const response = await fetch(`${follower.url}/api/v1/watch`, { signal: stop.signal });
    let text = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
      } catch {
        // Aborted at the end of the test.
      }
    })();
    const registered = await postJson(`${leader.url}/api/v1/agents/register`, registration('gpu7', [entry('gpu7-worker')]));
    expect(registered.status).toBe(200);
    await waitFor('an ADDED event for gpu7-worker on the other reconciler', () => /event: ADDED\ndata: .*"name":"gpu7-worker"/.test(text), 10_000);
    stop.abort();
    await reading;
  });
});
