// One short reason for a failed HTTP request, shared by the probe and the reconciler client.

/** The socket error code (`ECONNREFUSED`), or `timeout after Nms`, or the error's message. */
export function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timeout after ${timeoutMs}ms`;
  // undici reports `fetch failed` and keeps the socket error as the cause.
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null) {
    if ('code' in cause && typeof cause.code === 'string') return cause.code;
    if ('message' in cause && typeof cause.message === 'string') return cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
