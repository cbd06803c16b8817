// File-first writes: turn "these resources should exist / be gone" into file edits of the
// repository's working tree, check them with the plan engine, then write, commit, push, wait.
import { formatDiagnostic } from '../schema/diagnostics.js';
import { loadResources, type LastGood, type LocatedLlm, type LocatedPool, type SourceFile } from '../schema/codec.js';
import { appendResourceToText, removeResourceFromText, replaceResourceInText } from '../schema/edit.js';
import { checkPolicy, computePlan, type DeclaredSet, type Plan, type PolicyCheck } from '../schema/plan.js';
import { projectLiveOntoBase } from '../schema/projection.js';
import type { Resource } from '../schema/resources.js';
import type { LlmView } from '../schema/views.js';
import type { CommandContext } from './context.js';
import { CliError, UnreachableError } from './errors.js';
import { formatPlan } from './format/plan-format.js';
import { runApplySteps, type ApplyRequest } from './apply-pipeline.js';
import { dirtyPaths, hasUnpushedCommits, headRevision, openRepo, readFilesAtRef, readWorktreeFiles, requireResourceFolder, type FileWrite, type Repo } from './repo.js';

export interface Workspace {
  repo: Repo;
  files: SourceFile[];
  declared: DeclaredSet;
  /** What `files` are, when not the working tree: HEAD, for `apply -f` of the repo's own files. */
  base?: { revision: string | null; label: string };
}

export type ResourceRef = { kind: Resource['kind']; name: string };

/**
 * Loads the working tree's resources; a tree that does not load is an error listing every problem,
 * and so is a repository without its resource folder, unless the command may create it (`create`).
 */
