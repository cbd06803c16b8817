// `mcpctl reconciler`: validates the options, wires source → desired state → leases →
// effective state → HTTP, listens, logs one line when ready, and shuts down cleanly on
// SIGTERM/SIGINT (persist, stop the sources, close the listeners).
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './app.js';
import { loadAuthFile, type AuthConfig } from '../service/auth.js';
import type { DesiredSource } from './desired-state-api.js';
import { DesiredState } from './desired-state.js';
import { parseDuration } from '../service/durations.js';
import { EtcdLeaseStore, type EtcdTls } from './etcd-lease-store.js';
import { FleetRevision } from './fleet-revision.js';
import type { ReconcileAttempt } from '../schema/views.js';
import { FileLeaseStore } from './file-lease-store.js';
import type { LeaseStore } from './lease-store.js';
import { GitSource } from './git-source.js';
import type { UnmanagedMode } from './leases.js';
import { formatUrl, isLoopbackHost, parseListenAddress, type ListenAddress } from '../service/listen-address.js';
import { listenOn, waitForStopSignal } from '../service/serve.js';
import { createServices } from './services.js';
import { StaticProber } from './static-prober.js';
import { WorktreeSource } from './worktree-source.js';

/** The options of `mcpctl reconciler`, as the command line gives them. */
export interface ReconcilerOptions {
  source?: string;
  worktree?: string;
  branch: string;
  /** The global --path: the resource folder inside the repository. */
  path: string;
  listen: string;
  poll: string;
  heartbeatInterval: string;
  ttl: string;
  gc: string;
  stateDir?: string;
  auth?: string;
  unmanaged: string;
  /** `file` (the default: --state-dir, or memory) or `etcd://HOST:PORT[,HOST:PORT…]`. */
  store?: string;
  storePrefix?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

/** Options that are unsafe or wrong, or a start that failed (restore, listen): one line. The CLI maps it to exit 1. */
export class ReconcilerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcilerStartError';
  }
}

interface Settings {
  listen: ListenAddress;
  pollMs: number;
  heartbeatIntervalMs: number;
  ttlMs: number;
  gcMs: number;
  unmanaged: UnmanagedMode;
  /** Null: the file store (--state-dir) or memory. */
  etcd: { endpoints: string[]; prefix: string } | null;
}

