// `mcpctl sync [--wait]`: asks the reconciler to fetch now.
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';

export interface SyncOptions {
  wait: boolean;
  timeoutMs: number;
}

export async function run(options: SyncOptions, ctx: CommandContext): Promise<void> {
  const revision = await syncAndWait(ctx, options.wait ? options.timeoutMs : 0, null);
  ctx.out(`synced: serving revision ${revision ?? '(none)'}\n`);
}

/**
 * Triggers a sync; with a timeout, waits until the reconciler serves `expected` (or, without one,
 * until the newest revision it saw is the one it serves). A rejected revision is an error naming its
 * problems, whether this sync or an earlier poll read it: /status, not the sync answer, says which
 * revision is newest (the answer of a sync that found nothing new says `unchanged`).
 */
export async function syncAndWait(ctx: CommandContext, timeoutMs: number, expected: string | null): Promise<string | null> {
  const client = ctx.client();
  const deadline = ctx.now() + timeoutMs;
  for (;;) {
    await client.sync();
    const status = await client.status();
    const served = status.lastGoodRevision;
    const rejected = status.revision !== null && status.revision !== served && status.errors.length > 0;
    if (rejected && (expected === null || status.revision === expected)) {
      const lines = status.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`);
      throw new CliError(`the reconciler rejected revision ${status.revision ?? '?'} and keeps serving ${served ?? 'nothing'}${lines.length > 0 ? `: ${lines.join('; ')}` : ''}`);
    }
    if (timeoutMs === 0) return served;
    if (expected === null ? status.revision === served : served === expected) return served;
    if (ctx.now() >= deadline) {
      throw new CliError(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for the reconciler to serve ${expected ?? 'the newest revision'} (it serves ${served ?? 'nothing'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
