// Reads the Prometheus text exposition format (version 0.0.4, what vLLM, llama.cpp and TGI serve
// at `/metrics`) and the load figures each engine exports. No maintained npm parser of the text
// format fits a small dependency-free reader (prom-client writes the format, it does not read it),
// so this is a careful one: comments, labels with escapes, `NaN`/`+Inf`, optional timestamps.
import type { Load } from '../schema/agent-protocol.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of an exposition text; null when a line is not of the format (an HTML or JSON body). */
export function parsePrometheusText(text: string): Sample[] | null {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseSampleLine(line);
    if (sample === null) return null;
    samples.push(sample);
  }
  return samples;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseSampleLine(line: string): Sample | null {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) return null;
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      while (line[at] === ' ') at++;
      if (line[at] === '}') {
        at++;
        break;
      }
      const labelName = LABEL_NAME.exec(line.slice(at))?.[0];
      if (labelName === undefined) return null;
      at += labelName.length;
      while (line[at] === ' ') at++;
      if (line[at] !== '=') return null;
      at++;
      while (line[at] === ' ') at++;
      if (line[at] !== '"') return null;
      at++;
      let value = '';
      for (;;) {
        const c = line[at];
        if (c === undefined) return null;
        at++;
        if (c === '"') break;
        if (c === '\\') {
          const escaped = line[at];
          at++;
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else return null;
        } else {
          value += c;
        }
      }
      labels[labelName] = value;
      while (line[at] === ' ') at++;
      if (line[at] === ',') at++;
      else if (line[at] !== '}') return null;
    }
  }
  const rest = line.slice(at).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') return null;
  const value = parseValue(rest[0] as string);
  if (value === null) return null;
  if (rest.length === 2 && !/^-?\d+$/.test(rest[1] as string)) return null;
  return { name, labels, value };
}

function parseValue(text: string): number | null {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return null;
  return Number(text);
}

/** The metric names each engine exports its load under (DESIGN: vLLM, llama.cpp `--metrics`, TGI). */
const FAMILIES: { running: string; waiting: string; kvCacheUsage: readonly string[] }[] = [
  // vLLM; `gpu_cache_usage_perc` before v0.10 renamed it. A fraction 0..1 despite the name.
  { running: 'vllm:num_requests_running', waiting: 'vllm:num_requests_waiting', kvCacheUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'] },
  // llama.cpp server: no KV-cache gauge in current builds.
  { running: 'llamacpp:requests_processing', waiting: 'llamacpp:requests_deferred', kvCacheUsage: [] },
  // Text Generation Inference.
  { running: 'tgi_batch_current_size', waiting: 'tgi_queue_size', kvCacheUsage: [] },
];

/**
 * The load an engine reports in `samples`: null when none of the known metrics is there. A
 * metric exported per model (vLLM's `model_name` label) is read for `model` when it has such a
 * series, else summed over its series (counts) or averaged (the KV cache fraction).
 */
export function loadOfSamples(samples: readonly Sample[], model?: string): Load | null {
  for (const family of FAMILIES) {
    const running = countOf(samples, family.running, model);
    const waiting = countOf(samples, family.waiting, model);
    let kvCacheUsage: number | null = null;
    let kvSeen = false;
    for (const name of family.kvCacheUsage) {
      const series = seriesOf(samples, name, model);
      if (series.length === 0) continue;
      kvSeen = true;
      kvCacheUsage = fractionOf(series);
      break;
    }
    if (running.seen || waiting.seen || kvSeen) return { running: running.value, waiting: waiting.value, kvCacheUsage };
  }
  return null;
}

/** The load in an exposition text; null when it is not one or names no known metric. */
export function loadOfMetricsText(text: string, model?: string): Load | null {
  const samples = parsePrometheusText(text);
  return samples === null ? null : loadOfSamples(samples, model);
}

function seriesOf(samples: readonly Sample[], name: string, model: string | undefined): number[] {
  const all = samples.filter((s) => s.name === name);
  const forModel = model === undefined ? [] : all.filter((s) => s.labels.model_name === model);
  return (forModel.length > 0 ? forModel : all).map((s) => s.value);
}

function countOf(samples: readonly Sample[], name: string, model: string | undefined): { seen: boolean; value: number | null } {
  const series = seriesOf(samples, name, model);
  if (series.length === 0) return { seen: false, value: null };
  let sum = 0;
  for (const value of series) {
    // NaN, an infinity or a negative count is no figure to route on: unknown.
    if (!Number.isFinite(value) || value < 0) return { seen: true, value: null };
    sum += value;
  }
  return { seen: true, value: sum };
}

function fractionOf(series: readonly number[]): number | null {
  let sum = 0;
  for (const value of series) {
    if (!Number.isFinite(value) || value < 0) return null;
    sum += value;
  }
  // To 0.01%: finer moves are noise, and each move is a heartbeat field.
  return Math.min(1, Math.round((sum / series.length) * 10_000) / 10_000);
}
