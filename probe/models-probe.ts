// One probe of an OpenAI-compatible endpoint: `GET {url}/models` (or another health URL) with a
// timeout, and the reading of its model list. The agent probes its providers with it, the
// reconciler its `source: static` Llms; each words the outcome for its own readers.

export interface EndpointProbeOptions {
  timeoutMs: number;
  /** The HTTP client (the global fetch unless given). */
  fetch?: typeof fetch;
  /** Extra request headers: a bearer key. */
  headers?: Record<string, string>;
  /** Read the body of a 2xx answer (a /models list); otherwise it is discarded. */
  readBody?: boolean;
}

export type EndpointAnswer =
  /** A 2xx answer; `body` when asked for. */
  | { ok: true; body: string | null }
  /** An answer that is not 2xx. */
  | { ok: false; status: number }
  /** No answer: a network error, or none within the timeout (`isTimeoutError`). */
  | { ok: false; status: null; error: unknown };

/** `{url}/models`: where an OpenAI-compatible base URL (`…/v1`) lists its models. */
export function modelsUrlOf(url: string): string {
  return `${url.replace(/\/+$/, '')}/models`;
}

export async function probeEndpoint(url: string, options: EndpointProbeOptions): Promise<EndpointAnswer> {
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(url, {
      headers: { accept: 'application/json', ...options.headers },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (!response.ok) {
      // Drain the body so that the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      return { ok: false, status: response.status };
    }
    if (options.readBody !== true) {
      await response.arrayBuffer();
      return { ok: true, body: null };
    }
    return { ok: true, body: await response.text() };
  } catch (error) {
    return { ok: false, status: null, error };
  }
}

/** Whether a fetch failed for want of an answer in time (AbortSignal.timeout). */
export function isTimeoutError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

export const MAX_MODEL_IDS_SHOWN = 3;

/** Reads an OpenAI `/models` answer: ok when `model` is among the served ids, else why not. */
export function checkServedModels(body: string, model: string): { ok: true } | { ok: false; message: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, message: '/models answered something other than JSON' };
  }
  const data = typeof parsed === 'object' && parsed !== null && 'data' in parsed ? parsed.data : undefined;
  if (!Array.isArray(data)) return { ok: false, message: '/models answer has no data list' };
  const ids = data.flatMap((entry: unknown) =>
    typeof entry === 'object' && entry !== null && 'id' in entry && typeof entry.id === 'string' ? [entry.id] : [],
  );
  if (ids.includes(model)) return { ok: true };
  if (ids.length === 0) return { ok: false, message: `serves no model, not ${model}` };
  const shown = ids.slice(0, MAX_MODEL_IDS_SHOWN).join(', ');
  const more = ids.length > MAX_MODEL_IDS_SHOWN ? ` and ${ids.length - MAX_MODEL_IDS_SHOWN} more` : '';
  return { ok: false, message: `serves ${shown}${more}, not ${model}` };
}
