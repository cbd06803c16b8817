// Data for the TUI's tests: snapshots of a realistic fleet (declared YAML through the real codec,
// live registrations through the real effective-state rules) and plans from the real plan engine.
import type { Snapshot } from '../../../client/informer.js';
import { loadResources, type SourceFile } from '../../../schema/codec.js';
import type { LiveLlm } from '../../../schema/effective.js';
import { computePlan, type DeclaredSet } from '../../../schema/plan.js';
import { MEMBER_KINDS, PHASES, type LlmView, type SourceError, type StatusAnswer } from '../../../schema/views.js';
import type { PlanResult } from '../../../cli/tui/data-source.js';
import { buildResourceDiffs, fingerprintDeclared } from '../../../cli/tui/resource-diffs.js';
import { buildFleet, buildRealisticLive, liveLlm, h100, NOW_MS, REALISTIC_FILES, REVISION, type Fleet } from '../../cli/support/views.js';

export { NOW_MS, REVISION, REALISTIC_FILES, buildRealisticLive, liveLlm, h100 };

export interface TuiFleetInput {
  files?: Record<string, string>;
  live?: LiveLlm[];
}

export function buildTuiFleet(input: TuiFleetInput = {}): Fleet {
  return buildFleet({ files: input.files ?? { ...REALISTIC_FILES }, live: input.live ?? buildRealisticLive(), probes: { 'openai-gpt4o': { ok: true } } });
}

export function buildStatus(views: readonly LlmView[], errors: SourceError[] = [], revision = REVISION): StatusAnswer {
  const byPhase = Object.fromEntries(PHASES.map((p) => [p, views.filter((v) => v.status.phase === p).length])) as StatusAnswer['counts']['byPhase'];
  const byKind = Object.fromEntries(MEMBER_KINDS.map((k) => [k, views.filter((v) => v.status.kind === k).length])) as StatusAnswer['counts']['byKind'];
  return {
    revision: errors.length > 0 ? 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678' : revision,
    lastGoodRevision: revision,
    source: '/srv/fleet (main, llms)',
    lastSyncAt: new Date(NOW_MS - 5_000).toISOString(),
    errors,
    counts: { llms: views.length, pools: 0, agents: 0, byPhase, byKind },
    history: [],
  };
}

export function snapshotOf(fleet: Fleet, errors: SourceError[] = []): Snapshot {
  return { llms: fleet.views, pools: fleet.pools, status: buildStatus(fleet.views, errors) };
}

/** The realistic fleet with the Qwen pool's floor raised to 2: one active member makes it Degraded. */
export function degradedFiles(): Record<string, string> {
  const files = { ...REALISTIC_FILES };
  const pool = files['llms/qwen3-thinking-pool.yaml'] ?? '';
  files['llms/qwen3-thinking-pool.yaml'] = pool.replace('minActive: 1', 'minActive: 2');
  return files;
}

export function declaredOf(files: Record<string, string>): DeclaredSet {
  const list: SourceFile[] = Object.entries(files).map(([path, text]) => ({ path, text }));
  const loaded = loadResources(list);
  if (!loaded.ok) throw new Error(`fixture does not load: ${JSON.stringify(loaded.diagnostics)}`);
  return { llms: loaded.llms, pools: loaded.pools };
}

/** The plan of `desiredFiles` against the fleet's declared files and its live views. */
export function planOf(baseFiles: Record<string, string>, desiredFiles: Record<string, string>, live: LlmView[]): PlanResult {
  const base = declaredOf(baseFiles);
  const desired = declaredOf(desiredFiles);
  const plan = computePlan({ desired, base: { ...base, revision: REVISION, label: `reconciler revision ${REVISION.slice(0, 7)}` }, live });
  return { plan, diffs: buildResourceDiffs(plan, base, desired), fingerprint: fingerprintDeclared(desired) };
}

/** A working tree that drains gpu3 back in, adds a gpu4 worker and removes the Ollama workstation. */
export function editedFiles(): Record<string, string> {
  const files = { ...REALISTIC_FILES };
  files['llms/qwen3-thinking-pool.yaml'] = (files['llms/qwen3-thinking-pool.yaml'] ?? '').replace('  enabled: false\n', '');
  files['llms/gpu4.yaml'] = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu4-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
`;
  delete files['llms/ollama-dev.yaml'];
  return files;
}
