// `mcpctl version`: the client's version, and the server's when reachable.
import type { CommandContext } from '../context.js';
import { VERSION } from '../../schema/version.js';

export async function run(ctx: CommandContext): Promise<void> {
  ctx.out(`Client Version: ${VERSION}\n`);
  try {
    const health = await ctx.client().health();
    ctx.out(`Server Version: ${health.version ?? 'unknown'} (${ctx.global.server})\n`);
  } catch {
    ctx.out(`Server Version: unreachable (${ctx.global.server})\n`);
  }
}
