#!/usr/bin/env node
// The mcpctl executable: runs the command tree and turns errors into exit codes.
import { CliError, ExitCode } from './errors.js';
import { runProgram } from './program.js';

const debug = process.argv.includes('--debug');

runProgram(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ExitCode) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof CliError) {
      process.stderr.write(`mcpctl: error: ${error.message}\n`);
      if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`mcpctl: error: ${message} (this is a bug in mcpctl; run with --debug for the stack)\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  },
);
