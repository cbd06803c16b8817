// `mcpctl status`: the reconciler's source, served and last good revision, errors and history.
import type { StatusAnswer } from '../../schema/views.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../errors.js';
import { exitCodeOfStatus, formatStatus } from '../format/status-format.js';

export interface StatusOptions {
  output: 'text' | 'json';
}

export async function run(options: StatusOptions, ctx: CommandContext): Promise<void> {
  // An unreachable reconciler is the client's UnreachableError: exit 3.
  const status: StatusAnswer = await ctx.client().status();
  ctx.out(options.output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, { color: ctx.color, nowMs: ctx.now() }));
  // 1 when the newest revision was rejected (an older one is served) or the source could not be read.
  const code = exitCodeOfStatus(status);
  if (code !== 0) throw new ExitCode(code);
}
