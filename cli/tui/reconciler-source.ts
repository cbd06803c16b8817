// The real data source: the reconciler over HTTP (ReconcilerClient) and the repository's working
// tree (workspace.ts), exactly what `get`, `plan` and `apply` use.
import { computePlan } from '../../schema/plan.js';
import type { LlmView, StatusAnswer } from '../../schema/views.js';
import type { ReconcilerClient, WatchEvent } from '../client.js';
import { readServedState } from '../commands/plan.js';
import type { CommandContext } from '../context.js';
import { openRepo } from '../repo.js';
import { loadWorkspace } from '../workspace.js';
import { CONVERGE_POLL_MS, CONVERGE_TIMEOUT_MS, runApplyPipeline } from './apply-pipeline.js';
import type { PlanResult, TuiDataSource, TuiWatchEvent } from './data-source.js';
import { buildResourceDiffs, fingerprintDeclared } from './resource-diffs.js';

export function createReconcilerSource(ctx: CommandContext): TuiDataSource {
  const client = ctx.client();
  const plan = (): Promise<PlanResult> => planWorkingTree(ctx, client);
  return {
    server: client.server,
    list: async () => {
      const [llms, pools, status] = await Promise.all([client.listLlms(), client.listPools(), client.status()]);
      return { llms: llms.items, pools: pools.items, status };
    },
    listPools: async () => (await client.listPools()).items,
    watch: (onEvent, signal) =>
      client.watch((event) => {
        const parsed = parseWatchEvent(event);
        if (parsed !== null) onEvent(parsed);
      }, signal),
    plan,
    apply: async (planned, onStep) =>
      runApplyPipeline(
        planned,
        {
          repo: await openRepo(ctx.global.repo, ctx.global.path),
          replan: plan,
          sync: () => client.sync(),
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          now: () => ctx.now(),
          convergeTimeoutMs: CONVERGE_TIMEOUT_MS,
          pollMs: CONVERGE_POLL_MS,
        },
        onStep,
      ),
  };
}

/** The working tree's resources against what the reconciler declares and sees live, as `mcpctl plan`. */
export async function planWorkingTree(ctx: CommandContext, client: ReconcilerClient): Promise<PlanResult> {
  const ws = await loadWorkspace(ctx);
  const { base, live } = await readServedState(client);
  const plan = computePlan({ desired: ws.declared, base, live });
  return { plan, diffs: buildResourceDiffs(plan, base, ws.declared), fingerprint: fingerprintDeclared(ws.declared) };
}

/** Checks the shape of a server-sent event at the edge; anything else is dropped. */
export function parseWatchEvent(event: WatchEvent): TuiWatchEvent | null {
  if (event.event === 'STATUS') return isStatus(event.data) ? { type: 'STATUS', status: event.data } : null;
  return isLlmView(event.data) ? { type: event.event, view: event.data } : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLlmView(value: unknown): value is LlmView {
  if (!isRecord(value) || !isRecord(value.metadata) || !isRecord(value.spec) || !isRecord(value.status)) return false;
  const { status } = value;
  return typeof value.metadata.name === 'string' && typeof status.phase === 'string' && typeof status.kind === 'string' && isRecord(status.pool) && typeof status.pool.key === 'string';
}

function isStatus(value: unknown): value is StatusAnswer {
  return isRecord(value) && Array.isArray(value.errors) && 'lastGoodRevision' in value;
}
