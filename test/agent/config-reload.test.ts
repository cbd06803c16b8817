import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentStartError, runAgentCommand, startAgentService, type AgentService } from '../../agent/main.js';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import { createFakeLeaseTable, startFakeReconciler, type FakeReconciler } from './fake-reconciler.js';
import { waitFor } from '../support/wait-for.js';

let dir: string;
let file: string;
let fake: FakeReconciler;
let standin: StandinServer;
let logs: string[];
let service: AgentService | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpctl-agent-reload-'));
  file = join(dir, 'agent.yaml');
  fake = await startFakeReconciler();
  standin = await startStandinServer({ model: 'Qwen/Qwen3-8B' });
  logs = [];
});

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await fake.close();
  await standin.close();
  await rm(dir, { recursive: true, force: true });
});

function configText(names: string[]): string {
  const providers = names.map((name) => `  - name: ${name}\n    poolName: qwen3-pool\n    type: vllm\n    model: Qwen/Qwen3-8B\n    url: ${standin.url}\n`).join('');
  return `server: ${fake.url}\nagentId: gpu1\nproviders:\n${providers}`;
}

async function startService(): Promise<AgentService> {
  const started = await startAgentService(file, {
    log: (message) => logs.push(message),
    gpus: { read: async () => [] },
    host: 'gpu1.lan',
    random: () => 0.5,
    backoff: { initialMs: 20, maxMs: 80 },
    configDebounceMs: 30,
  });
  if (!started.ok) throw new Error(started.errors.join('\n'));
  service = started.service;
  await service.watching;
  return service;
}

const registeredNames = (): string[][] => fake.callsOf('register').map((c) => (c.body?.llms as { name: string }[]).map((l) => l.name));

describe('config reload', () => {
  it('publishes a provider added to the file without a restart', async () => {
    await writeFile(file, configText(['vllm-gpu1-a']));
    await startService();
    await waitFor('the first registration', () => registeredNames().length === 1);
    await writeFile(file, configText(['vllm-gpu1-a', 'vllm-gpu1-b']));
    await waitFor('a registration with both providers', () => registeredNames().length === 2);
    expect(registeredNames()).toEqual([['vllm-gpu1-a'], ['vllm-gpu1-a', 'vllm-gpu1-b']]);
    expect(logs).toContain('config reloaded: + vllm-gpu1-b');
  });

  it('follows a save by rename (write a temp file, move it over the config)', async () => {
    await writeFile(file, configText(['vllm-gpu1-a']));
    await startService();
    await waitFor('the first registration', () => registeredNames().length === 1);
    await writeFile(join(dir, '.agent.yaml.tmp'), configText(['vllm-gpu1-c']));
    await rename(join(dir, '.agent.yaml.tmp'), file);
    await waitFor('a registration with the new provider', () => registeredNames().length === 2);
    expect(registeredNames()[1]).toEqual(['vllm-gpu1-c']);
  });

  it('keeps the running config after a broken edit, logs one line why, and applies the next good edit', async () => {
    await writeFile(file, configText(['vllm-gpu1-a']));
    await startService();
    await waitFor('a heartbeat', () => fake.callsOf('heartbeat').length >= 1);
    await writeFile(file, `${configText(['vllm-gpu1-a'])}  - name: Bad_Name\n    type: vllm\n    model: m\n    url: http://g:1/v1\n`);
    const line = await waitFor('the broken edit to be logged', () => logs.find((l) => l.startsWith('config not reloaded')));
    expect(line).toBe(
      `config not reloaded, keeping the running config: ${file}:9:11: providers[1].name: invalid name: capital letters are not allowed: "Bad_Name"; a name is 1-63 characters of a-z, 0-9, '.', '_' or '-', starting and ending with a letter or digit`,
    );
    const beatsAtError = fake.callsOf('heartbeat').length;
    await waitFor('two more heartbeats', () => fake.callsOf('heartbeat').length >= beatsAtError + 2);
    expect(fake.callsOf('register')).toHaveLength(1);
    expect(fake.callsOf('heartbeat').every((c) => c.body?.leaseId === 'lease-1')).toBe(true);

    await writeFile(file, configText(['vllm-gpu1-a', 'vllm-gpu1-b']));
    await waitFor('the good edit to apply', () => registeredNames().length === 2);
    expect(registeredNames()[1]).toEqual(['vllm-gpu1-a', 'vllm-gpu1-b']);
  });

  it('summarises several errors of one broken edit in one line', async () => {
    await writeFile(file, configText(['vllm-gpu1-a']));
    await startService();
    await waitFor('the first registration', () => registeredNames().length === 1);
    await writeFile(file, 'server: nowhere\nagentId: Gpu1\n');
    const line = await waitFor('the broken edit to be logged', () => logs.find((l) => l.startsWith('config not reloaded')));
    expect(line).toBe(`config not reloaded, keeping the running config: ${file}:1:9: server: expected an http(s) URL, found "nowhere" (and 1 more)`);
  });
});