export async function runReconcilerCommand(options: ReconcilerOptions): Promise<void> {
  const settings = readSettings(options);
  if (options.worktree !== undefined) {
    const info = await stat(options.worktree).catch(() => null);
    if (info === null || !info.isDirectory()) throw new ReconcilerStartError(`--worktree: ${options.worktree} is not a folder`);
  }
  const tls = settings.etcd === null ? undefined : await readEtcdTls(options);
  let auth: AuthConfig | null = null;
  if (options.auth !== undefined) {
    try {
      auth = await loadAuthFile(options.auth);
    } catch (error) {
      throw new ReconcilerStartError(`--auth: ${(error as Error).message}`);
    }
  } else if (!isLoopbackHost(settings.listen.host)) {
    throw new ReconcilerStartError(
      `refusing to listen on ${options.listen} without --auth: only loopback addresses (127.0.0.1, ::1, localhost) may serve without tokens`,
    );
  }

  // The Git mirror lives in the state dir when there is one, else in a temp folder removed on exit.
  let tempCacheDir: string | null = null;
  let source: DesiredSource;
  let gitSource: GitSource | null = null;
  if (options.worktree !== undefined) {
    source = new WorktreeSource({ dir: options.worktree, path: options.path });
  } else {
    const cacheDir = options.stateDir !== undefined ? join(options.stateDir, 'git-cache') : (tempCacheDir = await mkdtemp(join(tmpdir(), 'mcpctl-git-')));
    source = gitSource = new GitSource({ source: options.source ?? '', branch: options.branch, path: options.path, cacheDir });
  }

  let log: (level: 'info' | 'warn' | 'error', line: string) => void = (_level, line) => process.stderr.write(`${line}\n`);
  let store: LeaseStore | undefined;
  // With etcd and Git, one revision for the fleet: the leader reads Git, every reconciler serves
  // what it accepted. A --worktree is a development loop: each reconciler reads its own files.
  let fleet: FleetRevision | null = null;
  if (settings.etcd !== null) {
    const etcdStore = new EtcdLeaseStore({ ...settings.etcd, reviveAfterMs: settings.ttlMs, ...(tls === undefined ? {} : { tls }), onError: (error) => log('error', `etcd store: ${error.message}`), onRecovered: (line) => log('info', `etcd store: ${line}`) });
    store = etcdStore;
    if (gitSource !== null) {
      fleet = new FleetRevision({
        ...settings.etcd,
        ...(tls === undefined ? {} : { tls }),
        source: gitSource,
        pollMs: settings.pollMs,
        leaderTtlSeconds: Math.max(1, Math.floor(settings.ttlMs / 1000)),
        reconcilerId: etcdStore.reconcilerId,
        log: (line, level) => log(level, line),
      });
    }
  } else if (options.stateDir !== undefined) {
    store = new FileLeaseStore({ dir: options.stateDir, onError: (error) => log('error', `cannot write the lease file: ${error.message}`) });
  }
  const desired = fleet ?? new DesiredState({ source, pollMs: settings.pollMs, log: (line, level) => log(level, line) });
  const services = createServices({
    desired,
    ...(store === undefined ? {} : { store }),
    ttlMs: settings.ttlMs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    gcMs: settings.gcMs,
    unmanaged: settings.unmanaged,
    processMetrics: true,
    // The reconciler that reads Git for the fleet: its URL once it listens, else its id.
    leader: () => {
      const leader = fleet?.leader() ?? null;
      return leader === null ? null : (leader.url ?? leader.id);
    },
    onError: (error) => log('error', error.message),
  });
  const app = await buildApp({ services, auth, logger: { level: 'info', stream: process.stderr } });
  log = (level, line) => app.log[level](line);

  try {
    await services.start();
  } catch (error) {
    await store?.close().catch(() => {});
    const from = settings.etcd === null ? '--state-dir' : `--store ${options.store ?? ''}`;
    throw new ReconcilerStartError(`cannot restore leases from ${from}: ${(error as Error).message}`);
  }
  let first: ReconcileAttempt;
  try {
    first = await desired.start();
  } catch (error) {
    if (fleet === null) throw error;
    await fleet.stop().catch(() => {});
    await services.stop().catch(() => {});
    throw new ReconcilerStartError(`cannot read the fleet's revision from --store ${options.store ?? ''}: ${(error as Error).message}`);
  }
  const prober = new StaticProber({ declared: services.declared, report: (name, probe) => services.state.setProbe(name, probe), intervalMs: settings.pollMs });
  prober.start();
  const stopProbeTrigger = desired.onChange(() => void prober.probeAll());

  await app.ready();
  const address = await listenOn(app.server, settings.listen).catch((error: NodeJS.ErrnoException) => {
    throw new ReconcilerStartError(`cannot listen on ${options.listen}: ${error.code ?? error.message}`);
  });
  const url = formatUrl(settings.listen.host, address.port);
  await fleet?.advertise(url);
  const served = desired.current();
  const revisionText = served === null ? `no good revision yet (${first.errors.length} error(s), see /api/v1/status)` : `revision ${served.revision}`;
  app.log.info(`mcpctl reconciler serving ${url} (source: ${source.description}, ${revisionText})`);
  if (auth === null) app.log.warn('no --auth: serving on loopback only, without tokens');

  await waitForStopSignal();
  app.log.info('shutting down');
  stopProbeTrigger();
  await app.close();
  await prober.stop();
  await desired.stop();
  await services.stop();
  if (tempCacheDir !== null) await rm(tempCacheDir, { recursive: true, force: true });
}

