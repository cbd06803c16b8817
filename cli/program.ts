// The commander tree. It only normalises options (env fallbacks); each command lives in
// commands/<verb>.ts and is imported lazily so that `get` never loads Ink or fastify.
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT } from './errors.js';

export const VERSION = '0.1.0';

export interface GlobalOptions {
  server: string;
  token: string | undefined;
  repo: string | undefined;
  path: string;
  debug: boolean;
}

export interface ReconcilerOptions {
  source?: string;
  worktree?: string;
  branch: string;
  path: string;
  listen: string;
  poll: string;
  heartbeatInterval: string;
  ttl: string;
  gc: string;
  stateDir?: string;
  auth?: string;
  unmanaged: string;
}

export interface AgentOptions {
  config: string;
}

export function buildProgram(): Command {
  const program = new Command('mcpctl')
    .description('GitOps for pools of LLM endpoints')
    .version(VERSION, '--client-version', 'print the client version')
    .addOption(new Option('--server <url>', 'reconciler URL').env('MCPCTL_SERVER').default('http://127.0.0.1:7420'))
    .addOption(new Option('--token <token>', 'bearer token for the reconciler').env('MCPCTL_TOKEN'))
    .addOption(new Option('--repo <dir>', 'Git repository holding the resources (default: the top level of the current directory)').env('MCPCTL_REPO'))
    .option('--path <dir>', 'folder of resource files inside the repository', 'llms')
    .option('--debug', 'print stack traces', false)
    .configureOutput({ outputError: () => {} })
    .exitOverride();

  program
    .command('reconciler')
    .description('run the reconciler: Git in, live registrations, read-only HTTP API')
    .option('--source <git-url-or-path>', 'Git URL or local repository to follow')
    .option('--worktree <dir>', 'serve the working-tree files of DIR (development loop)')
    .option('--branch <name>', 'branch to follow', 'main')
    .option('--path <dir>', 'folder of resource files inside the repository', 'llms')
    .option('--listen <host:port>', 'address to serve on', '127.0.0.1:7420')
    .option('--poll <duration>', 'fetch interval', '30s')
    .option('--heartbeat-interval <duration>', 'heartbeat interval told to agents', '10s')
    .option('--ttl <duration>', 'lease TTL before a member is stale', '30s')
    .option('--gc <duration>', 'remove stale registrations after', '10m')
    .option('--state-dir <dir>', 'persist live registrations here')
    .option('--auth <file>', 'token file (required to listen beyond loopback)')
    .addOption(new Option('--unmanaged <mode>', 'whether agents may publish undeclared names').choices(['admit', 'reject']).default('admit'))
    .action(async (options: ReconcilerOptions) => {
      const { runReconcilerCommand } = await import('../reconciler/main.js');
      await runReconcilerCommand(options);
    });

  program
    .command('agent')
    .description('run the agent on a GPU host: register, heartbeat, probe, deregister')
    .requiredOption('--config <file>', 'agent config file (YAML)')
    .action(async (options: AgentOptions) => {
      const { runAgentCommand } = await import('../agent/main.js');
      await runAgentCommand(options);
    });

  return program;
}

export function globalOptionsOf(program: Command): GlobalOptions {
  const o = program.opts<{ server: string; token?: string; repo?: string; path: string; debug: boolean }>();
  return { server: o.server, token: o.token, repo: o.repo, path: o.path, debug: o.debug };
}

/** Runs the command line; resolves to the exit code. */
export async function runProgram(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed help or its message.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      throw new CliError(error.message.replace(/^error: /, ''), EXIT.error);
    }
    throw error;
  }
  return EXIT.ok;
}