describe('config reload of the reconcilers', () => {
  it('takes a reconciler added to servers as a place to move to, and keeps the lease as the list changes', async () => {
    // Two reconcilers of one fleet: one lease table behind two HTTP servers.
    const table = createFakeLeaseTable();
    const first = await startFakeReconciler({ table });
    const second = await startFakeReconciler({ table });
    try {
      const text = (servers: string): string => configText(['vllm-gpu1-a']).replace(`server: ${fake.url}`, servers);
      await writeFile(file, text(`servers: [${first.url}]`));
      await startService();
      await waitFor('a heartbeat at the first reconciler', () => first.callsOf('heartbeat').length >= 1);

      await writeFile(file, text(`servers:\n  - ${first.url}\n  - ${second.url}`));
      await waitFor('the new list to apply', () => logs.includes(`config reloaded: reconcilers ${first.url} → ${first.url}, ${second.url}`));
      await first.close();
      await waitFor('two heartbeats at the second reconciler', () => second.callsOf('heartbeat').length >= 2);
      expect(second.callsOf('heartbeat').every((c) => c.body?.leaseId === 'lease-1')).toBe(true);

      // From servers to server, on one of the same fleet: still no new registration.
      await writeFile(file, text(`server: ${second.url}`));
      await waitFor('the single server to apply', () => logs.includes(`config reloaded: reconcilers ${first.url}, ${second.url} → ${second.url}`));
      const beats = second.callsOf('heartbeat').length;
      await waitFor('two more heartbeats at the second reconciler', () => second.callsOf('heartbeat').length >= beats + 2);
      expect(first.callsOf('register').length + second.callsOf('register').length).toBe(1);
      expect(second.callsOf('heartbeat').every((c) => c.body?.leaseId === 'lease-1')).toBe(true);
      expect(fake.calls).toEqual([]);
    } finally {
      await service?.stop();
      service = undefined;
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('keeps the running config after an edit with an empty servers list', async () => {
    await writeFile(file, configText(['vllm-gpu1-a']));
    await startService();
    await waitFor('the first registration', () => registeredNames().length === 1);
    await writeFile(file, configText(['vllm-gpu1-a']).replace(`server: ${fake.url}`, 'servers: []'));
    const line = await waitFor('the broken edit to be logged', () => logs.find((l) => l.startsWith('config not reloaded')));
    expect(line).toBe(`config not reloaded, keeping the running config: ${file}:1:10: servers: expected at least one reconciler URL, found an empty list`);
    const beats = fake.callsOf('heartbeat').length;
    await waitFor('two more heartbeats', () => fake.callsOf('heartbeat').length >= beats + 2);
  });
});

describe('runAgentCommand', () => {
  it('fails with the file:line:col line when the config is bad', async () => {
    await writeFile(file, 'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    url: http://g:1/v1\n');
    const failure = runAgentCommand({ config: file });
    await expect(failure).rejects.toBeInstanceOf(AgentStartError);
    await expect(failure).rejects.toThrow(`${file}:3:5: providers[0].model: required field is missing (expected a string)`);
  });
});
