// Probes a provider's endpoint the way its server type tells readiness (`planProbe`): llama.cpp
// and vLLM answer `GET {origin}/health` with 200 only once the model is loaded, then `GET
// {url}/models` names the served model; TGI's `/health` alone; Ollama and the rest by `/models`.
// A `healthPath` replaces the plan with one `GET {origin}{healthPath}` that needs only a 2xx.
// A ready engine that may serve Prometheus metrics (vLLM, llama.cpp, TGI, other) is then asked
// for `GET {origin}/metrics`: its load; a 404 or another kind of body is no load, and no failure.
import { readFile } from 'node:fs/promises';
import type { Health, Load } from '../schema/agent-protocol.js';
import type { LlmProviderFileEntry } from '../schema/agent-config.js';
import { checkServedModels as checkModelList, modelsUrlOf, probeEndpoint } from '../probe/models-probe.js';
import { loadOfMetricsText } from '../probe/prometheus-text.js';
import { readApiKey, type ApiKeyDeps } from './api-key.js';
import { describeFetchError } from './fetch-error.js';

export interface ProbeResult {
  health: Health;
  healthMessage?: string;
  /** The engine's load from its `/metrics`; absent when it reports none. */
  load?: Load;
}

export type ProbeTarget = Pick<LlmProviderFileEntry, 'url' | 'model'> & Partial<Pick<LlmProviderFileEntry, 'type' | 'healthPath' | 'apiKeyRef'>>;

export interface ProbeOptions extends Partial<ApiKeyDeps> {
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** One request of a probe: a URL, and whether a 2xx is enough or its model list is read. */
export interface ProbeStep {
  url: string;
  reads: 'status' | 'models';
}

export const DEFAULT_PROBE_TIMEOUT_MS = 2000;
const MAX_MESSAGE_LENGTH = 512;

/** The requests that tell whether `target` is ready, in order; each must pass. */
export function planProbe(target: ProbeTarget): ProbeStep[] {
  const origin = new URL(target.url).origin;
  if (target.healthPath !== undefined) return [{ url: `${origin}${target.healthPath}`, reads: 'status' }];
  const health: ProbeStep = { url: `${origin}/health`, reads: 'status' };
  const models: ProbeStep = { url: modelsUrlOf(target.url), reads: 'models' };
  switch (target.type) {
    case 'llamacpp':
    case 'vllm':
      return [health, models];
    case 'tgi':
      return [health];
    default:
      return [models];
  }
}

export async function probeProvider(target: ProbeTarget, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  let headers: Record<string, string> | undefined;
  let key = '';
  if (target.apiKeyRef !== undefined) {
    const read = await readApiKey(target.apiKeyRef, { env: options.env ?? process.env, readFile: options.readFile ?? ((path) => readFile(path, 'utf8')) });
    if (!read.ok) return toFailing(read.message);
    key = read.key;
    headers = { authorization: `Bearer ${key}` };
  }
  for (const step of planProbe(target)) {
    const answer = await probeEndpoint(step.url, {
      timeoutMs,
      readBody: step.reads === 'models',
      ...(headers === undefined ? {} : { headers }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    if (!answer.ok) {
      if (answer.status === null) return toFailing(describeFetchError(answer.error, timeoutMs));
      // A server that echoes the key it refused must not have it repeated in views.
      const words = headers === undefined ? answer.message : answer.message.split(key).join('[redacted]');
      return toFailing(words === '' ? `HTTP ${answer.status}` : `HTTP ${answer.status}: ${words}`);
    }
    if (answer.body !== null) {
      const checked = checkServedModels(answer.body, target.model, target.type);
      if (checked.health !== 'ok') return checked;
    }
  }
  if (!readsMetrics(target)) return { health: 'ok' };
  const metrics = await probeEndpoint(metricsUrlOf(target.url), {
    timeoutMs,
    readBody: true,
    headers: { ...headers, accept: 'text/plain' },
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const load = metrics.ok && metrics.body !== null ? loadOfMetricsText(metrics.body, target.model) : null;
  return load === null ? { health: 'ok' } : { health: 'ok', load };
}

/** Where the engine serves Prometheus metrics: `{origin}/metrics`. */
export function metricsUrlOf(url: string): string {
  return `${new URL(url).origin}/metrics`;
}

/** Engines that serve `/metrics` (vLLM always, llama.cpp with `--metrics`, TGI); `other` may be any of them. */
function readsMetrics(target: ProbeTarget): boolean {
  return target.type === 'vllm' || target.type === 'llamacpp' || target.type === 'tgi' || target.type === 'other';
}

/** Reads an OpenAI `/models` answer: ok when `model` is among the served ids (for Ollama, an untagged name is `:latest`). */
export function checkServedModels(body: string, model: string, type?: LlmProviderFileEntry['type']): ProbeResult {
  const checked = checkModelList(body, model, type === 'ollama' ? { sameModel: (served, wanted) => withOllamaTag(served) === withOllamaTag(wanted) } : {});
  return checked.ok ? { health: 'ok' } : toFailing(checked.message);
}

/** An Ollama model name with its tag: `llama3.2` is `llama3.2:latest` (a `host:port/` prefix is no tag). */
export function withOllamaTag(name: string): string {
  const lastPart = name.slice(name.lastIndexOf('/') + 1);
  return lastPart.includes(':') ? name : `${name}:latest`;
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
      const key = JSON.stringify([provider.name, provider.type, provider.url, provider.model, provider.healthPath ?? null, provider.apiKeyRef ?? null]);
      const running = inFlight.get(key);
      if (running !== undefined) return running;
      const started = probe(provider).finally(() => inFlight.delete(key));
      inFlight.set(key, started);
      return started;
    },
  };
}
