// Probes a provider's endpoint: OpenAI-compatible `GET {url}/models` by default (and checks that
// the configured model is served), or `GET {origin}{healthPath}` when the entry sets healthPath.
import type { Health } from '../schema/agent-protocol.js';
import type { LlmProviderFileEntry } from '../schema/agent-config.js';
import { checkServedModels as checkModelList, modelsUrlOf, probeEndpoint } from '../probe/models-probe.js';
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

/** The URL a probe asks: `{url}/models`, or `{origin}{healthPath}`. */
export function resolveProbeUrl(target: ProbeTarget): string {
  if (target.healthPath !== undefined) return `${new URL(target.url).origin}${target.healthPath}`;
  return modelsUrlOf(target.url);
}

export async function probeProvider(target: ProbeTarget, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const answer = await probeEndpoint(resolveProbeUrl(target), {
    timeoutMs,
    readBody: target.healthPath === undefined,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  if (answer.ok) return answer.body === null ? { health: 'ok' } : checkServedModels(answer.body, target.model);
  return toFailing(answer.status === null ? describeFetchError(answer.error, timeoutMs) : `HTTP ${answer.status}`);
}

/** Reads an OpenAI `/models` answer: ok when `model` is among the served ids. */
export function checkServedModels(body: string, model: string): ProbeResult {
  const checked = checkModelList(body, model);
  return checked.ok ? { health: 'ok' } : toFailing(checked.message);
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
