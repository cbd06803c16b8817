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
  /** An answer that is not 2xx; `message` is the server's own words (`serverWordsOf`). */
  | { ok: false; status: number; message: string }
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
      // Read the body (which also frees the connection for reuse) for the server's own words.
      const body = await response.text().catch(() => '');
      return { ok: false, status: response.status, message: serverWordsOf(body, response.statusText) };
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

export const MAX_SERVER_WORDS_LENGTH = 120;

/**
 * What a server said in a failed answer, short and on one line: `error.message` (or a string
 * `error`, or `detail`, or `message`) of a JSON error body (OpenAI, llama.cpp, vLLM, TGI, LiteLLM,
 * Ollama), else the first line of a text body, else the status text; '' when none says anything.
 */
export function serverWordsOf(body: string, statusText: string): string {
  let words: string | undefined;
  try {
    words = messageOf(JSON.parse(body));
  } catch {
    // Not JSON: its first non-blank line, unless it is markup.
    const line = body.split(/\r?\n/).find((l) => l.trim() !== '')?.trim();
    if (line !== undefined && !line.startsWith('<')) words = line;
  }
  return clipWords(words ?? statusText);
}

function messageOf(parsed: unknown): string | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  const error = record.error;
  if (typeof error === 'object' && error !== null && typeof (error as Record<string, unknown>).message === 'string') return (error as Record<string, string>).message;
  for (const value of [error, record.detail, record.message]) if (typeof value === 'string') return value;
  return undefined;
}

/** A word that looks like a key, whole or masked (`sk-…`, `sk-abc***wxyz`): some servers echo the key they refused. */
const KEY_LIKE_WORD = /^["'(]?(sk|pk|rk)-\S*$|\*{3,}/;

function clipWords(words: string): string {
  const line = words
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .split(/\s+/)
    .map((word) => (KEY_LIKE_WORD.test(word) ? '[redacted]' : word))
    .join(' ')
    .trim();
  return line.length > MAX_SERVER_WORDS_LENGTH ? `${line.slice(0, MAX_SERVER_WORDS_LENGTH - 1)}…` : line;
}

/** Whether a fetch failed for want of an answer in time (AbortSignal.timeout). */
export function isTimeoutError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

export const MAX_MODEL_IDS_SHOWN = 3;

export interface ServedModelsOptions {
  /** Whether a served id names the configured model (exact equality unless given). */
  sameModel?: (served: string, model: string) => boolean;
}

interface ServedModel {
  id: string;
  /** A llama.cpp router's `status` of the model: `value` (loaded, loading, unloaded, …) and whether its last load failed. */
  status?: { value: string | undefined; failed: boolean; exitCode: number | undefined };
}

/**
 * Reads an OpenAI `/models` answer: ok when `model` is among the served ids, else why not. A
 * llama.cpp router lists every model it knows with a `status`; there the model must also be loaded.
 */
export function checkServedModels(body: string, model: string, options: ServedModelsOptions = {}): { ok: true } | { ok: false; message: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, message: '/models answered something other than JSON' };
  }
  const data = typeof parsed === 'object' && parsed !== null && 'data' in parsed ? parsed.data : undefined;
  if (!Array.isArray(data)) return { ok: false, message: '/models answer has no data list' };
  const served = data.flatMap((entry: unknown): ServedModel[] => {
    if (typeof entry !== 'object' || entry === null || !('id' in entry) || typeof entry.id !== 'string') return [];
    const status = 'status' in entry ? readRouterStatus(entry.status) : undefined;
    return [status === undefined ? { id: entry.id } : { id: entry.id, status }];
  });
  const sameModel = options.sameModel ?? ((id: string, wanted: string) => id === wanted);
  const found = served.find((entry) => sameModel(entry.id, model));
  if (found !== undefined) return found.status === undefined ? { ok: true } : checkRouterStatus(found.id, found.status);
  if (served.length === 0) return { ok: false, message: `serves no model, not ${model}` };
  const shown = served.slice(0, MAX_MODEL_IDS_SHOWN).map((entry) => entry.id).join(', ');
  const more = served.length > MAX_MODEL_IDS_SHOWN ? ` and ${served.length - MAX_MODEL_IDS_SHOWN} more` : '';
  return { ok: false, message: `serves ${shown}${more}, not ${model}` };
}

function readRouterStatus(status: unknown): ServedModel['status'] {
  if (typeof status === 'string') return { value: status, failed: status === 'failed', exitCode: undefined };
  if (typeof status !== 'object' || status === null) return undefined;
  const record = status as Record<string, unknown>;
  return {
    value: typeof record.value === 'string' ? record.value : undefined,
    failed: record.failed === true,
    exitCode: typeof record.exit_code === 'number' ? record.exit_code : undefined,
  };
}

/** A router's model serves when loaded (or asleep: it wakes on the next request) and its last load did not fail. */
function checkRouterStatus(id: string, status: NonNullable<ServedModel['status']>): { ok: true } | { ok: false; message: string } {
  if (status.failed || status.value === 'failed') {
    return { ok: false, message: `model ${id} failed to load${status.exitCode === undefined ? '' : ` (exit code ${status.exitCode})`}` };
  }
  if (status.value === 'loaded' || status.value === 'sleeping') return { ok: true };
  return { ok: false, message: `model ${id} is ${status.value ?? 'in an unknown state'}` };
}
