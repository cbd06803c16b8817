// `mcpctl apply -f FILE|DIR|-`: validate, show the plan, edit the repo's files in place, commit.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadResources, type SourceFile } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { commitChange, loadWorkspace, prepareChange } from '../workspace.js';

export interface ApplyOptions {
  filename: string;
  dryRun: boolean;
  noCommit: boolean;
  push: boolean;
  wait: boolean;
  yes: boolean;
  force: boolean;
}

export async function run(options: ApplyOptions, ctx: CommandContext): Promise<void> {
  const inputs = await readInputs(options.filename, ctx);
  const loaded = loadResources(inputs);
  if (!loaded.ok) throw new CliError(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const upserts = [...loaded.llms.map((l) => l.resource), ...loaded.pools.map((p) => p.resource)];
  if (upserts.length === 0) throw new CliError(`-f ${options.filename}: no resources found`);
  const ws = await loadWorkspace(ctx);
  const change = prepareChange(ws, { upserts, deletes: [] });
  const names = upserts.map((r) => r.metadata.name).sort();
  await commitChange(ctx, ws, change, {
    dryRun: options.dryRun,
    noCommit: options.noCommit,
    push: options.push,
    wait: options.wait,
    yes: options.yes,
    force: options.force,
    message: names.length === 1 ? `apply ${names[0]}` : `apply ${names.length} resources: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`,
    showPlan: true,
  });
}

async function readInputs(filename: string, ctx: CommandContext): Promise<SourceFile[]> {
  if (filename === '-') return [{ path: '<stdin>', text: await ctx.readStdin() }];
  let stat;
  try {
    stat = await fs.stat(filename);
  } catch {
    throw new CliError(`-f: ${filename} does not exist`);
  }
  if (stat.isFile()) return [{ path: filename, text: await fs.readFile(filename, 'utf8') }];
  const out: SourceFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const child = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (/\.ya?ml$/.test(entry.name)) out.push({ path: child, text: await fs.readFile(child, 'utf8') });
    }
  };
  await walk(filename);
  return out;
}
