// The real data source: the reconciler over HTTP (client/reconciler-client.ts) and the
// repository's working tree (workspace.ts), exactly what `get`, `plan` and `apply` use.
import type { ReconcilerApi } from '../../client/reconciler-client.js';
import { computePlan } from '../../schema/plan.js';
import { readServedState } from '../commands/plan.js';
import type { CommandContext } from '../context.js';
import { openRepo } from '../repo.js';
import { loadWorkspace } from '../workspace.js';
import { CONVERGE_POLL_MS, CONVERGE_TIMEOUT_MS, runApplyPipeline } from './apply-pipeline.js';
import type { PlanResult, TuiDataSource } from './data-source.js';
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
    watch: (onEvent, signal) => client.watch(onEvent, signal),
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
export async function planWorkingTree(ctx: CommandContext, client: ReconcilerApi): Promise<PlanResult> {
  const ws = await loadWorkspace(ctx);
  const { base, live } = await readServedState(client);
  const plan = computePlan({ desired: ws.declared, base, live });
  return { plan, diffs: buildResourceDiffs(plan, base, ws.declared), fingerprint: fingerprintDeclared(ws.declared) };
}
