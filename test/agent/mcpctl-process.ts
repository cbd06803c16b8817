// Starts `node dist/cli/bin.js …` as a real child process, keeps its output, and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

export interface McpctlProcess {
  args: string[];
  child: ChildProcess;
  /** stdout and stderr together, as printed so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

const running = new Set<McpctlProcess>();

/** Starts mcpctl with `args`; `env` adds to (or overrides) this process's environment. */
export function startMcpctl(args: string[], env: NodeJS.ProcessEnv = {}): McpctlProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const proc: McpctlProcess = {
    args,
    child,
    output: () => text,
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** Every process started and still running. */
export function allMcpctl(): McpctlProcess[] {
  return [...running];
}

/** Kills every process still running (SIGKILL) except those kept, for afterEach/afterAll. */
export async function killAllMcpctl(...keep: (McpctlProcess | undefined)[]): Promise<void> {
  const left = [...running].filter((p) => !keep.includes(p));
  for (const proc of left) proc.kill('SIGKILL');
  await Promise.all(left.map((p) => p.exited));
}

/** Waits for the reconciler's ready line and returns the base URL it serves. */
export async function waitForServingUrl(proc: McpctlProcess, timeoutMs = 15_000): Promise<string> {
  return waitFor(
    'the reconciler to say where it serves',
    () => {
      if (proc.child.exitCode !== null) throw new Error(`the reconciler exited with ${proc.child.exitCode}: ${proc.output()}`);
      return /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.output())?.[1];
    },
    timeoutMs,
  );
}
