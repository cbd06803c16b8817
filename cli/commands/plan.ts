// `mcpctl plan`: the working tree's llms/ against the reconciler (or a Git ref, offline).
import { loadResources } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import { computePlan, planExitCode, type DeclaredSet } from '../../schema/plan.js';
import { shortRevision } from '../../schema/revision.js';
import type { LlmView } from '../../schema/views.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { checkFollowedRepository } from '../followed-repository.js';
import { formatPlan } from '../format/plan-format.js';
import { readFilesAtRef } from '../repo.js';
import { loadWorkspace, tryLiveViews } from '../workspace.js';

export interface PlanOptions {
  against?: string | undefined;
  output: 'text' | 'json' | 'markdown';
  detailedExitcode: boolean;
  /** Plan even when the repository is not the one the reconciler follows. */
  force: boolean;
}

export async function run(options: PlanOptions, ctx: CommandContext): Promise<void> {
  const ws = await loadWorkspace(ctx);
  await checkFollowedRepository(ctx.client(), ws.repo, { force: options.force, verb: 'plan' });
  let base: DeclaredSet & { revision: string | null; label: string };
  let live: LlmView[] | null;
  if (options.against !== undefined) {
    const atRef = await readFilesAtRef(ws.repo, options.against);
    const loaded = loadResources(atRef.files);
    // Live state makes the findings and the policy check possible; an offline plan (the reconciler
    // unreachable) skips them. An error answer (a bad token's 401) is no "offline": it fails the plan.
    live = await tryLiveViews(ctx);
    if (loaded.ok) {
      base = { llms: loaded.llms, pools: loaded.pools, revision: atRef.revision, label: `${options.against} (${shortRevision(atRef.revision)})` };
    } else {
      // A broken base branch is what a fixing pull request is for: with a reconciler at hand, plan
      // against what it still serves (its last good revision), and say so.
      const problems = loaded.diagnostics.map(formatDiagnostic);
      if (live === null) throw new CliError(`${options.against} does not load:\n${problems.join('\n')}`);
      ({ base, live } = await readServedState(ctx.client()));
      ctx.err(`mcpctl: warning: ${options.against} does not load (${problems.length} error${problems.length === 1 ? '' : 's'}, first: ${problems[0] ?? '?'}); planning against ${base.label} instead\n`);
    }
  } else {
    ({ base, live } = await readServedState(ctx.client()));
  }
  const plan = computePlan({ desired: ws.declared, base, live });
  ctx.out(formatPlan(plan, options.output, { color: ctx.color && options.output === 'text' }));
  const code = planExitCode(plan, options.detailedExitcode);
  if (code !== 0) throw new ExitCode(code);
}

/** The reconciler's side of a plan, read together: its declared revision (/declared) and its live views (/llms). */
export async function readServedState(client: ReturnType<CommandContext['client']>): Promise<{ base: DeclaredSet & { revision: string | null; label: string }; live: LlmView[] }> {
  const [llms, { revision, llms: declared, pools }] = await Promise.all([client.listLlms(), client.declared()]);
  return { base: { llms: declared, pools, revision, label: `reconciler revision ${shortRevision(revision)}` }, live: llms.items };
}

