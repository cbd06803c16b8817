// The commander tree. It only normalises options (env fallbacks); each command lives in
// commands/<verb>.ts and is imported lazily so that `get` never loads Ink or fastify.
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type { AgentOptions } from '../agent/main.js';
import type { GatewayOptions } from '../gateway/main.js';
import type { ReconcilerOptions } from '../reconciler/main.js';
import { VERSION } from '../schema/version.js';
import type { CommandContext, GlobalOptions } from './context.js';
import { CliError, EXIT } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('mcpctl')
    .description('GitOps for pools of LLM endpoints')
    .version(VERSION, '--version', 'print the client version (mcpctl version also asks the server)')
    .addOption(new Option('--server <url>', 'reconciler URL').env('MCPCTL_SERVER').default('http://127.0.0.1:7420'))
    .addOption(new Option('--token <token>', 'bearer token for the reconciler (and the gateways, unless --gateway-token)').env('MCPCTL_TOKEN'))
    .addOption(
      new Option('--gateway <url>', 'pool gateway to ask for requests in flight (repeatable, or comma-separated)').env('MCPCTL_GATEWAY').argParser(collectGateways),
    )
    .addOption(new Option('--gateway-token <token>', 'bearer token for the gateways (default: --token)').env('MCPCTL_GATEWAY_TOKEN'))
    .addOption(new Option('--repo <dir>', 'Git repository holding the resources (default: the top level of the current directory)').env('MCPCTL_REPO'))
    .option('--path <dir>', 'folder of resource files inside the repository', 'llms')
    .option('--debug', 'print stack traces', false)
    .configureOutput({ outputError: () => {} })
    .exitOverride();

  program
    .command('reconciler')
    .description('run the reconciler: Git in, live registrations, read-only HTTP API')
    // --path is the global option (one flag for every command); say so where DESIGN lists it.
    .addHelpText('after', '\nThe resource folder inside the repository is the global --path <dir> (default "llms").')
    .option('--source <git-url-or-path>', 'Git URL or local repository to follow')
    .option('--worktree <dir>', 'serve the working-tree files of DIR (development loop)')
    .option('--branch <name>', 'branch to follow', 'main')
    .option('--listen <host:port>', 'address to serve on', '127.0.0.1:7420')
    .option('--poll <duration>', 'fetch interval', '30s')
    .option('--heartbeat-interval <duration>', 'heartbeat interval told to agents', '10s')
    .option('--ttl <duration>', 'lease TTL before a member is stale', '30s')
    .option('--gc <duration>', 'remove stale registrations after', '10m')
    .option('--state-dir <dir>', 'persist live registrations here (and keep the Git cache)')
    .option('--store <file|etcd://host:port,...>', 'where registrations live: file (--state-dir, or memory) or etcd, shared by several reconcilers', 'file')
    .option('--store-prefix <prefix>', 'etcd key prefix (with --store etcd://…; default /mcpctl/)')
    .option('--etcd-ca <file>', 'CA certificate of the etcd servers (https)')
    .option('--etcd-cert <file>', 'client certificate for etcd')
    .option('--etcd-key <file>', 'key of the client certificate for etcd')
    .option('--auth <file>', 'token file (required to listen beyond loopback)')
    .addOption(new Option('--unmanaged <mode>', 'whether agents may publish undeclared names').choices(['admit', 'reject']).default('admit'))
    .action(async (options: Omit<ReconcilerOptions, 'path'>) => {
      const { runReconcilerCommand, ReconcilerStartError } = await import('../reconciler/main.js');
      await runReconcilerCommand({ ...options, path: globalOptionsOf(program).path }).catch((error: unknown) => {
        throw error instanceof ReconcilerStartError ? new CliError(error.message) : error;
      });
    });

  program
    .command('agent')
    .description('run the agent on a GPU host: register, heartbeat, probe, deregister')
    .requiredOption('--config <file>', 'agent config file (YAML)')
    .action(async (options: AgentOptions) => {
      const { runAgentCommand, AgentStartError } = await import('../agent/main.js');
      await runAgentCommand(options).catch((error: unknown) => {
        throw error instanceof AgentStartError ? new CliError(error.message) : error;
      });
    });

  program
    .command('gateway')
    .description('run the pool gateway: one OpenAI-compatible endpoint that routes each request to a live member')
    .addHelpText('after', '\nIt follows the reconciler given by the global --server (and --token, which needs view:llms).')
    .option('--listen <host:port>', 'address to serve on', '127.0.0.1:7430')
    .option('--auth <file>', 'token file with use:llms tokens (required to listen beyond loopback)')
    .addOption(new Option('--strategy <name>', 'how a member is picked').choices(['least-load', 'round-robin']).default('least-load'))
    .option('--retries <n>', 'attempts on other members after a failure', '2')
    .option('--cooldown <duration>', 'how long a member that failed 3 times in a row gets no request', '30s')
    .option('--connect-timeout <duration>', 'longest wait for a connection to a member', '5s')
    .option('--timeout <duration>', "longest wait for a member's answer to start, and between two of its chunks", '10m')
    .option('--max-body <size>', 'largest request body', '32MiB')
    .action(async (options: Omit<GatewayOptions, 'server' | 'token'>) => {
      const { runGatewayCommand, GatewayStartError } = await import('../gateway/main.js');
      const global = globalOptionsOf(program);
      await runGatewayCommand({ ...options, server: global.server, token: global.token }).catch((error: unknown) => {
        throw error instanceof GatewayStartError ? new CliError(error.message) : error;
      });
    });

  addClientCommands(program);
  return program;
}

