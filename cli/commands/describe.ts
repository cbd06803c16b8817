// `mcpctl describe llm NAME`: the detail view, with the Pool block on top when the Llm is in a pool.
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { formatDescribe } from '../format/describe.js';
import { assertNameArgument, resourceKindOf } from './get.js';

export interface DescribeOptions {
  resource: string;
  name: string;
}

export async function run(options: DescribeOptions, ctx: CommandContext): Promise<void> {
  if (resourceKindOf(options.resource) !== 'llm') throw new CliError('describe supports llm only; use `mcpctl get pool KEY` for a pool');
  assertNameArgument(options.name, 'NAME');
  const client = ctx.client();
  const [view, members] = await Promise.all([client.getLlm(options.name), client.members(options.name)]);
  if (view === null) throw new CliError(`llm ${JSON.stringify(options.name)} not found`);
  ctx.out(formatDescribe(view, members, { color: ctx.color, nowMs: ctx.now() }));
}
