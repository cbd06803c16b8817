// Typed errors that carry their exit code (DESIGN §5); only the bin calls process.exit.
import { ClientError, GatewayUnreachable, InvalidGatewayUrl, InvalidServerUrl, ReconcilerUnreachable } from '../client/errors.js';

export const EXIT = {
  ok: 0,
  error: 1,
  planChanges: 2,
  unreachable: 3,
  policyViolation: 4,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The reconciler could not be reached (exit 3). */
export class UnreachableError extends CliError {
  constructor(server: string, cause: string) {
    super(`cannot reach the reconciler at ${server}: ${cause}`, EXIT.unreachable);
    this.name = 'UnreachableError';
  }
}

/**
 * A pool gateway (--gateway) could not be reached: exit 3 as for the reconciler, since the command
 * could not learn what it needed from a server it was told to ask.
 */
export class GatewayUnreachableError extends CliError {
  constructor(
    readonly gateway: string,
    readonly reason: string,
  ) {
    super(`cannot reach the gateway at ${gateway}: ${reason}`, EXIT.unreachable);
    this.name = 'GatewayUnreachableError';
  }
}

/** A command finished and wants a particular exit code without printing an error. */
export class ExitCode extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitCode';
  }
}

/** An error of client/ as the CLI says it: the same line, with its exit code (3: a reconciler or gateway unreachable). */
export function cliErrorOf(error: unknown): unknown {
  if (error instanceof ReconcilerUnreachable) return new UnreachableError(error.server, error.reason);
  if (error instanceof GatewayUnreachable) return new GatewayUnreachableError(error.gateway, error.reason);
  if (error instanceof InvalidGatewayUrl) return new CliError(`--gateway: expected an http(s) URL, found ${JSON.stringify(error.gateway)}`);
  if (error instanceof InvalidServerUrl) return new CliError(`--server: expected an http(s) URL, found ${JSON.stringify(error.server)}`);
  if (error instanceof ClientError) return new CliError(error.message);
  return error;
}
