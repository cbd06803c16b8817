// `mcpctl plan`: the working tree's llms/ against the reconciler (or a Git ref, offline).
import { loadResources, type LocatedLlm } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import { computePlan, planExitCode, type DeclaredSet } from '../../schema/plan.js';
import { shortRevision } from '../../schema/revision.js';
import type { LlmPool } from '../../schema/resources.js';
import type { LlmView, PoolSummary } from '../../schema/views.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { formatPlan } from '../format/plan-format.js';
import { readFilesAtRef, type Repo } from '../repo.js';
import { loadWorkspace, tryLiveViews } from '../workspace.js';
import { resourceOfView } from './get.js';

export interface PlanOptions {
  against?: string | undefined;
  output: 'text' | 'json' | 'markdown';
  detailedExitcode: boolean;
}

export async function run(options: PlanOptions, ctx: CommandContext): Promise<void> {
  const ws = await loadWorkspace(ctx);
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
      const client = ctx.client();
      const [llms, pools] = await Promise.all([client.listLlms(), client.listPools()]);
      live = llms.items;
      base = await reconcilerBase(ws.repo, llms, pools.items);
      ctx.err(`mcpctl: warning: ${options.against} does not load (${problems.length} error${problems.length === 1 ? '' : 's'}, first: ${problems[0] ?? '?'}); planning against ${base.label} instead\n`);
    }
  } else {
    const client = ctx.client();
    const [llms, pools] = await Promise.all([client.listLlms(), client.listPools()]);
    live = llms.items;
    base = await reconcilerBase(ws.repo, llms, pools.items);
  }
  const plan = computePlan({ desired: ws.declared, base, live });
  ctx.out(formatPlan(plan, options.output, { color: ctx.color && options.output === 'text' }));
  const code = planExitCode(plan, options.detailedExitcode);
  if (code !== 0) throw new ExitCode(code);
}

/** What the reconciler declares: its served revision from Git when here, else rebuilt from its views. */
export async function reconcilerBase(
  repo: Repo,
  llms: { revision: string | null; items: LlmView[] },
  pools: PoolSummary[],
): Promise<DeclaredSet & { revision: string | null; label: string }> {
  const declared = (await declaredAtServedRevision(repo, llms.revision, llms.items, pools)) ?? declaredOfViews(llms.items, pools);
  return { ...declared, revision: llms.revision, label: `reconciler revision ${shortRevision(llms.revision)}` };
}

/**
 * The reconciler's declared revision read from Git when the local repository has that commit:
 * every field exactly as declared (an LlmPool's labels and annotations, which /pools does not
 * serve, included). Null when the commit is not here (a shallow clone, a worktree source) or when
 * what it declares is not what the reconciler serves (another --path), so that the caller falls
 * back to rebuilding it from the views.
 */
async function declaredAtServedRevision(repo: Repo, revision: string | null, views: LlmView[], pools: PoolSummary[]): Promise<DeclaredSet | null> {
  if (revision === null || !/^[0-9a-f]{40,64}$/.test(revision)) return null;
  let files;
  try {
    files = (await readFilesAtRef(repo, revision)).files;
  } catch {
    return null;
  }
  const loaded = loadResources(files);
  if (!loaded.ok) return null;
  const sameNames = (a: string[], b: string[]): boolean => {
    const set = new Set(a);
    return set.size === b.length && b.every((n) => set.has(n));
  };
  const servedLlms = views.filter((v) => v.status.source !== null).map((v) => v.metadata.name);
  const servedPools = pools.filter((p) => p.declared).map((p) => p.key);
  if (!sameNames(loaded.llms.map((l) => l.resource.metadata.name), servedLlms)) return null;
  if (!sameNames(loaded.pools.map((p) => p.resource.metadata.name), servedPools)) return null;
  return { llms: loaded.llms, pools: loaded.pools };
}

/** The reconciler's declared revision, rebuilt from what it serves (views of declared Llms, pool policies). */
export function declaredOfViews(views: LlmView[], pools: PoolSummary[]): DeclaredSet {
  const llms: LocatedLlm[] = views
    .filter((v) => v.status.source !== null)
    .map((v, docIndex) => ({
      resource: resourceOfView(v),
      file: v.status.source?.file ?? '',
      line: v.status.source?.line ?? 0,
      col: 1,
      docIndex,
      fieldLines: {},
    }));
  const policies = pools
    .filter((p) => p.declared)
    .map((p, docIndex) => {
      const resource: LlmPool = { apiVersion: 'mcpctl/v1', kind: 'LlmPool', metadata: { name: p.key }, spec: {} };
      if (p.minActive > 0) resource.spec.minActive = p.minActive;
      if (p.description !== undefined) resource.spec.description = p.description;
      if (p.labels !== undefined) resource.metadata.labels = p.labels;
      if (p.annotations !== undefined) resource.metadata.annotations = p.annotations;
      return { resource, file: '', line: 0, col: 1, docIndex, fieldLines: {} };
    });
  return { llms, pools: policies };
}

