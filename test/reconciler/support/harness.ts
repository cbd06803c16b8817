// A reconciler app over a StaticDesiredState, a fake clock and an in-memory lease store, plus
// builders for agent bodies. Routes are exercised with app.inject(); listen() for real HTTP.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Gpu, Health, Registration, RegisteredLlm } from '../../../schema/agent-protocol.js';
import { buildApp } from '../../../reconciler/app.js';
import type { AuthConfig } from '../../../service/auth.js';
import type { LeaseStore } from '../../../reconciler/lease-store.js';
import type { UnmanagedMode } from '../../../reconciler/leases.js';
import { createServices, type ReconcilerServices } from '../../../reconciler/services.js';
import { StaticDesiredState, type Files } from './static-desired-state.js';

/**
 * 2025-01-01T00:00:00Z, moved only by advance() or a set of nowMs. A move is also a tick of the timers that
 * apply the clock (the lease sweep), as a fake timer would fire them.
 */
export class FakeClock {
  private ms = Date.UTC(2025, 0, 1);
  private readonly ticks = new Set<() => void>();
  readonly now = (): number => this.ms;
  get nowMs(): number {
    return this.ms;
  }
  set nowMs(ms: number) {
    this.ms = ms;
    for (const tick of this.ticks) tick();
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
  onAdvance(tick: () => void): () => void {
    this.ticks.add(tick);
    return () => this.ticks.delete(tick);
  }
}

export const TTL_MS = 30_000;
export const HEARTBEAT_MS = 10_000;
export const GC_MS = 600_000;

/** The DESIGN §2 example: a legacy solo `qwen3`, a declared pool with a policy, a static Llm. */
export const FLEET_FILES: Files = {
  'llms/legacy.yaml': `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
`,
  'llms/pool.yaml': `apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: user-vllm-qwen3-thinking
spec:
  minActive: 2
  description: Qwen3 thinking workers
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu1-qwen3
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu2-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
  enabled: false
`,
  'llms/hosted.yaml': `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: openai-gpt4o
spec:
  type: openai
  model: gpt-4o
  url: https://api.openai.com/v1
  source: static
  apiKeyRef: { env: OPENAI_API_KEY }
`,
};

export interface HarnessOptions {
  files?: Files | null;
  auth?: AuthConfig | null;
  unmanaged?: UnmanagedMode;
  store?: LeaseStore;
  sweepIntervalMs?: number;
  watchKeepAliveMs?: number;
}

export interface Harness {
  app: FastifyInstance;
  services: ReconcilerServices;
  desired: StaticDesiredState;
  clock: FakeClock;
  /** Listens on 127.0.0.1:0 and returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

const open: Harness[] = [];

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new FakeClock();
  const desired = new StaticDesiredState(options.files === undefined ? FLEET_FILES : options.files);
  const services = createServices({
    desired,
    ...(options.store === undefined ? {} : { store: options.store }),
    now: clock.now,
    ttlMs: TTL_MS,
    heartbeatIntervalMs: HEARTBEAT_MS,
    gcMs: GC_MS,
    unmanaged: options.unmanaged ?? 'admit',
    sweepIntervalMs: options.sweepIntervalMs ?? 20,
  });
  await services.start();
  const untick = clock.onAdvance(() => services.leases.sweep());
  const app = await buildApp({
    services,
    auth: options.auth ?? null,
    logger: false,
    ...(options.watchKeepAliveMs === undefined ? {} : { watchKeepAliveMs: options.watchKeepAliveMs }),
  });
  const harness: Harness = {
    app,
    services,
    desired,
    clock,
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address() as AddressInfo;
      return `http://127.0.0.1:${address.port}`;
    },
    async close() {
      untick();
      await app.close();
      await services.stop();
    },
  };
  open.push(harness);
  return harness;
}

export async function closeHarnesses(): Promise<void> {
  await Promise.all(open.splice(0).map((h) => h.close()));
}

export interface EntryOptions {
  poolName?: string;
  type?: RegisteredLlm['type'];
  model?: string;
  url?: string;
  health?: Health;
  healthMessage?: string;
}

/** A registration entry: vllm, Qwen/Qwen3-8B, healthy unless given. */
export function entry(name: string, options: EntryOptions = {}): RegisteredLlm {
  const out: RegisteredLlm = {
    name,
    type: options.type ?? 'vllm',
    model: options.model ?? 'Qwen/Qwen3-8B',
    url: options.url ?? `http://${name}.lan:8000/v1`,
    health: options.health ?? 'ok',
  };
  if (options.poolName !== undefined) out.poolName = options.poolName;
  if (options.healthMessage !== undefined) out.healthMessage = options.healthMessage;
  return out;
}

export const GPU: Gpu = { index: 0, name: 'NVIDIA H100', memoryTotalMiB: 81559, memoryUsedMiB: 1024, utilizationPct: 3 };

export function registration(agentId: string, llms: RegisteredLlm[], gpus: Gpu[] = [GPU]): Registration {
  return { agentId, host: `${agentId}.lan`, version: '0.1.0', llms, gpus };
}

/** POSTs JSON through inject and returns status and parsed body. */
export async function postJson(app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: response.statusCode, body: response.json() };
}

export async function getJson(app: FastifyInstance, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await app.inject({ method: 'GET', url, headers });
  return { status: response.statusCode, body: response.json() };
}
