// `mcpctl agent`: loads the config and runs the agent loop.
import type { AgentOptions } from '../cli/program.js';
import { CliError } from '../cli/errors.js';

export async function runAgentCommand(_options: AgentOptions): Promise<void> {
  throw new CliError('the agent is not built yet');
}