export async function loadWorkspace(ctx: CommandContext, options: { mayCreateFolder?: boolean } = {}): Promise<Workspace> {
  const repo = await openRepo(ctx.global.repo, ctx.global.path);
  if (options.mayCreateFolder !== true) await requireResourceFolder(repo);
  const files = await readWorktreeFiles(repo);
  let loaded = loadResources(files);
  if (!loaded.ok && loaded.diagnostics.some((d) => d.code === 'DuplicateName' || d.code === 'DuplicatePool')) {
    // Blame a duplicate on the file the working tree added it to, not on the one HEAD had it in.
    const atHead = await lastGoodAtHead(repo);
    if (atHead !== undefined) loaded = loadResources(files, undefined, atHead);
  }
  if (!loaded.ok) throw new CliError(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  return { repo, files, declared: { llms: loaded.llms, pools: loaded.pools } };
}

async function lastGoodAtHead(repo: Repo): Promise<LastGood | undefined> {
  const head = await headRevision(repo);
  if (head === null) return undefined;
  const loaded = loadResources((await readFilesAtRef(repo, head)).files);
  return loaded.ok ? loaded : undefined;
}

/** The resources committed at HEAD (none in a repository without a commit yet). */
export async function loadWorkspaceAtHead(repo: Repo): Promise<Workspace> {
  const head = await headRevision(repo);
  if (head === null) return { repo, files: [], declared: { llms: [], pools: [] }, base: { revision: null, label: 'HEAD (no commit yet)' } };
  const { files } = await readFilesAtRef(repo, head);
  const loaded = loadResources(files);
  if (!loaded.ok) throw new CliError(`HEAD does not load:\n${loaded.diagnostics.map(formatDiagnostic).join('\n')}`);
  return { repo, files, declared: { llms: loaded.llms, pools: loaded.pools }, base: { revision: head, label: `HEAD (${head.slice(0, 7)})` } };
}

export function findDeclared(ws: Workspace, ref: ResourceRef): LocatedLlm | LocatedPool | undefined {
  const list: (LocatedLlm | LocatedPool)[] = ref.kind === 'Llm' ? ws.declared.llms : ws.declared.pools;
  return list.find((l) => l.resource.metadata.name === ref.name);
}

export interface Edit {
  upserts: Resource[];
  deletes: ResourceRef[];
}

export interface PreparedChange {
  /** Edits to make in the working tree. */
  writes: FileWrite[];
  /**
   * Files (relative to the root) whose working-tree content already is the change, committed as
   * they are: `apply -f` of the repo's own files.
   */
  pending?: string[];
  desired: DeclaredSet;
}

/** Applies the edit to file texts in memory; the result is validated as a whole revision. */
export function prepareChange(ws: Workspace, edit: Edit): PreparedChange {
  const texts = new Map(ws.files.map((f) => [f.path, f.text]));
  const touched = new Set<string>();
  const editText = (file: string, result: { ok: true; text: string } | { ok: false; message: string }): void => {
    if (!result.ok) throw new CliError(`${file}: ${result.message}`);
    texts.set(file, result.text);
    touched.add(file);
  };
  for (const resource of edit.upserts) {
    const existing = findDeclared(ws, { kind: resource.kind, name: resource.metadata.name });
    if (existing !== undefined) {
      editText(existing.file, replaceResourceInText(texts.get(existing.file) ?? '', resource.kind, resource.metadata.name, resource));
    } else {
      const file = `${ws.repo.path}/${resource.metadata.name}.yaml`;
      const current = texts.get(file);
      texts.set(file, current === undefined ? appendResourceToText('', resource) : appendResourceToText(current, resource));
      touched.add(file);
    }
  }
  for (const ref of edit.deletes) {
    const existing = findDeclared(ws, ref);
    if (existing === undefined) throw new CliError(`${ref.kind === 'Llm' ? 'llm' : 'pool'} ${JSON.stringify(ref.name)} is not declared under ${ws.repo.path}/`);
    editText(existing.file, removeResourceFromText(texts.get(existing.file) ?? '', ref.kind, ref.name));
  }
  const original = new Map(ws.files.map((f) => [f.path, f.text]));
  const writes: FileWrite[] = [];
  for (const file of [...touched].sort()) {
    const text = texts.get(file) ?? '';
    const empty = text.split(/\r?\n/).every((line) => line.trim() === '' || line.trim().startsWith('#') || line.trim() === '---');
    const next = empty ? null : text;
    if (next !== (original.get(file) ?? null)) writes.push({ path: file, text: next });
  }
  const nextFiles: SourceFile[] = [...texts.entries()]
    .filter(([path]) => !writes.some((w) => w.path === path && w.text === null))
    .map(([path, text]) => ({ path, text }));
  const loaded = loadResources(nextFiles);
  if (!loaded.ok) throw new CliError(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  return { writes, desired: { llms: loaded.llms, pools: loaded.pools } };
}

/**
 * Live views for the policy check; null only when the reconciler cannot be reached (the check is
 * then skipped). Any answer it does give that is an error (401, 403, 500) fails the command: a bad
 * token must not pass for "offline" and skip the check silently.
 */
export async function tryLiveViews(ctx: CommandContext): Promise<LlmView[] | null> {
  try {
    return (await ctx.client().listLlms()).items;
  } catch (error) {
    if (error instanceof UnreachableError) return null;
    throw error;
  }
}

/** Why the policy check was skipped, in words (the plan's `Policy:` line, the commands' warning). */
export function describeSkippedPolicy(ctx: CommandContext): string {
  return `reconciler unreachable at ${ctx.client().server}`;
}

/**
 * The policy check of this change alone. The live views show what the reconciler serves, which
 * may be behind the base (earlier commits not pushed yet): each view is first brought to what the
 * base declares (an Llm drained, deleted or moved there no longer counts in its old pool), so the
 * check compares before and after of the same base and never blames an earlier commit. A change
 * that touches no member of a pool then leaves its count as it is, and an undrain never lowers one.
 */
export function checkPolicyOfChange(base: DeclaredSet & { revision: string | null; label: string }, desired: DeclaredSet, live: readonly LlmView[]): PolicyCheck {
  return checkPolicy({ desired, base }, projectLiveOntoBase(live, base));
}

export interface CommitOptions {
  dryRun: boolean;
  noCommit: boolean;
  push: boolean;
  wait: boolean;
  /** How long --wait waits; 60 s when not given. */
  waitTimeoutMs?: number;
  yes: boolean;
  force: boolean;
  /** The commit message, or how to word it from the plan. */
  message: string | ((plan: Plan) => string);
  /** Whether to print the plan before writing (apply does; create and delete print one line). */
  showPlan: boolean;
}

/**
 * Shows the plan of the change against its base (the working tree, or HEAD for the repo's own
 * files), enforces pool policy, asks, then writes the files, commits exactly them, and optionally
 * pushes and waits for the reconciler.
 */
export async function commitChange(ctx: CommandContext, ws: Workspace, change: PreparedChange, options: CommitOptions): Promise<Plan> {
  const live = await tryLiveViews(ctx);
  const base = { ...ws.declared, ...(ws.base ?? { revision: await headRevision(ws.repo), label: 'the working tree' }) };
  const computed = computePlan({ desired: { ...change.desired, label: 'the files after this change' }, base, live });
  const policy: PolicyCheck =
    live === null ? { checked: false, skippedReason: describeSkippedPolicy(ctx), violations: [] } : checkPolicyOfChange(base, change.desired, live);
  const plan: Plan = { ...computed, policy };
  if (options.showPlan) ctx.out(formatPlan(plan, 'text', { color: ctx.color }));
  const pending = change.pending ?? [];
  if (change.writes.length === 0 && pending.length === 0) {
    if (!options.dryRun && (options.push || options.wait)) await publishUnpushed(ctx, ws.repo, options);
    return plan;
  }
  if (plan.policy.violations.length > 0 && !options.force) {
    // The plan's own wording, naming the Llms the change takes out and where.
    const lines = plan.policy.violations.map((v) => `pool ${v.pool}: ${v.reason}`);
    throw new CliError(`refusing a change that violates pool policy (use --force to override): ${lines.join('; ')}`);
  }
  if (options.dryRun) {
    ctx.err(`dry run: nothing ${change.writes.length > 0 ? 'written' : 'committed'}\n`);
    return plan;
  }
  const paths = change.writes.map((w) => w.path);
  if (!options.noCommit) {
    const dirty = await dirtyPaths(ws.repo, paths);
    if (dirty.length > 0) {
      throw new CliError(`${dirty.join(', ')} ${dirty.length === 1 ? 'has' : 'have'} uncommitted changes; commit or stash them first (or use --no-commit); nothing was written`);
    }
  }
  if (options.noCommit && change.writes.length === 0) {
    ctx.out(`${pending.join(', ')} already ${pending.length === 1 ? 'holds' : 'hold'} the change in the working tree; nothing written, not committed\n`);
    return plan;
  }
  if (!options.yes) {
    if (!ctx.interactive) throw new CliError('refusing to write without confirmation on a non-interactive terminal: pass --yes');
    const question = change.writes.length > 0 ? 'Write these changes and commit?' : 'Commit these changes?';
    if (!(await ctx.confirm(question))) throw new CliError(`cancelled; nothing was ${change.writes.length > 0 ? 'written' : 'committed'}`);
  }
  // Only now, with every refusal behind: the one warning line of a command that shows no plan.
  if (!options.showPlan && live === null) ctx.err(`mcpctl: warning: pool policy check skipped: ${describeSkippedPolicy(ctx)}\n`);
  const originals = new Map(ws.files.map((f) => [f.path, f.text]));
  if (options.noCommit) {
    await runApplySteps(ws.repo, { writes: change.writes, originals, commit: null, push: 'never' }, () => {});
    ctx.out(`wrote ${paths.join(', ')} (not committed)\n`);
    return plan;
  }
  const message = typeof options.message === 'string' ? options.message : options.message(plan);
  await publish(ctx, ws.repo, { writes: change.writes, originals, commit: { paths: [...paths, ...pending], message } }, options);
  return plan;
}

/**
 * Runs the apply pipeline for a write command and prints its lines: `committed …`, `pushed`,
 * `the reconciler serves …`. --wait waits for the reconciler to serve the commit (or HEAD).
 */
async function publish(
  ctx: CommandContext,
  repo: Repo,
  change: Pick<ApplyRequest, 'writes' | 'originals' | 'commit'>,
  options: { push: boolean; wait: boolean; waitTimeoutMs?: number },
): Promise<void> {
  const converge = async (revision: string | null): Promise<string> => {
    const { syncAndWait } = await import('./commands/sync.js');
    // A reconciler that follows a remote never sees a commit left unpushed: say so if it times out.
    const unpushed = !options.push && (await hasUnpushedCommits(repo));
    try {
      return `the reconciler serves ${(await syncAndWait(ctx, options.waitTimeoutMs ?? 60_000, revision)) ?? '(none)'}`;
    } catch (error) {
      if (unpushed && error instanceof CliError && error.message.startsWith('timed out')) {
        throw new CliError(`${error.message}; ${revision?.slice(0, 7) ?? 'HEAD'} is not pushed: add --push, or git push`);
      }
      throw error;
    }
  };
  const request: ApplyRequest = { ...change, push: options.push ? 'always' : 'never', ...(options.wait ? { converge } : {}) };
  await runApplySteps(repo, request, (progress) => {
    if (progress.state !== 'done') return;
    if (progress.step === 'commit') ctx.out(`committed ${progress.commit?.slice(0, 7) ?? ''}: ${change.commit?.message ?? ''}\n`);
    else if (progress.step === 'push') ctx.out('pushed\n');
    else if (progress.step === 'converged') ctx.out(`${progress.detail}\n`);
  });
}

/**
 * Nothing to commit, yet --push or --wait: publish HEAD when it holds commits its upstream lacks
 * (earlier commits not pushed yet), else there is nothing to do.
 */
async function publishUnpushed(ctx: CommandContext, repo: Repo, options: { push: boolean; wait: boolean; waitTimeoutMs?: number }): Promise<void> {
  const head = await headRevision(repo);
  if (head === null || !(await hasUnpushedCommits(repo))) return;
  ctx.out(`nothing to commit; HEAD ${head.slice(0, 7)} has commits its upstream lacks\n`);
  await publish(ctx, repo, { writes: [], originals: new Map(), commit: { paths: [], message: '' } }, options);
}
