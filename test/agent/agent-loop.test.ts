import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import type { AgentSettings } from '../../agent/config.js';
import { createHealthProber } from '../../agent/health-probe.js';
import { createReconcilerClient } from '../../agent/reconciler-client.js';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import type { Gpu } from '../../schema/agent-protocol.js';
import { startFakeReconciler, type FakeReconciler } from './fake-reconciler.js';
import { waitFor } from '../support/wait-for.js';

const gpu: Gpu = { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 1, utilizationPct: 0 };

let fake: FakeReconciler;
let standin: StandinServer;
let gpus: Gpu[];
let logs: string[];
let agent: RunningAgent | undefined;

beforeEach(async () => {
  fake = await startFakeReconciler();
  standin = await startStandinServer({ model: 'Qwen/Qwen3-8B' });
  gpus = [gpu];
  logs = [];
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await fake.close();
  await standin.close();
});

function settings(overrides: Partial<AgentSettings> = {}): AgentSettings {
  return {
    server: fake.url,
    token: 'tok-gpu1',
    agentId: 'gpu1',
    providers: [
      { name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking', type: 'vllm', model: 'Qwen/Qwen3-8B', url: standin.url },
      { name: 'qwen3', type: 'vllm', model: 'Qwen/Qwen3-8B', url: standin.url },
    ],
    ...overrides,
  };
}

function start(initial: AgentSettings = settings()): RunningAgent {
  agent = startAgent(initial, {
    createClient: (s) => createReconcilerClient({ server: s.server, token: s.token, timeoutMs: 1000 }),
    prober: createHealthProber(),
    gpus: { read: async () => gpus },
    log: (message) => logs.push(message),
    host: 'gpu1.lan',
    version: '0.1.0',
    random: () => 0.5,
    backoff: { initialMs: 20, maxMs: 80 },
  });
  return agent;
}

const beats = (): Record<string, unknown>[] => fake.callsOf('heartbeat').map((c) => c.body ?? {});
const registrations = (): Record<string, unknown>[] => fake.callsOf('register').map((c) => c.body ?? {});

describe('the agent loop', () => {
  it('registers full entries with its token, and a solo entry sends no poolName field', async () => {
    start();
    const [registration] = await waitFor('a registration', () => (registrations().length > 0 ? registrations() : undefined));
    expect(registration).toEqual({
      agentId: 'gpu1',
      host: 'gpu1.lan',
      version: '0.1.0',
      llms: [
        { name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking', type: 'vllm', model: 'Qwen/Qwen3-8B', url: standin.url, health: 'ok' },
        { name: 'qwen3', type: 'vllm', model: 'Qwen/Qwen3-8B', url: standin.url, health: 'ok' },
      ],
      gpus: [gpu],
    });
    expect(Object.keys((registration?.llms as object[])[1] ?? {})).not.toContain('poolName');
    expect(fake.callsOf('register')[0]?.authorization).toBe('Bearer tok-gpu1');
  });

  it('heartbeats with only what changed: nothing, then a health change once, then GPUs once', async () => {
    start();
    await waitFor('three heartbeats', () => beats().length >= 3);
    expect(beats().slice(0, 3)).toEqual([
      { leaseId: 'lease-1', llms: [] },
      { leaseId: 'lease-1', llms: [] },
      { leaseId: 'lease-1', llms: [] },
    ]);
    expect(fake.callsOf('heartbeat')[0]?.authorization).toBe('Bearer tok-gpu1');

    standin.setFailing(true);
    const failingBeat = await waitFor('a heartbeat with the failure', () => beats().find((b) => (b.llms as unknown[]).length > 0));
    expect(failingBeat).toEqual({
      leaseId: 'lease-1',
      llms: [
        { name: 'vllm-gpu1-qwen3', health: 'failing', healthMessage: 'HTTP 503: the model server is unavailable' },
        { name: 'qwen3', health: 'failing', healthMessage: 'HTTP 503: the model server is unavailable' },
      ],
    });
    const afterFailure = beats().indexOf(failingBeat);
    await waitFor('two more heartbeats', () => beats().length >= afterFailure + 3);
    expect(beats().slice(afterFailure + 1, afterFailure + 3)).toEqual([
      { leaseId: 'lease-1', llms: [] },
      { leaseId: 'lease-1', llms: [] },
    ]);

    standin.setFailing(false);
    const recovered = await waitFor('a heartbeat with the recovery', () => beats().slice(afterFailure + 1).find((b) => (b.llms as unknown[]).length > 0));
    expect(recovered).toEqual({ leaseId: 'lease-1', llms: [{ name: 'vllm-gpu1-qwen3', health: 'ok' }, { name: 'qwen3', health: 'ok' }] });
    expect(logs).toContain('health: qwen3 ok → failing: HTTP 503: the model server is unavailable');
    // The beat is recorded before its answer reaches the agent, which logs after.
    await waitFor('the recovery log line', () => logs.includes('health: qwen3 failing: HTTP 503: the model server is unavailable → ok'));

    const busy = { ...gpu, memoryUsedMiB: 74213, utilizationPct: 97 };
    gpus = [busy];
    const gpuBeat = await waitFor('a heartbeat with GPUs', () => {
      const index = beats().findIndex((b) => 'gpus' in b);
      return index >= 0 ? index : undefined;
    });
    expect(beats()[gpuBeat]).toEqual({ leaseId: 'lease-1', llms: [], gpus: [busy] });
    await waitFor('the next heartbeat', () => beats().length > gpuBeat + 1);
    expect(beats()[gpuBeat + 1]).toEqual({ leaseId: 'lease-1', llms: [] });
  });

  it('registers again at once when the reconciler answers 404 LeaseNotFound', async () => {
    start();
    await waitFor('a heartbeat', () => beats().length >= 1);
    fake.forgetLeases();
    await waitFor('a second registration', () => registrations().length >= 2);
    const kinds = fake.calls.map((c) => `${c.method} ${c.path.replace(/.*\//, '')}`);
    const secondRegister = kinds.lastIndexOf('POST register');
    expect(kinds[secondRegister - 1]).toBe('POST heartbeat');
    expect(logs).toContain('reconciler no longer knows lease lease-1 (LeaseNotFound); registering again');
    await waitFor('a heartbeat under the new lease', () => beats().some((b) => b.leaseId === 'lease-2'));
    // The fresh registration carries full entries again.
    expect((registrations()[1]?.llms as unknown[]).length).toBe(2);
  });

  it('backs off exponentially up to the cap while the reconciler is down, then carries on with its lease', async () => {
    start();
    await waitFor('a heartbeat', () => beats().length >= 1);
    await fake.goDown();
    const retries = (): string[] => logs.filter((l) => l.includes('; retrying in '));
    await waitFor('five failed attempts', () => retries().length >= 5);
    expect(retries()[0]).toMatch(new RegExp(`^reconciler unreachable at ${fake.url.replace(/[.]/g, '\\.')} \\(ECONNREFUSED\\); retrying in 20ms$`));
    expect(retries().slice(0, 5).map((l) => l.replace(/.*retrying in /, ''))).toEqual(['20ms', '40ms', '80ms', '80ms', '80ms']);
    await fake.comeBack();
    await waitFor('the reconciler to be reachable again', () => logs.includes(`reconciler reachable again at ${fake.url}`));
    await waitFor('a heartbeat after the outage', () => fake.calls.length > 0 && beats().length >= 2);
    // The reconciler kept the lease, so the agent needed no new registration.
    expect(registrations()).toHaveLength(1);
    expect(beats().every((b) => b.leaseId === 'lease-1')).toBe(true);
  });

  it('registers once the reconciler comes up when it was down at start', async () => {
    await fake.goDown();
    start();
    await waitFor('two failed attempts', () => logs.filter((l) => l.includes('retrying in')).length >= 2);
    await fake.comeBack();
    await waitFor('a registration', () => registrations().length >= 1);
    await waitFor('a heartbeat', () => beats().length >= 1);
  });

  it('deregisters with DELETE on stop', async () => {
    const running = start();
    await waitFor('a heartbeat', () => beats().length >= 1);
    await running.stop();
    const last = fake.calls[fake.calls.length - 1];
    expect(last).toMatchObject({ method: 'DELETE', path: '/api/v1/agents/gpu1?leaseId=lease-1', authorization: 'Bearer tok-gpu1' });
    expect(logs[logs.length - 1]).toBe(`deregistered gpu1 from ${fake.url}`);
    const count = fake.calls.length;
    await running.done;
    expect(fake.calls.length).toBe(count);
  });

  it('logs the desired state and rejections once per change, not on every beat', async () => {
    fake.desiredFor = (name) => ({ name, poolName: 'b', enabled: false, declared: true });
    fake.rejected = [{ name: 'qwen3', reason: 'held by the live lease of agent gpu2' }];
    start();
    await waitFor('five heartbeats', () => beats().length >= 5);
    const count = (line: string): number => logs.filter((l) => l === line).length;
    expect(count('reconciler: vllm-gpu1-qwen3 poolName overridden by Git: user-vllm-qwen3-thinking → b')).toBe(1);
    expect(count('reconciler: vllm-gpu1-qwen3 drained by Git (enabled: false)')).toBe(1);
    expect(count('reconciler: rejected qwen3: held by the live lease of agent gpu2')).toBe(1);
    expect(count('reconciler: desired revision rev1')).toBe(1);

    fake.desiredFor = (name, poolName) => ({ name, poolName: poolName ?? null, enabled: true, declared: true });
    await waitFor('the undrain to be logged', () => logs.includes('reconciler: vllm-gpu1-qwen3 declared in Git, matches this agent (poolName: user-vllm-qwen3-thinking, enabled: true)'));
  });

  it('publishes an added provider at once with a fresh registration, and drops a removed one', async () => {
    const running = start();
    await waitFor('a heartbeat', () => beats().length >= 1);
    const added = { name: 'vllm-gpu1-llama', poolName: 'llama-pool', type: 'vllm' as const, model: 'Qwen/Qwen3-8B', url: standin.url };
    running.updateConfig(settings({ providers: [...settings().providers, added] }));
    const second = await waitFor('a second registration', () => registrations()[1]);
    expect((second.llms as { name: string }[]).map((l) => l.name)).toEqual(['vllm-gpu1-qwen3', 'qwen3', 'vllm-gpu1-llama']);
    expect(logs).toContain('config reloaded: + vllm-gpu1-llama');

    running.updateConfig(settings({ providers: [added] }));
    const third = await waitFor('a third registration', () => registrations()[2]);
    expect((third.llms as { name: string }[]).map((l) => l.name)).toEqual(['vllm-gpu1-llama']);
    expect(logs).toContain('config reloaded: - vllm-gpu1-qwen3, - qwen3');
  });

  it('moves to a new reconciler when the server changes, deregistering from the old one', async () => {
    const running = start();
    await waitFor('a heartbeat', () => beats().length >= 1);
    const other = await startFakeReconciler();
    try {
      running.updateConfig(settings({ server: other.url }));
      await waitFor('a registration with the new reconciler', () => other.callsOf('register').length >= 1);
      expect(fake.callsOf('deregister').map((c) => c.path)).toEqual(['/api/v1/agents/gpu1?leaseId=lease-1']);
      expect(logs).toContain(`deregistered gpu1 from ${fake.url} (config changed)`);
      await waitFor('a heartbeat with the new reconciler', () => other.callsOf('heartbeat').length >= 1);
      await running.stop();
      expect(other.callsOf('deregister')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});
