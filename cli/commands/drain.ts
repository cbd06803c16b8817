// `mcpctl drain|undrain llm NAME`: sets spec.enabled in place, a one-line commit, under pool policy.
import { setFieldInText } from '../../schema/edit.js';
import { loadResources } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import { checkName } from '../../schema/names.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { commitChange, findDeclared, loadWorkspace } from '../workspace.js';
import { resourceKindOf } from './get.js';

export interface DrainOptions {
  resource: string;
  name: string;
  drain: boolean;
  force: boolean;
  noCommit: boolean;
  push: boolean;
  dryRun: boolean;
}

export async function run(options: DrainOptions, ctx: CommandContext): Promise<void> {
  if (resourceKindOf(options.resource) !== 'llm') throw new CliError(`${options.drain ? 'drain' : 'undrain'} supports llm only`);
  // The one name rule, before anything is read: a typo in case or a stray character is named as such, not "not declared".
  const nameProblem = checkName(options.name);
  if (nameProblem !== null) throw new CliError(`NAME: invalid name: ${nameProblem}`);
  const ws = await loadWorkspace(ctx);
  const declared = findDeclared(ws, { kind: 'Llm', name: options.name });
  if (declared === undefined) throw new CliError(`llm ${JSON.stringify(options.name)} is not declared under ${ws.repo.path}/`);
  const text = ws.files.find((f) => f.path === declared.file)?.text ?? '';
  // Drain writes `enabled: false`; undrain writes the default back as `enabled: true` when the file
  // says `enabled: false`, so both are one-line diffs.
  const edited = setFieldInText(text, 'Llm', options.name, ['spec', 'enabled'], options.drain ? false : true);
  if (!edited.ok) throw new CliError(`${declared.file}: ${edited.message}`);
  const files = ws.files.map((f) => (f.path === declared.file ? { path: f.path, text: edited.text } : f));
  const loaded = loadResources(files);
  if (!loaded.ok) throw new CliError(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const writes = edited.text === text ? [] : [{ path: declared.file, text: edited.text }];
  const verb = options.drain ? 'drain' : 'undrain';
  await commitChange(ctx, ws, { writes, desired: { llms: loaded.llms, pools: loaded.pools } }, {
    dryRun: options.dryRun,
    noCommit: options.noCommit,
    push: options.push,
    wait: false,
    yes: true,
    force: options.force,
    message: `${verb} llm ${options.name}`,
    showPlan: options.dryRun,
  });
  if (writes.length === 0) ctx.out(`llm/${options.name} already ${options.drain ? 'drained' : 'enabled'}\n`);
  else if (!options.dryRun) ctx.out(`llm/${options.name} ${options.drain ? 'drained' : 'undrained'}\n`);
}
