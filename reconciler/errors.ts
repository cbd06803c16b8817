// The one registry of HTTP error codes the reconciler answers with (DESIGN §3). Every code is
// declared here once with its status and a description; routes throw ApiError, and the single
// error handler in app.ts writes `{"error":{"code","message"}}`.
import type { z } from 'zod';

export const ERROR_CODES = {
  InvalidRequest: { status: 400, description: 'The body or query is malformed (bad JSON, a field of the wrong type); the message names the field.' },
  InvalidRegistration: { status: 400, description: 'A registration or heartbeat body does not match the agent protocol; the message names the field.' },
  Unauthorized: { status: 401, description: 'No bearer token, or one that matches no entry of the --auth file.' },
  Forbidden: { status: 403, description: 'The token lacks the role of the route, or names an Llm outside its name globs.' },
  NotFound: { status: 404, description: 'No such route.' },
  LlmNotFound: { status: 404, description: 'No Llm of that name in the effective state (declared or registered).' },
  LeaseNotFound: { status: 404, description: 'Unknown agent, or a leaseId that is not its current lease: the agent must register again.' },
  PayloadTooLarge: { status: 413, description: 'The request body exceeds 64 KiB.' },
  UnsupportedMediaType: { status: 415, description: 'A request body that is not application/json.' },
  Internal: { status: 500, description: 'An unexpected failure inside the reconciler (a bug); the log has the details.' },
  SyncFailed: { status: 502, description: 'POST /sync could not read the desired-state source at all.' },
  NotReady: { status: 503, description: 'GET /readyz before a good revision has been loaded.' },
  StoreUnavailable: { status: 503, description: 'The lease store (etcd) does not answer: register, heartbeat and deregister are refused, with Retry-After, until it does; reads serve the last view. The agent retries, here or at its next reconciler.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ApiError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = ERROR_CODES[code].status;
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBodyOf(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** One line naming every failing field: `llms.0.name: invalid name …; host: …`. */
export function describeZodError(error: z.ZodError): string {
  return flattenIssues(error.issues, [])
    .slice(0, 5)
    .map(({ path, message }) => {
      const where = path.map((p) => String(p)).join('.');
      return where === '' ? message : `${where}: ${message}`;
    })
    .join('; ');
}

/**
 * Issues with their full paths. A union that matched no branch ("Invalid input") is described
 * by the branch that came closest (fewest issues): a heartbeat entry with a bad `health` says
 * `llms.0.health: …`, not just that the entry matched neither form.
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const closest = issue.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
      if (closest.length > 0) return flattenIssues(closest, path);
    }
    return [{ path, message: issue.message }];
  });
}

/** The registry as a markdown table, for the README's API section. */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, { status, description }]) => `| \`${code}\` | ${status} | ${description} |`);
  return ['| code | HTTP | meaning |', '|---|---|---|', ...rows].join('\n') + '\n';
}
