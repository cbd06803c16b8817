// A one-member etcd on free loopback ports, started from the `etcd` binary (Debian package
// etcd-server) in a data folder of the caller's: what `mcpctl demo --ha` and `npm run bench -- ha`
// run their reconcilers on. Not for production: a real fleet runs a three-member cluster.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { findFreePort } from './serve.js';

/** One line a user can paste when the binary is missing. */
export const ETCD_INSTALL_HINT = 'etcd is not installed: apt-get install etcd-server (Debian/Ubuntu), brew install etcd (macOS), or https://etcd.io/docs/latest/install/';

export interface LocalEtcd {
  /** `127.0.0.1:PORT`, as --store etcd:// takes it. */
  endpoint: string;
  /** `http://127.0.0.1:PORT`. */
  clientUrl: string;
  /** etcd itself; with stopWithParent, the node process that runs it (signals reach etcd through it). */
  child: ChildProcess;
  /** What it printed last (its log level is warn), for an error message. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Whether `bin --version` runs. */
export function isEtcdInstalled(bin = 'etcd'): boolean {
  return spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Run by `node -e` between the caller and etcd when `stopWithParent` is set: etcd cannot notice
 * that whoever started it died (a demo killed with SIGKILL), so this does, as the demo's other
 * children do (cli/parent-watch.ts). It gives them PARENT_GONE_GRACE_MS to shut down through etcd
 * (agents deregister) before it stops etcd; SIGTERM stops etcd at once.
 */
const SUPERVISOR = `
const { spawn } = require('node:child_process');
const [bin, ...args] = process.argv.slice(1);
const parentPid = Number(process.env.MCPCTL_ETCD_PARENT_PID);
const etcd = spawn(bin, args, { stdio: 'inherit' });
etcd.on('exit', (code, signal) => process.exit(code ?? 1));
etcd.on('error', (error) => { console.error(error.message); process.exit(127); });
const stop = () => etcd.kill('SIGTERM');
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, stop);
const timer = setInterval(() => {
  if (process.ppid === parentPid) return;
  clearInterval(timer);
  setTimeout(stop, 5000);
}, 500);
`;

/** Starts etcd with its data under `dir` and waits until /health says true (at most `readyMs`). */
export async function startLocalEtcd(
  dir: string,
  options: { bin?: string; readyMs?: number; detached?: boolean; stopWithParent?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<LocalEtcd> {
  const clientUrl = `http://127.0.0.1:${await findFreePort()}`;
  const peerUrl = `http://127.0.0.1:${await findFreePort()}`;
  const bin = options.bin ?? 'etcd';
  const env = options.env ?? process.env;
  const supervised = options.stopWithParent === true;
  const child = spawn(
    supervised ? process.execPath : bin,
    [
      ...(supervised ? ['-e', SUPERVISOR, bin] : []),
      '--name', 'local',
      '--data-dir', path.join(dir, 'etcd'),
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `local=${peerUrl}`,
      // The revision history a watch may resume from; older revisions are compacted away.
      '--auto-compaction-mode', 'periodic',
      '--auto-compaction-retention', '5m',
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false, env: supervised ? { ...env, MCPCTL_ETCD_PARENT_PID: String(process.pid) } : env },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const etcd: LocalEtcd = {
    endpoint: clientUrl.replace('http://', ''),
    clientUrl,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.readyMs ?? 30_000);
  for (;;) {
    const failed = await Promise.race([spawnError, new Promise<null>((resolve) => setTimeout(() => resolve(null), 100))]);
    if (failed !== null) throw new Error(`cannot start etcd: ${failed.message}`);
    if (child.exitCode !== null) throw new Error(`etcd exited with code ${child.exitCode}: ${output.trim()}`);
    const health = await fetch(`${clientUrl}/health`)
      .then((response) => response.json() as Promise<{ health?: string }>)
      .catch(() => null);
    if (health?.health === 'true') return etcd;
    if (Date.now() > deadline) {
      await etcd.stop();
      throw new Error(`etcd on ${clientUrl} did not answer /health within ${(options.readyMs ?? 30_000) / 1000} s: ${output.trim()}`);
    }
  }
}

/** etcd's current revision (the header of a status call through its HTTP gateway). */
export async function readEtcdRevision(clientUrl: string): Promise<number> {
  const response = await fetch(`${clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' });
  if (!response.ok) throw new Error(`etcd status: HTTP ${response.status}`);
  const body = (await response.json()) as { header?: { revision?: string } };
  const revision = Number(body.header?.revision);
  if (!Number.isFinite(revision)) throw new Error('etcd status: no header revision in the answer');
  return revision;
}