async function contextOf(program: Command): Promise<CommandContext> {
  const { createProcessContext } = await import('./context.js');
  return createProcessContext(globalOptionsOf(program));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--gateway a --gateway b,c` and MCPCTL_GATEWAY=a,b: every URL once, in the order given. */
function collectGateways(value: string, previous: string[] | undefined): string[] {
  // The same gateway written twice (`…/`, the OpenAI base URL `…/v1`) is asked once, not counted twice.
  const urls = value
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, '').replace(/\/v1$/, ''))
    .filter((url) => url !== '');
  return [...new Set([...(previous ?? []), ...urls])];
}

const GET_OUTPUTS = ['table', 'wide', 'yaml', 'json', 'name'] as const;
const PLAN_OUTPUTS = ['text', 'json', 'markdown'] as const;

function addClientCommands(program: Command): void {
  program
    .command('get')
    .description('list Llms or pools from the reconciler')
    .argument('<resource>', 'llm, llms, pool or pools')
    .argument('[name]', 'one Llm name or pool key')
    .addOption(new Option('-o, --output <format>', 'output format').choices(GET_OUTPUTS).default('table'))
    .option('--pool <key>', 'only members of this pool')
    .option('-w, --watch', 'after the table, print one line per change until interrupted', false)
    .option('--show-status', 'include status in -o yaml', false)
    .action(async (resource: string, name: string | undefined, o: { output: (typeof GET_OUTPUTS)[number]; pool?: string; watch: boolean; showStatus: boolean }) => {
      const { run } = await import('./commands/get.js');
      await run({ resource, name, output: o.output, pool: o.pool, watch: o.watch, showStatus: o.showStatus }, await contextOf(program));
    });

  program
    .command('describe')
    .description('show an Llm in detail, with its pool on top')
    .argument('<resource>', 'llm')
    .argument('<name>', 'Llm name')
    .action(async (resource: string, name: string) => {
      const { run } = await import('./commands/describe.js');
      await run({ resource, name }, await contextOf(program));
    });

  program
    .command('sync')
    .description('ask the reconciler to fetch now')
    .option('--wait', 'wait until the reconciler serves the newest revision', false)
    .option('--timeout <seconds>', 'how long --wait waits', '60')
    .action(async (o: { wait: boolean; timeout: string }) => {
      const { run } = await import('./commands/sync.js');
      await run({ wait: o.wait, timeoutMs: secondsOf(o.timeout, '--timeout') * 1000 }, await contextOf(program));
    });

  program
    .command('version')
    .description("print the client's version and the server's when reachable")
    .action(async () => {
      const { run } = await import('./commands/version.js');
      await run(await contextOf(program));
    });

  program
    .command('create')
    .description('declare a new Llm: writes <path>/NAME.yaml and commits')
    .argument('<resource>', 'llm')
    .argument('<name>', 'Llm name')
    .requiredOption('--type <type>', 'vllm, openai, ollama, llamacpp, tgi, anthropic or other')
    .requiredOption('--model <model>', 'model id served by the endpoint')
    .option('--url <url>', 'endpoint URL (required with --source static)')
    .option('--pool-name <pool>', 'join this pool (explicit pool key)')
    .addOption(new Option('--source <source>', 'agent (served by an agent) or static (fixed endpoint)').choices(['agent', 'static']))
    .option('--label <key=value>', 'a label (repeatable)', collect, [])
    .option('--dry-run', 'show what would be written, write nothing', false)
    .option('--no-commit', 'write the file but do not commit')
    .option('--push', 'push after committing', false)
    .option('--force', "write even if it takes a pool below its minActive (create over an existing name moves it)", false)
    .action(async (resource: string, name: string, o: { type: string; model: string; url?: string; poolName?: string; source?: string; label: string[]; dryRun: boolean; commit: boolean; push: boolean; force: boolean }) => {
      const { run } = await import('./commands/create.js');
      await run({ resource, name, type: o.type, model: o.model, url: o.url, poolName: o.poolName, source: o.source, label: o.label, dryRun: o.dryRun, noCommit: !o.commit, push: o.push, force: o.force }, await contextOf(program));
    });

  program
    .command('apply')
    .description('apply resources from files: validate, show the plan, edit the repo in place, commit')
    .requiredOption('-f, --filename <file|dir|->', 'a file, a folder or - for standard input')
    .option('--dry-run', 'show the plan, write nothing', false)
    .option('--no-commit', 'write the files but do not commit')
    .option('--push', 'push after committing', false)
    .option('--wait', 'trigger a sync and wait until the reconciler serves the new revision', false)
    .option('--timeout <seconds>', 'how long --wait waits', '60')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .option('--force', 'apply even when the plan violates a pool minActive, or the repository is not the one the reconciler follows', false)
    .action(async (o: { filename: string; dryRun: boolean; commit: boolean; push: boolean; wait: boolean; timeout: string; yes: boolean; force: boolean }) => {
      const { run } = await import('./commands/apply.js');
      const waitTimeoutMs = secondsOf(o.timeout, '--timeout') * 1000;
      await run({ filename: o.filename, dryRun: o.dryRun, noCommit: !o.commit, push: o.push, wait: o.wait, waitTimeoutMs, yes: o.yes, force: o.force }, await contextOf(program));
    });

  program
    .command('delete')
    .description('remove an Llm or an LlmPool from the repo (its document or file) and commit')
    .argument('<resource>', 'llm or pool')
    .argument('<name>', 'Llm name or pool key')
    .option('--dry-run', 'show what would change, write nothing', false)
    .option('--no-commit', 'edit the files but do not commit')
    .option('--push', 'push after committing', false)
    .option('--force', 'delete even when it violates a pool minActive', false)
    .action(async (resource: string, name: string, o: { dryRun: boolean; commit: boolean; push: boolean; force: boolean }) => {
      const { run } = await import('./commands/delete.js');
      await run({ resource, name, dryRun: o.dryRun, noCommit: !o.commit, push: o.push, force: o.force, yes: true }, await contextOf(program));
    });

  for (const verb of ['drain', 'undrain'] as const) {
    const command = program
      .command(verb)
      .description(verb === 'drain' ? 'set spec.enabled: false (a one-line commit)' : 'enable a drained Llm again (a one-line commit)')
      .argument('<resource>', 'llm')
      .argument('<name>', 'Llm name')
      .option('--dry-run', 'show what would change, write nothing', false)
      .option('--no-commit', 'edit the file but do not commit')
      .option('--push', 'push after committing', false)
      .option('--force', 'even when it violates a pool minActive', false);
    if (verb === 'drain') {
      command
        .option('--wait', 'wait until the reconciler serves the drain, then until the gateways (--gateway) have no request in flight for NAME', false)
        .option('--timeout <duration>', 'how long --wait waits in all (10m, 90s; a bare number is seconds)', '10m');
    }
    command.action(async (resource: string, name: string, o: { dryRun: boolean; commit: boolean; push: boolean; force: boolean; wait?: boolean; timeout?: string }) => {
      const { run } = await import('./commands/drain.js');
      const wait = o.wait === true ? { wait: true, waitTimeoutMs: await waitDurationOf(o.timeout ?? '10m', '--timeout') } : {};
      await run({ resource, name, drain: verb === 'drain', dryRun: o.dryRun, noCommit: !o.commit, push: o.push, force: o.force, ...wait }, await contextOf(program));
    });
  }

  program
    .command('plan')
    .description("compare the working tree's resources with the reconciler (or a Git ref, offline)")
    .option('--against <ref>', 'compare with this Git ref instead of the reconciler (for pull-request CI)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(PLAN_OUTPUTS).default('text'))
    .option('--detailed-exitcode', 'exit 2 when Llms change, 4 when a pool minActive is violated', false)
    .option('--force', 'plan even when the repository is not the one the reconciler follows', false)
    .action(async (o: { against?: string; output: (typeof PLAN_OUTPUTS)[number]; detailedExitcode: boolean; force: boolean }) => {
      const { run } = await import('./commands/plan.js');
      await run({ against: o.against, output: o.output, detailedExitcode: o.detailedExitcode, force: o.force }, await contextOf(program));
    });

  program
    .command('status')
    .description("the reconciler's source, served revision, errors and reconcile history")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: { output: 'text' | 'json' }) => {
      const { run } = await import('./commands/status.js');
      await run({ output: o.output }, await contextOf(program));
    });

  program
    .command('tui')
    .description('interactive pools, members, plan and apply (also bare `mcpctl` on a terminal)')
    .option('--force', 'plan and apply even when the repository is not the one the reconciler follows', false)
    .action(async (o: { force: boolean }) => {
      const ctx = await contextOf(program);
      // Ink prints only its last frame when CI is set (is-in-ci, read when Ink loads). On a
      // terminal someone is watching the TUI is live whatever the environment says.
      if (ctx.interactive) {
        delete process.env['CI'];
        delete process.env['CONTINUOUS_INTEGRATION'];
      }
      const { runTui } = await import('./tui/run.js');
      await runTui(ctx, { force: o.force });
    });

  program
    .command('demo')
    .description('run a local demo: a reconciler on a Git repo of examples/llms, two agents sharing a pool, and a gateway to the pools')
    .option('--listen <host:port>', 'reconciler address', '127.0.0.1:7420')
    .option('--gateway-listen <host:port>', 'gateway address (OpenAI-compatible, at /v1)', '127.0.0.1:7430')
    .option('--examples <dir>', 'resource files to start the demo repository with', fileURLToPath(new URL('../../examples/llms', import.meta.url)))
    .option('--ha', 'two reconcilers sharing a local etcd (needs the etcd binary), the agents listing both', false)
    .option('--second-listen <host:port>', 'with --ha: the second reconciler\'s address', '127.0.0.1:7421')
    .action(async (o: { listen: string; gatewayListen: string; examples: string; ha: boolean; secondListen: string }) => {
      const { run } = await import('./commands/demo.js');
      await run({ listen: o.listen, gatewayListen: o.gatewayListen, examples: o.examples, ha: o.ha, secondListen: o.secondListen }, await contextOf(program));
    });

  program
    .command('completion')
    .description('print a shell completion script (generated from the command tree)')
    .argument('<shell>', 'bash, zsh or fish')
    .action(async (shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh' && shell !== 'fish') throw new CliError(`completion: expected bash, zsh or fish, found ${JSON.stringify(shell)}`);
      const { renderCompletion } = await import('./completion.js');
      process.stdout.write(renderCompletion(shell, program));
    });

  // Dynamic words for the completion scripts: Llm names and pool keys from the repository's files.
  program
    .command('__complete', { hidden: true })
    .argument('<what>', 'llms or pools')
    .action(async (what: string) => {
      const { listNamesForCompletion } = await import('./commands/complete.js');
      process.stdout.write(await listNamesForCompletion(what, globalOptionsOf(program)));
    });
}

function secondsOf(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${flag}: expected a number of seconds, found ${JSON.stringify(value)}`);
  return n;
}

