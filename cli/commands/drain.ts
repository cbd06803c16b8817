// `mcpctl drain|undrain llm NAME`: sets spec.enabled in place, a one-line commit, under pool policy.
// `drain --wait` then waits until the reconciler serves the drain and the known gateways have no
// request in flight for NAME (the graceful drain: its running requests finish, no new one comes).
import { setFieldInText } from '../../schema/edit.js';
import { loadResources } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import { checkName } from '../../schema/names.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { checkGateways, waitUntilIdle } from '../in-flight.js';
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
  /** drain only: wait for the reconciler, then for the gateways' requests in flight. */
  wait?: boolean;
  /** How long --wait waits in all. */
  waitTimeoutMs?: number;
}

/** The default of `drain --timeout`: long enough for a long generation to finish. */
export const DRAIN_WAIT_TIMEOUT_MS = 10 * 60_000;

export async function run(options: DrainOptions, ctx: CommandContext): Promise<void> {
  if (resourceKindOf(options.resource) !== 'llm') throw new CliError(`${options.drain ? 'drain' : 'undrain'} supports llm only`);
  // The one name rule, before anything is read: a typo in case or a stray character is named as such, not "not declared".
  const nameProblem = checkName(options.name);
  if (nameProblem !== null) throw new CliError(`NAME: invalid name: ${nameProblem}`);
  const wait = options.drain && options.wait === true;
  if (wait && (options.noCommit || options.dryRun)) {
    throw new CliError(`--wait: cannot be combined with ${options.noCommit ? '--no-commit' : '--dry-run'} (nothing is committed for the reconciler to serve)`);
  }
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
  const timeoutMs = options.waitTimeoutMs ?? DRAIN_WAIT_TIMEOUT_MS;
  const gateways = wait ? ctx.gateways() : [];
  // Every gateway answers before anything is committed: a wrong URL fails a drain that wrote nothing.
  if (wait) await checkGateways(gateways);
  const deadlineMs = ctx.now() + timeoutMs;
  await commitChange(ctx, ws, { writes, desired: { llms: loaded.llms, pools: loaded.pools } }, {
    dryRun: options.dryRun,
    noCommit: options.noCommit,
    push: options.push,
    wait,
    waitTimeoutMs: timeoutMs,
    yes: true,
    force: options.force,
    message: `${verb} llm ${options.name}`,
    showPlan: options.dryRun,
  });
  if (writes.length === 0) ctx.out(`llm/${options.name} already ${options.drain ? 'drained' : 'enabled'}\n`);
  else if (!options.dryRun) ctx.out(`llm/${options.name} ${options.drain ? 'drained' : 'undrained'}\n`);
  if (!wait) return;
  // Nothing committed: make sure the reconciler serves a revision in which NAME is drained.
  if (writes.length === 0) await waitForServedDrain(ctx, options.name, Math.max(0, deadlineMs - ctx.now()));
  if (gateways.length === 0) {
    ctx.err(`mcpctl: note: no gateway known (--gateway or MCPCTL_GATEWAY): not waiting for requests in flight on ${options.name}\n`);
    return;
  }
  await waitUntilIdle(ctx, gateways, options.name, { deadlineMs, timeoutMs });
}

/** Syncs and waits for the newest revision, then checks that the Llm is drained in what is served. */
async function waitForServedDrain(ctx: CommandContext, name: string, timeoutMs: number): Promise<void> {
  const { syncAndWait } = await import('./sync.js');
  const served = await syncAndWait(ctx, Math.max(timeoutMs, 1), null);
  const view = await ctx.client().getLlm(name);
  if (view?.spec.enabled !== false) {
    throw new CliError(`the reconciler serves ${served ?? 'nothing'}, in which llm ${JSON.stringify(name)} is not drained: push the drain (--push) or check the branch it follows`);
  }
  ctx.out(`the reconciler serves ${served ?? '(none)'}\n`);
}
