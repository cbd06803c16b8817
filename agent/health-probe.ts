// Probes a provider's endpoint: OpenAI-compatible `GET {url}/models` by default (and checks that
// the configured model is served), or `GET {origin}{healthPath}` when the entry sets healthPath.
import type { Health } from '../schema/agent-protocol.js';
import type { LlmProviderFileEntry } from '../schema/agent-config.js';
import { describeFetchError } from './fetch-error.js';

export interface ProbeResult {
  health: Health;
  healthMessage?: string;
}

export type ProbeTarget = Pick<LlmProviderFileEntry, 'url' | 'model' | 'healthPath'>;

export interface ProbeOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 2000;
const MAX_MESSAGE_LENGTH = 512;
const MAX_IDS_SHOWN = 3;

/** The URL a probe asks: `{url}/models`, or `{origin}{healthPath}`. */
export function resolveProbeUrl(target: ProbeTarget): string {
  if (target.healthPath !== undefined) return `${new URL(target.url).origin}${target.healthPath}`;
  return `${target.url.replace(/\/+$/, '')}/models`;
}

export async function probeProvider(target: ProbeTarget, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(resolveProbeUrl(target), {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      // Drain the body so that the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      return toFailing(`HTTP ${response.status}`);
    }
    if (target.healthPath !== undefined) {
      await response.arrayBuffer();
      return { health: 'ok' };
    }
    return checkServedModels(await response.text(), target.model);
  } catch (error) {
    return toFailing(describeFetchError(error, timeoutMs));
  }
}

/** Reads an OpenAI `/models` answer: ok when `model` is among the served ids. */
export function checkServedModels(body: string, model: string): ProbeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return toFailing('/models answered something other than JSON');
  }
  const data = typeof parsed === 'object' && parsed !== null && 'data' in parsed ? parsed.data : undefined;
  if (!Array.isArray(data)) return toFailing('/models answer has no data list');
  const ids = data.flatMap((entry: unknown) =>
    typeof entry === 'object' && entry !== null && 'id' in entry && typeof entry.id === 'string' ? [entry.id] : [],
  );
  if (ids.includes(model)) return { health: 'ok' };
  if (ids.length === 0) return toFailing(`serves no model, not ${model}`);
  const shown = ids.slice(0, MAX_IDS_SHOWN).join(', ');
  const more = ids.length > MAX_IDS_SHOWN ? ` and ${ids.length - MAX_IDS_SHOWN} more` : '';
  return toFailing(`serves ${shown}${more}, not ${model}`);
}

function toFailing(message: string): ProbeResult {
  return { health: 'failing', healthMessage: message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message };
}

export interface HealthProber {
  probe(provider: LlmProviderFileEntry): Promise<ProbeResult>;
}

/** Probes with at most one request in flight per provider: a caller arriving meanwhile shares it. */
export function createHealthProber(probe: (target: ProbeTarget) => Promise<ProbeResult> = probeProvider): HealthProber {
  const inFlight = new Map<string, Promise<ProbeResult>>();
  return {
    probe(provider) {
      const key = JSON.stringify([provider.name, provider.url, provider.model, provider.healthPath ?? null]);
      const running = inFlight.get(key);
      if (running !== undefined) return running;
      const started = probe(provider).finally(() => inFlight.delete(key));
      inFlight.set(key, started);
      return started;
    },
  };
}
