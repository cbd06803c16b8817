// Real processes for the end-to-end tests: `node dist/cli/bin.js …` children whose output is kept,
// one-shot CLI runs, Git in temp folders, and checks that no process is left behind.
// Run `npx tsc -p tsconfig.json` first: these tests start the built CLI.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';

export const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

/** A hermetic environment: no colour, no inherited MCPCTL_* settings, a Git identity for commits. */
export function buildTestEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('MCPCTL_') || key.startsWith('GIT_')) delete env[key];
  return {
    ...env,
    NO_COLOR: '1',
    GIT_AUTHOR_NAME: 'e2e',
    GIT_AUTHOR_EMAIL: 'e2e@mcpctl.invalid',
    GIT_COMMITTER_NAME: 'e2e',
    GIT_COMMITTER_EMAIL: 'e2e@mcpctl.invalid',
    // Never let a user's or the machine's Git config (hooks, signing, templates) into the test.
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  };
}

export interface Child {
  args: string[];
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(signal: NodeJS.Signals): void;
}

const running = new Set<Child>();

/** Starts `mcpctl ARGS` as a long-running child (reconciler, agent, demo, `get -w`). */
/** `group`: the child leads its own process group, so that a signal can go to the group as a terminal's Ctrl-C does. */
export function startMcpctl(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; group?: boolean }): Child {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.group ?? false });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const handle: Child = {
    args,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** SIGKILLs every child still running: for afterEach/afterAll, so a failed test leaves nothing behind. */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const c of left) c.signal('SIGKILL');
  await Promise.all(left.map((c) => c.exited));
}

/** What each child still running printed, for a failed test's log. */
export function describeRunning(): string {
  return [...running].map((c) => `--- mcpctl ${c.args.join(' ')}\n${c.stdout()}${c.stderr()}`).join('\n');
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one `mcpctl` command to its end (asynchronously: other children keep being read meanwhile). */
export function runMcpctl(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(new Error(`mcpctl ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** Runs git; rejects with its stderr when it fails. */
export function runGit(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`git ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The direct children of a process (`ps` works on Linux and macOS alike). */
export function listChildPids(parent: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile('ps', ['-A', '-o', 'pid=,ppid='], (error, stdout) => {
      if (error !== null) return reject(error);
      const pids: number[] = [];
      for (const line of stdout.split('\n')) {
        const [pid, ppid] = line.trim().split(/\s+/).map(Number);
        if (ppid === parent && pid !== undefined && Number.isInteger(pid)) pids.push(pid);
      }
      resolve(pids);
    });
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export { waitFor };

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
