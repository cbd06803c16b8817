// The real data source: the reconciler over HTTP (client/reconciler-client.ts) and the
// repository's working tree (workspace.ts), exactly what `get`, `plan` and `apply` use.
import type { ReconcilerApi } from '../../client/reconciler-client.js';
import { computePlan } from '../../schema/plan.js';
import { readServedState } from '../commands/plan.js';
import type { CommandContext } from '../context.js';
import { checkFollowedRepository } from '../followed-repository.js';
import { openRepo, readRootCommits } from '../repo.js';
import { loadWorkspace, type Workspace } from '../workspace.js';
import { CONVERGE_POLL_MS, CONVERGE_TIMEOUT_MS, runApplyPipeline } from './apply-pipeline.js';
import type { PlanResult, TuiDataSource } from './data-source.js';
import { buildResourceDiffs, fingerprintDeclared } from './resource-diffs.js';

/** `force`: plan and apply even when the repository is not the one the reconciler follows (`tui --force`). */
export function createReconcilerSource(ctx: CommandContext, options: { force: boolean } = { force: false }): TuiDataSource {
  const client = ctx.client();
  // The repository's root commits, read once they exist: every plan (and apply's checks) compares them.
  let knownRoots: string[] | null = null;
  const plan = async (): Promise<PlanResult> => {
    const ws = await loadWorkspace(ctx);
    const localRoots = knownRoots ?? (await readRootCommits(ws.repo));
    if (localRoots.length > 0) knownRoots = localRoots;
    await checkFollowedRepository(client, ws.repo, { force: options.force, verb: 'tui', localRoots });
    return planWorkspace(ws, client);
  };
  const gateways = ctx.gateways();
  return {
    server: client.server,
    ...(gateways.length === 0 ? {} : { inFlight: async () => (await import('../in-flight.js')).readInFlight(gateways) }),
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
async function planWorkspace(ws: Workspace, client: ReconcilerApi): Promise<PlanResult> {
  const { base, live } = await readServedState(client);
  const plan = computePlan({ desired: ws.declared, base, live });
  return { plan, diffs: buildResourceDiffs(plan, base, ws.declared), fingerprint: fingerprintDeclared(ws.declared) };
}
