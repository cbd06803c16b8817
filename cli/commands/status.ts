// `mcpctl status`: the reconciler's source, served and last good revision, errors and history.
import type { StatusAnswer } from '../../schema/views.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../errors.js';
import { formatStatus } from '../format/status-format.js';

export interface StatusOptions {
  output: 'text' | 'json';
}

export async function run(options: StatusOptions, ctx: CommandContext): Promise<void> {
  const status: StatusAnswer = await ctx.client().status();
  ctx.out(options.output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, { color: ctx.color, nowMs: ctx.now() }));
  // 1 when the newest revision was rejected: the reconciler serves an older one.
  if (status.revision !== null && status.revision !== status.lastGoodRevision) throw new ExitCode(1);
}