function readSettings(options: ReconcilerOptions): Settings {
  if ((options.source === undefined) === (options.worktree === undefined)) {
    throw new ReconcilerStartError('give exactly one of --source GIT_URL|REPO_PATH or --worktree DIR');
  }
  try {
    const settings: Settings = {
      listen: parseListenAddress(options.listen),
      pollMs: parseDuration(options.poll, '--poll'),
      heartbeatIntervalMs: parseDuration(options.heartbeatInterval, '--heartbeat-interval'),
      ttlMs: parseDuration(options.ttl, '--ttl'),
      gcMs: parseDuration(options.gc, '--gc'),
      unmanaged: parseUnmanaged(options.unmanaged),
      etcd: parseStore(options),
    };
    if (settings.pollMs <= 0) throw new Error('--poll: must be longer than 0');
    if (settings.heartbeatIntervalMs <= 0) throw new Error('--heartbeat-interval: must be longer than 0');
    if (settings.ttlMs <= settings.heartbeatIntervalMs) {
      throw new Error(`--ttl (${options.ttl}) must be longer than --heartbeat-interval (${options.heartbeatInterval}), or every agent turns stale between beats`);
    }
    if (settings.gcMs < settings.ttlMs) throw new Error(`--gc (${options.gc}) must not be shorter than --ttl (${options.ttl})`);
    return settings;
  } catch (error) {
    throw new ReconcilerStartError((error as Error).message);
  }
}

function parseStore(options: ReconcilerOptions): Settings['etcd'] {
  const store = options.store ?? 'file';
  const prefix = options.storePrefix ?? '/mcpctl/';
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new Error(`--store-prefix: expected a key prefix that starts and ends with /, such as /mcpctl/, found ${JSON.stringify(prefix)}`);
  const tlsGiven = options.etcdCa !== undefined || options.etcdCert !== undefined || options.etcdKey !== undefined;
  if (store === 'file') {
    if (tlsGiven) throw new Error('--etcd-ca, --etcd-cert and --etcd-key need --store etcd://HOST:PORT');
    if (options.storePrefix !== undefined) throw new Error('--store-prefix needs --store etcd://HOST:PORT');
    return null;
  }
  const endpoints = store.startsWith('etcd://') ? store.slice('etcd://'.length).split(',') : [];
  const valid = endpoints.length > 0 && endpoints.every((endpoint) => {
    const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(endpoint);
    return match !== null && Number(match[2]) > 0 && Number(match[2]) < 65536;
  });
  if (!valid) throw new Error(`--store: expected file or etcd://HOST:PORT[,HOST:PORT…], found ${JSON.stringify(store)}`);
  if ((options.etcdCert === undefined) !== (options.etcdKey === undefined)) throw new Error('--etcd-cert and --etcd-key go together (a client certificate and its key)');
  if (options.etcdCert !== undefined && options.etcdCa === undefined) throw new Error('--etcd-cert needs --etcd-ca (the CA that signed the etcd server certificate)');
  return { endpoints, prefix };
}

/** The TLS files of --etcd-ca/--etcd-cert/--etcd-key, read now so a bad path stops the start with its flag. */
async function readEtcdTls(options: ReconcilerOptions): Promise<EtcdTls | undefined> {
  if (options.etcdCa === undefined) return undefined;
  const read = async (flag: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new ReconcilerStartError(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  const tls: EtcdTls = { ca: await read('--etcd-ca', options.etcdCa) };
  if (options.etcdCert !== undefined) tls.cert = await read('--etcd-cert', options.etcdCert);
  if (options.etcdKey !== undefined) tls.key = await read('--etcd-key', options.etcdKey);
  return tls;
}

function parseUnmanaged(value: string): UnmanagedMode {
  if (value === 'admit' || value === 'reject') return value;
  throw new Error(`--unmanaged: expected admit or reject, found ${JSON.stringify(value)}`);
}
