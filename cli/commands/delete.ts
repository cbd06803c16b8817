// `mcpctl delete llm NAME`: removes its document (or file) and commits.
import { checkName } from '../../schema/names.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { commitChange, loadWorkspace, prepareChange } from '../workspace.js';
import { resourceKindOf } from './get.js';

export interface DeleteOptions {
  resource: string;
  name: string;
  dryRun: boolean;
  noCommit: boolean;
  push: boolean;
  force: boolean;
  yes: boolean;
}

export async function run(options: DeleteOptions, ctx: CommandContext): Promise<void> {
  const kind = resourceKindOf(options.resource) === 'llm' ? 'Llm' : 'LlmPool';
  const nameProblem = checkName(options.name);
  if (nameProblem !== null) throw new CliError(`NAME: invalid name: ${nameProblem}`);
  const ws = await loadWorkspace(ctx);
  const change = prepareChange(ws, { upserts: [], deletes: [{ kind, name: options.name }] });
  if (change.writes.length === 0) throw new CliError(`nothing to delete for ${options.name}`);
  await commitChange(ctx, ws, change, {
    dryRun: options.dryRun,
    noCommit: options.noCommit,
    push: options.push,
    wait: false,
    yes: true,
    force: options.force,
    message: `delete ${kind === 'Llm' ? 'llm' : 'pool'} ${options.name}`,
    showPlan: options.dryRun,
  });
  if (!options.dryRun) ctx.out(`${kind === 'Llm' ? 'llm' : 'pool'}/${options.name} deleted\n`);
}
