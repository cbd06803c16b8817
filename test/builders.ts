// Small builders for pure-core tests: resources, declared sets parsed from real YAML (so file
// and line numbers are the codec's own), and fleets of agents whose live views come from
// schema/effective.ts buildViews.
//
//   fleet().declare('llms/pool.yaml', llm('a', { poolName: 'p' }), pool('p', 1))
//     .agent('gpu1').llm('a', { poolName: 'p' })
//     .agent('gpu7').llm('stray', { heartbeatAgoMs: 92_000 })
import type { Gpu, Health } from '../schema/agent-protocol.js';
import { parseResourceFile, toCanonicalYaml, type LocatedLlm, type LocatedPool } from '../schema/codec.js';
import { formatDiagnostic } from '../schema/diagnostics.js';
import { buildViews, type LiveLlm, type StaticProbe } from '../schema/effective.js';
import type { DeclaredSet } from '../schema/plan.js';
import { API_VERSION, type Llm, type LlmMetadata, type LlmPool, type LlmSpec, type LlmType, type Resource } from '../schema/resources.js';
import type { LlmView } from '../schema/views.js';

/** A fixed "now" for every live view: 2025-01-01T00:00:00Z. */
export const NOW_MS = Date.UTC(2025, 0, 1);
export const TTL_MS = 30_000;

export interface LlmOptions extends Partial<LlmSpec> {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** An Llm resource; type vllm and model Qwen/Qwen3-8B unless given. */
export function llm(name: string, options: LlmOptions = {}): Llm {
  const { labels, annotations, ...specOptions } = options;
  const metadata: LlmMetadata = { name };
  if (labels !== undefined) metadata.labels = labels;
  if (annotations !== undefined) metadata.annotations = annotations;
  const spec: LlmSpec = { type: 'vllm', model: 'Qwen/Qwen3-8B', ...specOptions };
  return { apiVersion: API_VERSION, kind: 'Llm', metadata, spec };
}

/** An LlmPool resource. */
export function pool(name: string, minActive?: number, description?: string): LlmPool {
  const spec: LlmPool['spec'] = {};
  if (minActive !== undefined) spec.minActive = minActive;
  if (description !== undefined) spec.description = description;
  return { apiVersion: API_VERSION, kind: 'LlmPool', metadata: { name }, spec };
}

/** Resources of one file, or its raw text (to pin comments, explicit defaults, line numbers). */
export type FileContent = Resource[] | string;

/**
 * A declared set from files, parsed by the real codec: canonical YAML for resource lists,
 * the text itself for strings. Throws on any diagnostic, so a test cannot rest on a bad fixture.
 */
export function declare(files: Record<string, FileContent>): DeclaredSet {
  const llms: LocatedLlm[] = [];
  const pools: LocatedPool[] = [];
  for (const [path, content] of Object.entries(files)) {
    const text = typeof content === 'string' ? content : toCanonicalYaml(content);
    const parsed = parseResourceFile(path, text);
    if (parsed.diagnostics.length > 0) throw new Error(`bad fixture ${path}:\n${parsed.diagnostics.map(formatDiagnostic).join('\n')}`);
    llms.push(...parsed.llms);
    pools.push(...parsed.pools);
  }
  return { llms, pools };
}

/**
 * Located resources without going through YAML, for sets too large to parse quickly (10,000
 * Llms): each document is placed on its own line and has no field lines, so field changes point
 * at their document.
 */
export function locateWithoutYaml(file: string, resources: Resource[]): DeclaredSet {
  const out: DeclaredSet = { llms: [], pools: [] };
  resources.forEach((resource, docIndex) => {
    const at = { file, line: docIndex + 1, col: 1, docIndex, fieldLines: {} };
    if (resource.kind === 'Llm') out.llms.push({ resource, ...at });
    else out.pools.push({ resource, ...at });
  });
  return out;
}

export interface LiveOptions {
  poolName?: string;
  type?: LlmType;
  model?: string;
  /** Default `http://<host>:8000/v1`. */
  url?: string;
  health?: Health;
  healthMessage?: string;
  /** Default 5 s ago: fresh under the 30 s TTL. */
  heartbeatAgoMs?: number;
  restored?: boolean;
}

export interface AgentOptions {
  host?: string;
  gpus?: Gpu[];
}

export class Fleet {
  private readonly files = new Map<string, Resource[] | string>();
  private readonly lives: LiveLlm[] = [];
  private readonly probes = new Map<string, StaticProbe>();
  private current: { id: string; host: string; gpus: Gpu[] } | null = null;

  /** Adds resources (or a file's whole text) to the declared state, the reconciler's revision. */
  declare(file: string, ...content: Resource[] | [string]): this {
    const first = content[0];
    if (typeof first === 'string') {
      this.files.set(file, first);
      return this;
    }
    const existing = this.files.get(file);
    if (typeof existing === 'string') throw new Error(`${file} was declared as text`);
    this.files.set(file, [...(existing ?? []), ...(content as Resource[])]);
    return this;
  }

  /** Selects the agent that the next `llm` calls publish from. */
  agent(id: string, options: AgentOptions = {}): this {
    this.current = { id, host: options.host ?? `${id}.lan`, gpus: options.gpus ?? [] };
    return this;
  }

  /** Publishes an Llm from the current agent. */
  llm(name: string, options: LiveOptions = {}): this {
    const agent = this.current;
    if (agent === null) throw new Error('call agent(id) before llm(name)');
    const entry: LiveLlm = {
      name,
      type: options.type ?? 'vllm',
      model: options.model ?? 'Qwen/Qwen3-8B',
      url: options.url ?? `http://${agent.host}:8000/v1`,
      health: options.health ?? 'ok',
      agentId: agent.id,
      host: agent.host,
      lastHeartbeatAt: NOW_MS - (options.heartbeatAgoMs ?? 5_000),
      gpus: agent.gpus,
    };
    if (options.poolName !== undefined) entry.poolName = options.poolName;
    if (options.healthMessage !== undefined) entry.healthMessage = options.healthMessage;
    if (options.restored !== undefined) entry.restored = options.restored;
    this.lives.push(entry);
    return this;
  }

  /** Records a probe of a static endpoint. */
  probe(name: string, probe: StaticProbe): this {
    this.probes.set(name, probe);
    return this;
  }

  declared(): DeclaredSet {
    return declare(Object.fromEntries(this.files));
  }

  /** The effective views the reconciler would serve now. */
  views(revision = 'rev1'): LlmView[] {
    return buildViews({ declared: this.declared().llms, revision, live: this.lives, nowMs: NOW_MS, ttlMs: TTL_MS, probes: this.probes });
  }
}

export function fleet(): Fleet {
  return new Fleet();
}
