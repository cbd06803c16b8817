// One short reason for a failed HTTP request, shared by the probe and the reconciler client.
import { isTimeoutError } from '../probe/models-probe.js';

/** The socket error code (`ECONNREFUSED`), or `timeout after Nms`, or the error's message. */
export function describeFetchError(error: unknown, timeoutMs: number): string {
  if (isTimeoutError(error)) return `timeout after ${timeoutMs}ms`;
  // undici reports `fetch failed` and keeps the socket error as the cause.
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null) {
    if ('code' in cause && typeof cause.code === 'string') return cause.code;
    if ('message' in cause && typeof cause.message === 'string') return cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
