// `mcpctl apply -f FILE|DIR|-`: validate, show the plan, edit the repo's files in place, commit.
// Files given from the repository's own resource folder already are the edit: apply commits their
// changes against HEAD (Terraform's "plan what is on disk, then apply it").
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadResources, type SourceFile } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import type { Plan } from '../../schema/plan.js';
import { isResourceFileName } from '../../schema/resource-paths.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { checkFollowedRepository } from '../followed-repository.js';
import { openRepo, type Repo } from '../repo.js';
import { commitChange, loadWorkspace, loadWorkspaceAtHead, prepareChange, type CommitOptions } from '../workspace.js';

export interface ApplyOptions {
  filename: string;
  dryRun: boolean;
  noCommit: boolean;
  push: boolean;
  wait: boolean;
  waitTimeoutMs: number;
  yes: boolean;
  force: boolean;
}

export async function run(options: ApplyOptions, ctx: CommandContext): Promise<void> {
  if (options.noCommit && (options.push || options.wait)) {
    throw new CliError(`--no-commit: cannot be combined with ${options.push ? '--push' : '--wait'} (nothing is committed to push or wait for)`);
  }
  const inputs = await readInputs(options.filename, ctx);
  const commitOptions = {
    dryRun: options.dryRun,
    noCommit: options.noCommit,
    push: options.push,
    wait: options.wait,
    waitTimeoutMs: options.waitTimeoutMs,
    yes: options.yes,
    force: options.force,
    showPlan: true,
  } satisfies Omit<CommitOptions, 'message'>;
  const force = { force: options.force, verb: 'apply' } as const;
  if (options.filename !== '-') {
    const repo = await openRepo(ctx.global.repo, ctx.global.path);
    const scope = await scopeInResourceFolder(repo, options.filename, inputs);
    if (scope !== null) {
      await checkFollowedRepository(ctx.client(), repo, force);
      return applyOwnFiles(ctx, repo, scope, commitOptions);
    }
  }
  const loaded = loadResources(inputs);
  if (!loaded.ok) throw new CliError(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const upserts = [...loaded.llms.map((l) => l.resource), ...loaded.pools.map((p) => p.resource)];
  if (upserts.length === 0) throw new CliError(`-f ${options.filename}: no resources found`);
  const ws = await loadWorkspace(ctx);
  await checkFollowedRepository(ctx.client(), ws.repo, force);
  const change = prepareChange(ws, { upserts, deletes: [] });
  const names = upserts.map((r) => r.metadata.name).sort();
  await commitChange(ctx, ws, change, { ...commitOptions, message: messageOf(names) });
}

function messageOf(names: string[]): string {
  return names.length === 1 ? `apply ${names[0]}` : `apply ${names.length} resources: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`;
}

/** Input files with their paths relative to the repository root (forward slashes). */
type ScopedInputs = { target: string; isFolder: boolean; files: SourceFile[] };

/**
 * Null unless -f names the repository's resource folder or something inside it (or only files
 * inside it); then what it covers, relative to the root. Mixing them with files from elsewhere is
 * refused: one would be committed as it is on disk, the other merged into the repo's files.
 */
async function scopeInResourceFolder(repo: Repo, filename: string, inputs: SourceFile[]): Promise<ScopedInputs | null> {
  const folder = await realpathOrNull(path.join(repo.root, repo.path));
  if (folder === null) return null;
  const rootReal = (await realpathOrNull(repo.root)) ?? repo.root;
  const inside = (abs: string): boolean => abs === folder || abs.startsWith(`${folder}${path.sep}`);
  const relativeToRoot = (abs: string): string => path.relative(rootReal, abs).split(path.sep).join('/');
  const target = await realpathOrNull(path.resolve(filename));
  if (target === null) return null;
  const files: SourceFile[] = [];
  let outside = 0;
  for (const input of inputs) {
    const abs = await realpathOrNull(path.resolve(input.path));
    if (abs !== null && inside(abs)) files.push({ path: relativeToRoot(abs), text: input.text });
    else outside++;
  }
  const stat = await fs.stat(target);
  if (inside(target)) {
    if (outside > 0) return null;
    return { target: relativeToRoot(target), isFolder: stat.isDirectory(), files };
  }
  if (files.length === 0) return null;
  if (outside > 0) {
    throw new CliError(`-f ${filename}: mixes files of ${repo.path}/ with files from elsewhere; apply ${repo.path}/ and the others separately`);
  }
  // A folder above the resource folder whose only resource files are in it: the whole folder.
  return { target: relativeToRoot(folder), isFolder: true, files };
}

/**
 * The files in the working tree are the change: the plan compares HEAD with HEAD plus these files
 * as they are on disk (deleted ones included), and the commit takes exactly the ones that differ.
 */
async function applyOwnFiles(ctx: CommandContext, repo: Repo, scope: ScopedInputs, options: Omit<CommitOptions, 'message'>): Promise<void> {
  const ws = await loadWorkspaceAtHead(repo);
  const covers = (file: string): boolean => (scope.isFolder ? file === scope.target || file.startsWith(`${scope.target}/`) : file === scope.target);
  const onDisk = new Map(scope.files.map((f) => [f.path, f.text]));
  const atHead = new Map(ws.files.map((f) => [f.path, f.text]));
  const pending = [...new Set([...onDisk.keys(), ...ws.files.map((f) => f.path).filter(covers)])]
    .filter((file) => onDisk.get(file) !== atHead.get(file))
    .sort();
  const desiredFiles = [...ws.files.filter((f) => !covers(f.path)), ...scope.files];
  const loaded = loadResources(desiredFiles);
  if (!loaded.ok) throw new CliError(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  if (scope.files.length === 0 && !ws.files.some((f) => covers(f.path))) throw new CliError(`-f ${scope.target}: no resources found`);
  const message = (plan: Plan): string => {
    const names = [...plan.changes.map((c) => c.name), ...plan.poolChanges.map((c) => c.name)].sort();
    return names.length > 0 ? messageOf(names) : `apply ${pending.join(', ')}`;
  };
  await commitChange(ctx, ws, { writes: [], pending, desired: { llms: loaded.llms, pools: loaded.pools } }, { ...options, message });
}

async function realpathOrNull(file: string): Promise<string | null> {
  try {
    return await fs.realpath(file);
  } catch {
    return null;
  }
}

async function readInputs(filename: string, ctx: CommandContext): Promise<SourceFile[]> {
  if (filename === '-') return [{ path: '<stdin>', text: await ctx.readStdin() }];
  let stat;
  try {
    stat = await fs.stat(filename);
  } catch {
    throw new CliError(`-f: ${filename} does not exist`);
  }
  // Only a folder is walked; anything else (a file, a FIFO from `<(…)`, /dev/stdin, /dev/null) is read.
  if (!stat.isDirectory()) return [{ path: filename, text: await fs.readFile(filename, 'utf8') }];
  const out: SourceFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      // The one rule of schema/resource-paths.ts: hidden files and folders are not resources.
      if (entry.name.startsWith('.')) continue;
      const child = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (isResourceFileName(entry.name)) out.push({ path: child, text: await fs.readFile(child, 'utf8') });
    }
  };
  await walk(filename);
  return out;
}
