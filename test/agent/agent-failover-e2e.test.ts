// `mcpctl agent` as a real process with `servers:`, against two reconciler stand-ins that share one
// lease table in this process (as reconcilers on one etcd share their leases). Run
// `npx tsc -p tsconfig.json` first.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import { createFakeLeaseTable, startFakeReconciler, type FakeLeaseTable, type FakeReconciler } from './fake-reconciler.js';
import { killAllMcpctl, startMcpctl } from './mcpctl-process.js';
import { waitFor as waitForWithin } from '../support/wait-for.js';

/** Process starts on a loaded 2-core box can be slow: e2e waits get more room than unit tests. */
function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  return waitForWithin(what, probe, timeoutMs);
}

let dir: string;
let table: FakeLeaseTable;
let first: FakeReconciler;
let second: FakeReconciler;
let standin: StandinServer;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpctl-agent-failover-'));
  table = createFakeLeaseTable();
  first = await startFakeReconciler({ table });
  second = await startFakeReconciler({ table });
  // A slower beat than the in-process tests: a process on a busy box must keep up with it.
  first.heartbeatIntervalSeconds = 0.2;
  second.heartbeatIntervalSeconds = 0.2;
  standin = await startStandinServer({ model: 'Qwen/Qwen3-8B' });
});

afterEach(async () => {
  await killAllMcpctl();
  await Promise.all([first.close(), second.close(), standin.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(): Promise<string> {
  const file = join(dir, 'agent.yaml');
  const provider = `  - name: vllm-gpu1-qwen3\n    poolName: qwen3-pool\n    type: vllm\n    model: Qwen/Qwen3-8B\n    url: ${standin.url}\n`;
  await writeFile(file, `servers:\n  - ${first.url}\n  - ${second.url}\nagentId: gpu1\nproviders:\n${provider}`);
  return file;
}

const leaseIdsAt = (fake: FakeReconciler): unknown[] => fake.callsOf('heartbeat').map((c) => c.body?.leaseId);

describe('mcpctl agent with servers', () => {
  it('beats at the second reconciler with its lease once the first is gone, and deregisters there on SIGTERM', async () => {
    const agent = startMcpctl(['agent', '--config', await writeConfig()]);
    await waitFor('a heartbeat at the first reconciler', () => first.callsOf('heartbeat').length >= 1);
    expect(agent.output()).toContain(`reconcilers ${first.url}, ${second.url}, 1 provider(s))`);
    await first.close();
    await waitFor('two heartbeats at the second reconciler', () => second.callsOf('heartbeat').length >= 2);
    expect(leaseIdsAt(second).every((id) => id === 'lease-1')).toBe(true);
    expect(first.callsOf('register').length + second.callsOf('register').length).toBe(1);
    expect(agent.output()).toMatch(new RegExp(`agent: reconciler ${first.url.replace(/[.]/g, '\\.')} unreachable \\(.+\\); trying ${second.url.replace(/[.]/g, '\\.')}\\n`));

    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(second.callsOf('deregister').map((c) => c.path)).toEqual(['/api/v1/agents/gpu1?leaseId=lease-1']);
    expect(table.leases.size).toBe(0);
  });

  it('beats at the second reconciler with its lease while the first answers 503 StoreUnavailable', async () => {
    const agent = startMcpctl(['agent', '--config', await writeConfig()]);
    await waitFor('a heartbeat at the first reconciler', () => first.callsOf('heartbeat').length >= 1);
    first.unavailable = true;
    await waitFor('two heartbeats at the second reconciler', () => second.callsOf('heartbeat').length >= 2);
    expect(leaseIdsAt(second).every((id) => id === 'lease-1')).toBe(true);
    expect(first.callsOf('register').length + second.callsOf('register').length).toBe(1);
    expect(agent.output()).toContain(`agent: reconciler ${first.url} answered the heartbeat with 503 StoreUnavailable: the lease store is unavailable; trying ${second.url}\n`);
  });
});
