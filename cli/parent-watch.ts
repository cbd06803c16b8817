// Parent-death detection for the processes `mcpctl demo` starts. A demo killed hard (SIGKILL, or a
// crash) cannot stop its children, so each child watches its parent: once the parent is gone it
// sends itself SIGTERM, and the command's own shutdown path runs (agents deregister, the reconciler
// persists its leases and releases its port). Keyed off the environment so that only the demo's
// children get it; a reconciler or agent started by hand or by systemd never does.
import { rmSync } from 'node:fs';

/** The pid of the process that started this one; set by `mcpctl demo` for its children. */
export const PARENT_PID_ENV = 'MCPCTL_PARENT_PID';
/** A folder of the parent's that this child removes on its way out when the parent died first. */
export const PARENT_DIR_ENV = 'MCPCTL_PARENT_DIR';

const POLL_MS = 500;
/** After its SIGTERM, how long the child may take to shut down before it exits anyway. */
const SHUTDOWN_MS = 10_000;

/** Starts watching the parent named in the environment, if any; does nothing otherwise. */
export function watchParentFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  const text = env[PARENT_PID_ENV];
  if (text === undefined) return;
  const parentPid = Number(text);
  const dir = env[PARENT_DIR_ENV];
  // Not for the processes this one starts (Git, say): they have a parent of their own.
  delete env[PARENT_PID_ENV];
  delete env[PARENT_DIR_ENV];
  if (!Number.isInteger(parentPid) || parentPid <= 0) return;
  const timer = setInterval(() => {
    if (isParentAlive(parentPid)) return;
    clearInterval(timer);
    onParentGone(dir);
  }, POLL_MS);
  // The watch alone must not keep a finished command alive.
  timer.unref();
}

/**
 * True while `parentPid` is this process's parent. A dead parent's children are re-parented at once
 * (to init or a subreaper), so the ppid check catches a parent that is gone even while it is still a
 * zombie, which `kill(pid, 0)` would report alive, and a recycled pid.
 */
export function isParentAlive(parentPid: number): boolean {
  return process.ppid === parentPid;
}

function onParentGone(dir: string | undefined): void {
  // The parent read this process's stdout and stderr: a log line now would fail with EPIPE, and an
  // unhandled stream error would crash the process before its shutdown is done.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  if (dir !== undefined) {
    process.once('exit', () => {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Best effort: the next demo removes folders whose owner is gone.
      }
    });
  }
  setTimeout(() => process.exit(1), SHUTDOWN_MS).unref();
  process.kill(process.pid, 'SIGTERM');
}
