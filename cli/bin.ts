#!/usr/bin/env node
// The mcpctl executable: runs the command tree and turns errors into exit codes.
import nodeModule from 'node:module';

// Node 22.1+ keeps the compiled code of the modules a command loads between runs (zod, commander,
// our own), which cuts every command's start-up; Node 20 has no such cache. Before any other
// import of ours, so that they are all cached: the rest is imported dynamically below.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const [{ CliError, ExitCode }, { watchParentFromEnv }, { runProgram }] = await Promise.all([import('./errors.js'), import('./parent-watch.js'), import('./program.js')]);

const debug = process.argv.includes('--debug');

// Only for the children of `mcpctl demo`: they stop when the demo is gone, however it went.
watchParentFromEnv();

function exitCodeOf(error: unknown): number {
  if (error instanceof ExitCode) return error.exitCode;
  if (error instanceof CliError) {
    // Several problems (one per file position) are several lines, each a complete error line.
    for (const line of error.message.split('\n')) process.stderr.write(`mcpctl: error: ${line}\n`);
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`mcpctl: error: ${message} (this is a bug in mcpctl; run with --debug for the stack)\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return 1;
}

// A finished command exits at once: idle keep-alive sockets or a closed UI's timers must not hold
// the process open (stdout and stderr writes are synchronous for files, pipes and terminals on Linux).
runProgram(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => process.exit(exitCodeOf(error)),
);