/** A duration (`10m`, `90s`, `1m30s`) or, as `apply --timeout` takes, a number of seconds. */
async function waitDurationOf(value: string, flag: string): Promise<number> {
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return secondsOf(value, flag) * 1000;
  const { parseDuration } = await import('../service/durations.js');
  let ms: number;
  try {
    ms = parseDuration(value, flag);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (ms <= 0) throw new CliError(`${flag}: must be longer than 0`);
  return ms;
}

export function globalOptionsOf(program: Command): GlobalOptions {
  const o = program.opts<{ server: string; token?: string; gateway?: string[]; gatewayToken?: string; repo?: string; path: string; debug: boolean }>();
  return { server: o.server, token: o.token, gateways: o.gateway ?? [], gatewayToken: o.gatewayToken, repo: o.repo, path: o.path, debug: o.debug };
}

/** Runs the command line; resolves to the exit code. */
export async function runProgram(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Bare `mcpctl` on a terminal opens the TUI; elsewhere it prints help.
  if (argv.length === 2 && process.stdin.isTTY === true && process.stdout.isTTY === true) argv = [...argv, 'tui'];
  else if (argv.length === 2) {
    // Off a terminal, as kubectl does: the help on stdout (it was asked for, not an error), exit 0.
    program.outputHelp();
    return EXIT.ok;
  }
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
