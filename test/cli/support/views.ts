// Builders of realistic LlmView data for renderer tests: declared YAML goes through the real codec,
// live registrations through the real effective-state and pool rules (no hand-typed views).
import { loadResources, type SourceFile } from '../../../schema/codec.js';
import { buildViews, type LiveLlm, type StaticProbe } from '../../../schema/effective.js';
import { membersOf, policiesByKey, summarizePools } from '../../../schema/pools.js';
import type { LlmView, MembersAnswer, PoolSummary } from '../../../schema/views.js';
import type { Gpu } from '../../../schema/agent-protocol.js';

/** A fixed "now" for every renderer test: 2025-06-01T12:00:00Z. */
export const NOW_MS = Date.parse('2025-06-01T12:00:00.000Z');
export const TTL_MS = 30_000;
export const REVISION = '3f2c1e9a7b5d4c3b2a1908f7e6d5c4b3a2918f7e';

export interface FleetInput {
  /** Declared files by path (`llms/pool.yaml`). */
  files?: Record<string, string>;
  live?: LiveLlm[];
  probes?: Record<string, StaticProbe>;
  nowMs?: number;
}

export interface Fleet {
  views: LlmView[];
  pools: PoolSummary[];
  view(name: string): LlmView;
  members(name: string): MembersAnswer;
}

export function buildFleet(input: FleetInput): Fleet {
  const files: SourceFile[] = Object.entries(input.files ?? {}).map(([path, text]) => ({ path, text }));
  const loaded = loadResources(files);
  if (!loaded.ok) throw new Error(`test fleet does not load: ${JSON.stringify(loaded.diagnostics)}`);
  const views = buildViews({
    declared: loaded.llms,
    revision: REVISION,
    live: input.live ?? [],
    nowMs: input.nowMs ?? NOW_MS,
    ttlMs: TTL_MS,
    probes: new Map(Object.entries(input.probes ?? {})),
  });
  const policies = policiesByKey(loaded.pools.map((p) => p.resource));
  return {
    views,
    pools: summarizePools(views, policies),
    view(name) {
      const found = views.find((v) => v.metadata.name === name);
      if (found === undefined) throw new Error(`no view ${name}`);
      return found;
    },
    members(name) {
      const answer = membersOf(views, name, policies);
      if (answer === null) throw new Error(`no members for ${name}`);
      return answer;
    },
  };
}

/** A live registration from agent `agentId`, `ageSeconds` after its last heartbeat. */
export function liveLlm(
  fields: Pick<LiveLlm, 'name' | 'agentId'> & Partial<Omit<LiveLlm, 'lastHeartbeatAt'>> & { ageSeconds?: number },
): LiveLlm {
  const { ageSeconds = 4, ...rest } = fields;
  return {
    type: 'vllm',
    model: 'Qwen/Qwen3-8B',
    url: `http://${fields.agentId}.lan:8000/v1`,
    health: 'ok',
    host: `${fields.agentId}.lan`,
    gpus: [],
    ...rest,
    lastHeartbeatAt: NOW_MS - ageSeconds * 1000,
  };
}

export function h100(index: number, memoryUsedMiB: number, utilizationPct: number): Gpu {
  return { index, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB, utilizationPct };
}

const QWEN_POOL_YAML = `# The lab's Qwen3 thinking pool: one Llm per GPU host, one shared poolName.
apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: user-vllm-qwen3-thinking
spec:
  minActive: 1
  description: Qwen3 thinking workers on the lab GPUs
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
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu3-qwen3
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
  enabled: false
`;

const LLAMA_LEGACY_YAML = `# A solo Llm from before pools; workers join it with poolName: llama3-70b.
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: llama3-70b
  annotations:
    owner: inference-team@example.com
spec:
  type: llamacpp
  model: meta-llama/Llama-3.3-70B-Instruct
`;

const HOSTED_YAML = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: openai-gpt4o
  labels: { team: platform, tier: hosted }
spec:
  type: openai
  model: gpt-4o
  url: https://api.openai.com/v1
  source: static
  apiKeyRef: { env: OPENAI_API_KEY }
`;

const OLLAMA_YAML = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: ollama-workstation
spec:
  type: ollama
  model: qwen3:8b
`;

/** The declared files of the realistic fleet, by path. */
export const REALISTIC_FILES: Readonly<Record<string, string>> = {
  'llms/qwen3-thinking-pool.yaml': QWEN_POOL_YAML,
  'llms/llama-legacy.yaml': LLAMA_LEGACY_YAML,
  'llms/hosted.yaml': HOSTED_YAML,
  'llms/ollama-dev.yaml': OLLAMA_YAML,
};

const LLAMA = { type: 'llamacpp', model: 'meta-llama/Llama-3.3-70B-Instruct' } as const;

/** What the agents of the realistic fleet have registered. */
export function buildRealisticLive(): LiveLlm[] {
  return [
    liveLlm({ name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking', agentId: 'gpu1', ageSeconds: 4, gpus: [h100(0, 61234, 87), h100(1, 60102, 79)], load: { running: 3, waiting: 1, kvCacheUsage: 0.42 } }),
    liveLlm({ name: 'vllm-gpu2-qwen3', poolName: 'user-vllm-qwen3-thinking', agentId: 'gpu2', ageSeconds: 312, gpus: [h100(0, 59870, 0)] }),
    liveLlm({ name: 'vllm-gpu3-qwen3', poolName: 'user-vllm-qwen3-thinking', agentId: 'gpu3', ageSeconds: 6 }),
    liveLlm({ name: 'llama3-70b', ...LLAMA, url: 'http://gpu0.lan:8080/v1', agentId: 'gpu0', ageSeconds: 8 }),
    liveLlm({ name: 'llamacpp-gpu4-llama3', poolName: 'llama3-70b', ...LLAMA, url: 'http://gpu4.lan:8080/v1', agentId: 'gpu4', ageSeconds: 3, load: { running: 2, waiting: 5, kvCacheUsage: null } }),
    liveLlm({
      name: 'llamacpp-gpu5-llama3',
      poolName: 'llama3-70b',
      ...LLAMA,
      url: 'http://gpu5.lan:8080/v1',
      agentId: 'gpu5',
      ageSeconds: 11,
      health: 'failing',
      healthMessage: 'ECONNREFUSED',
    }),
    liveLlm({ name: 'ollama-laptop', type: 'ollama', model: 'llama3.2:3b', url: 'http://laptop.lan:11434/v1', agentId: 'laptop', ageSeconds: 2 }),
  ];
}

/**
 * The fleet most goldens show: an explicit pool of 3 (one active, one stale, one draining), a
 * legacy solo Llm joined by two virtual workers (one of them unhealthy), a static hosted Llm, a
 * pending declared Llm and an undeclared solo Llm. `editLive` changes the registrations (a later
 * moment of the same fleet, for watch tests).
 */
export function buildRealisticFleet(editLive: (live: LiveLlm[]) => LiveLlm[] = (live) => live): Fleet {
  return buildFleet({
    files: { ...REALISTIC_FILES },
    live: editLive(buildRealisticLive()),
    probes: { 'openai-gpt4o': { ok: true } },
  });
}
