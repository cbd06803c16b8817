// What every command gets: global options, output streams, colour, the clock and the HTTP client.
import { GatewayClient, type GatewayApi } from '../client/gateway-client.js';
import { ReconcilerClient, type ReconcilerApi } from '../client/reconciler-client.js';
import { cliErrorOf } from './errors.js';

/** The options every command takes (`--server`, `--token`, `--gateway`, `--gateway-token`, `--repo`, `--path`, `--debug`), normalised. */
export interface GlobalOptions {
  server: string;
  token: string | undefined;
  /** Pool gateways to ask for requests in flight (--gateway, MCPCTL_GATEWAY), each once, in the order given; none when empty. */
  gateways: string[];
  /** --gateway-token (MCPCTL_GATEWAY_TOKEN); undefined: the gateways get --token. */
  gatewayToken?: string | undefined;
  repo: string | undefined;
  path: string;
  debug: boolean;
}

export interface CommandContext {
  global: GlobalOptions;
  out(text: string): void;
  err(text: string): void;
  color: boolean;
  now(): number;
  client(): ReconcilerApi;
  /** One client per known gateway (none without --gateway), with the CLI's errors. */
  gateways(): GatewayApi[];
  readStdin(): Promise<string>;
  interactive: boolean;
  confirm(question: string): Promise<boolean>;
}

/** Colour only on a TTY and never with NO_COLOR set (https://no-color.org). */
export function shouldColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}

export function createProcessContext(global: GlobalOptions): CommandContext {
  return {
    global,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    color: shouldColor(process.stdout, process.env),
    now: () => Date.now(),
    client: () => withCliErrors(new ReconcilerClient({ server: global.server, token: global.token })),
    // A gateway with --auth takes the same token file format (use:llms or view:llms): --token serves
    // both unless the gateways have a token of their own, which the reconciler then never sees.
    gateways: () => global.gateways.map((gateway) => withGatewayCliErrors(new GatewayClient({ gateway, token: global.gatewayToken ?? global.token }))),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    confirm: async (question) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        const answer = await rl.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
  };
}

/**
 * The headless client with its errors turned into the CLI's (cliErrorOf): the same lines, exit 3
 * when the reconciler cannot be reached, so commands and the TUI see CLI errors only.
 */
export function withCliErrors(client: ReconcilerApi): ReconcilerApi {
  const mapped = <T>(answer: Promise<T>): Promise<T> =>
    answer.catch((error: unknown) => {
      throw cliErrorOf(error);
    });
  return {
    server: client.server,
    listLlms: (pool) => mapped(client.listLlms(pool)),
    getLlm: (name) => mapped(client.getLlm(name)),
    members: (name) => mapped(client.members(name)),
    listPools: () => mapped(client.listPools()),
    status: () => mapped(client.status()),
    health: () => mapped(client.health()),
    sync: () => mapped(client.sync()),
    declared: () => mapped(client.declared()),
    watch: (onEvent, signal) => mapped(client.watch(onEvent, signal)),
  };
}

/** A gateway client whose errors are the CLI's (exit 3 when it cannot be reached). */
export function withGatewayCliErrors(client: GatewayApi): GatewayApi {
  return {
    gateway: client.gateway,
    state: () =>
      client.state().catch((error: unknown) => {
        throw cliErrorOf(error);
      }),
  };
}
