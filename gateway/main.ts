// `mcpctl gateway`: validates the options, follows the reconciler, serves the OpenAI-compatible
// endpoint, logs one line when ready, and shuts down cleanly on SIGTERM/SIGINT (in-flight
// requests finish; the listener closes first, so a load balancer moves on).
import { ReconcilerClient } from '../client/reconciler-client.js';
import { loadAuthFile, type AuthConfig } from '../service/auth.js';
import { parseDuration } from '../service/durations.js';
import { formatUrl, isLoopbackHost, parseListenAddress, type ListenAddress } from '../service/listen-address.js';
import { listenOn, waitForStopSignal } from '../service/serve.js';
import { parseSize } from '../service/sizes.js';
import { ReconcilerFollower } from './reconciler-follower.js';
import { STRATEGIES, type Strategy } from './routing.js';
import type { ProxySettings } from './proxy.js';

/** The options of `mcpctl gateway`, as the command line gives them. */
export interface GatewayOptions {
  /** The reconciler to follow (the global --server). */
  server: string;
  /** Its bearer token (the global --token): needs view:llms when the reconciler has --auth. */
  token?: string | undefined;
  listen: string;
  auth?: string;
  strategy: string;
  retries: string;
  cooldown: string;
  connectTimeout: string;
  timeout: string;
  maxBody: string;
}

/** Options that are unsafe or wrong, or a start that failed (listen): one line. The CLI maps it to exit 1. */
export class GatewayStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayStartError';
  }
}

interface Settings {
  listen: ListenAddress;
  proxy: ProxySettings;
  connectTimeoutMs: number;
  maxBodyBytes: number;
}

export async function runGatewayCommand(options: GatewayOptions): Promise<void> {
  const settings = readSettings(options);
  let auth: AuthConfig | null = null;
  if (options.auth !== undefined) {
    try {
      auth = await loadAuthFile(options.auth);
    } catch (error) {
      throw new GatewayStartError(`--auth: ${(error as Error).message}`);
    }
  } else if (!isLoopbackHost(settings.listen.host)) {
    throw new GatewayStartError(`refusing to listen on ${options.listen} without --auth: only loopback addresses (127.0.0.1, ::1, localhost) may serve without tokens`);
  }
  try {
    new URL(options.server);
  } catch {
    throw new GatewayStartError(`--server: expected the reconciler's http(s) URL, found ${JSON.stringify(options.server)}`);
  }

  // Loaded once the options are known good: a bad flag answers at once, without fastify and undici.
  const [{ Agent }, { buildGateway }] = await Promise.all([import('undici'), import('./app.js')]);
  let log: (level: 'info' | 'warn', line: string) => void = (_level, line) => process.stderr.write(`${line}\n`);
  const follower = new ReconcilerFollower({ reconciler: new ReconcilerClient({ server: options.server, token: options.token }), log: (level, line) => log(level, line) });
  // One keep-alive connection pool per member origin (undici's Agent keeps a Pool per origin).
  const dispatcher = new Agent({ connect: { timeout: settings.connectTimeoutMs }, keepAliveTimeout: 30_000, connections: 256 });
  const { app } = await buildGateway({
    routes: () => follower.routes(),
    readiness: () => follower.readiness(),
    dispatcher,
    settings: settings.proxy,
    maxBodyBytes: settings.maxBodyBytes,
    auth,
    logger: { level: 'info', stream: process.stderr },
    processMetrics: true,
  });
  log = (level, line) => app.log[level](line);
  follower.start();
  await app.ready();
  const address = await listenOn(app.server, settings.listen).catch((error: NodeJS.ErrnoException) => {
    throw new GatewayStartError(`cannot listen on ${options.listen}: ${error.code ?? error.message}`);
  });
  app.log.info(`mcpctl gateway serving ${formatUrl(settings.listen.host, address.port)}/v1 (reconciler: ${options.server}, strategy: ${settings.proxy.strategy})`);
  if (auth === null) app.log.warn('no --auth: serving on loopback only, without tokens');

  await waitForStopSignal();
  app.log.info('shutting down');
  await app.close();
  await follower.close();
  await dispatcher.close();
}

function readSettings(options: GatewayOptions): Settings {
  try {
    if (!(STRATEGIES as readonly string[]).includes(options.strategy)) throw new Error(`--strategy: expected ${STRATEGIES.join(' or ')}, found ${JSON.stringify(options.strategy)}`);
    if (!/^\d+$/.test(options.retries.trim())) throw new Error(`--retries: expected a whole number such as 2, found ${JSON.stringify(options.retries)}`);
    const timeoutMs = parseDuration(options.timeout, '--timeout');
    const connectTimeoutMs = parseDuration(options.connectTimeout, '--connect-timeout');
    if (timeoutMs <= 0) throw new Error('--timeout: must be longer than 0');
    if (connectTimeoutMs <= 0) throw new Error('--connect-timeout: must be longer than 0');
    return {
      listen: parseListenAddress(options.listen),
      proxy: { strategy: options.strategy as Strategy, retries: Number(options.retries), cooldownMs: parseDuration(options.cooldown, '--cooldown'), timeoutMs },
      connectTimeoutMs,
      maxBodyBytes: parseSize(options.maxBody, '--max-body'),
    };
  } catch (error) {
    throw new GatewayStartError((error as Error).message);
  }
}
