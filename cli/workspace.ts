// File-first writes: turn "these resources should exist / be gone" into file edits of the
// repository's working tree, check them with the plan engine, then write, commit, push, wait.
import { formatDiagnostic } from '../schema/diagnostics.js';
import { loadResources, type LocatedLlm, type LocatedPool, type SourceFile } from '../schema/codec.js';
import { appendResourceToText, removeResourceFromText, replaceResourceInText } from '../schema/edit.js';
import { computePlan, type DeclaredSet, type Plan } from '../schema/plan.js';
import type { Resource } from '../schema/resources.js';
import type { LlmView } from '../schema/views.js';
import type { CommandContext } from './context.js';
import { CliError } from './errors.js';
import { formatPlan } from './format/plan-format.js';
import { commitPaths, dirtyPaths, headRevision, openRepo, pushCurrentBranch, readWorktreeFiles, writeFiles, type FileWrite, type Repo } from './repo.js';

export interface Workspace {
  repo: Repo;
  files: SourceFile[];
  declared: DeclaredSet;
}

export type ResourceRef = { kind: Resource['kind']; name: string };

/** Loads the working tree's resources; a tree that does not load is an error listing every problem. */
export async function loadWorkspace(ctx: CommandContext): Promise<Workspace> {
  const repo = await openRepo(ctx.global.repo, ctx.global.path);
  const files = await readWorktreeFiles(repo);
  const loaded = loadResources(files);
  if (!loaded.ok) throw new CliError(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  return { repo, files, declared: { llms: loaded.llms, pools: loaded.pools } };
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
  writes: FileWrite[];
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

/** Live views for the policy check; null when the reconciler cannot be reached (the check is then skipped). */
export async function tryLiveViews(ctx: CommandContext): Promise<LlmView[] | null> {
  try {
    return (await ctx.client().listLlms()).items;
  } catch {
    return null;
  }
}

export interface CommitOptions {
  dryRun: boolean;
  noCommit: boolean;
  push: boolean;
  wait: boolean;
  yes: boolean;
  force: boolean;
  message: string;
  /** Whether to print the plan before writing (apply does; create and delete print one line). */
  showPlan: boolean;
}

/**
 * Shows the plan of the change against the working tree, enforces pool policy, asks, then writes
 * the files, commits exactly them, and optionally pushes and waits for the reconciler.
 */
export async function commitChange(ctx: CommandContext, ws: Workspace, change: PreparedChange, options: CommitOptions): Promise<Plan> {
  const live = await tryLiveViews(ctx);
  const head = await headRevision(ws.repo);
  const plan = computePlan({
    desired: { ...change.desired, label: 'the files after this change' },
    base: { ...ws.declared, revision: head, label: 'the working tree' },
    live,
  });
  if (options.showPlan) ctx.out(formatPlan(plan, 'text', { color: ctx.color }));
  if (change.writes.length === 0) return plan;
  if (plan.policy.violations.length > 0 && !options.force) {
    const lines = plan.policy.violations.map((v) => `pool ${v.pool} would have ${v.activeAfter} active member(s), below its minActive ${v.minActive}`);
    throw new CliError(`refusing a change that violates pool policy (use --force to override): ${lines.join('; ')}`);
  }
  if (options.dryRun) {
    ctx.err('dry run: nothing written\n');
    return plan;
  }
  const paths = change.writes.map((w) => w.path);
  if (!options.noCommit) {
    const dirty = await dirtyPaths(ws.repo, paths);
    if (dirty.length > 0) {
      throw new CliError(`${dirty.join(', ')} ${dirty.length === 1 ? 'has' : 'have'} uncommitted changes; commit or stash them first (or use --no-commit); nothing was written`);
    }
  }
  if (!options.yes) {
    if (!ctx.interactive) throw new CliError('refusing to write without confirmation on a non-interactive terminal: pass --yes');
    if (!(await ctx.confirm('Write these changes and commit?'))) throw new CliError('cancelled; nothing was written');
  }
  await writeFiles(ws.repo, change.writes);
  if (options.noCommit) {
    ctx.out(`wrote ${paths.join(', ')} (not committed)\n`);
    return plan;
  }
  const commit = await commitPaths(ws.repo, paths, options.message);
  ctx.out(`committed ${commit.slice(0, 7)}: ${options.message}\n`);
  if (options.push) {
    await pushCurrentBranch(ws.repo);
    ctx.out('pushed\n');
  }
  if (options.wait) {
    const { syncAndWait } = await import('./commands/sync.js');
    const served = await syncAndWait(ctx, 60_000, commit);
    ctx.out(`the reconciler serves ${served ?? '(none)'}\n`);
  }
  return plan;
}
