// `mcpctl agent --config FILE`: loads the config, runs the agent loop, reloads the config when
// the file changes, and deregisters on SIGTERM/SIGINT.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { VERSION } from '../schema/version.js';
import { waitForStopSignal } from '../service/serve.js';
import { startAgent, type AgentDeps, type RunningAgent } from './agent.js';
import { loadAgentConfig, serversOf, type AgentConfigDeps, type AgentSettings } from './config.js';
import { watchAgentConfig } from './config-watcher.js';
import { createGpuReader } from './gpus.js';
import { createHealthProber } from './health-probe.js';
import { createLineLog, type Log } from './log.js';
import { createReconcilerClient } from './reconciler-client.js';

/** The options of `mcpctl agent`, as the command line gives them. */
export interface AgentOptions {
  config: string;
}

/** The agent could not start (a bad config); one line per problem. The CLI maps it to exit 1. */
export class AgentStartError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
    this.name = 'AgentStartError';
  }
}

export interface AgentServiceDeps extends Partial<AgentConfigDeps>, Partial<Omit<AgentDeps, 'log'>> {
  log: Log;
  configDebounceMs?: number;
}

export interface AgentService {
  readonly settings: AgentSettings;
  readonly agent: RunningAgent;
  /** Resolves once the config watcher listens. */
  readonly watching: Promise<void>;
  stop(): Promise<void>;
}

export type AgentServiceStart = { ok: true; service: AgentService } | { ok: false; errors: string[] };

/** Loads `configFile`, starts the agent and a watcher that hands valid edits to it. */
export async function startAgentService(configFile: string, deps: AgentServiceDeps): Promise<AgentServiceStart> {
  const configDeps: AgentConfigDeps = {
    readFile: deps.readFile ?? ((path) => readFile(path, 'utf8')),
    hostname: deps.hostname ?? hostname,
  };
  const loaded = await loadAgentConfig(configFile, configDeps);
  if (!loaded.ok) return { ok: false, errors: loaded.errors };
  const log = deps.log;
  const agent = startAgent(loaded.config, {
    createClient: deps.createClient ?? ((s) => createReconcilerClient({ server: s.server, token: s.token })),
    prober: deps.prober ?? createHealthProber(),
    gpus: deps.gpus ?? createGpuReader({ log }),
    log,
    host: deps.host ?? hostname(),
    version: deps.version ?? VERSION,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.random === undefined ? {} : { random: deps.random }),
    ...(deps.backoff === undefined ? {} : { backoff: deps.backoff }),
    ...(deps.deregisterTimeoutMs === undefined ? {} : { deregisterTimeoutMs: deps.deregisterTimeoutMs }),
  });
  let current = loaded.config;
  const watch = watchAgentConfig({
    file: configFile,
    ...(deps.configDebounceMs === undefined ? {} : { debounceMs: deps.configDebounceMs }),
    load: () => loadAgentConfig(configFile, configDeps),
    onValid(config) {
      current = config;
      agent.updateConfig(config);
    },
    onInvalid(errors) {
      // One line: the first problem with its place, and how many more there are.
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
      log(`config not reloaded, keeping the running config: ${errors[0] ?? 'unknown error'}${more}`);
    },
    onWatchError(message) {
      log(`cannot watch ${configFile} for changes: ${message}`);
    },
  });
  return {
    ok: true,
    service: {
      get settings() {
        return current;
      },
      agent,
      watching: watch.ready,
      async stop() {
        await watch.close();
        await agent.stop();
      },
    },
  };
}

export async function runAgentCommand(options: AgentOptions): Promise<void> {
  const log = createLineLog(process.stderr);
  const started = await startAgentService(options.config, { log });
  if (!started.ok) throw new AgentStartError(started.errors);
  const { service } = started;
  const { settings } = service;
  log(`agent ${settings.agentId} started (mcpctl ${VERSION}, config ${options.config}, ${describeServers(serversOf(settings))}, ${settings.providers.length} provider(s))`);
  const signal = await waitForStopSignal();
  log(`${signal} received; stopping`);
  await service.stop();
}

/** `reconciler URL` for one, `reconcilers URL, URL` (in the order they are tried) for several. */
function describeServers(servers: readonly string[]): string {
  return servers.length === 1 ? `reconciler ${servers[0] ?? ''}` : `reconcilers ${servers.join(', ')}`;
}
