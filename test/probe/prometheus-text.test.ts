import { describe, expect, it } from 'vitest';
import { loadOfMetricsText, loadOfSamples, parsePrometheusText } from '../../probe/prometheus-text.js';
import { readServerFixture } from '../support/server-fixture.js';

/** The recorded `/metrics` body of a fixture (its `mirrors` line says which server and version). */
function metricsOf(name: string): string {
  const answer = readServerFixture(name).routes['GET /metrics'];
  if (answer === undefined) throw new Error(`${name} records no /metrics`);
  return answer.body;
}

describe('parsePrometheusText', () => {
  it('reads names, labels and values, skipping comments and blank lines', () => {
    const samples = parsePrometheusText(['# HELP a_total A.', '# TYPE a_total counter', '', 'a_total 3', 'b{x="1",y="two"} 1.5e+03 1700000000000', 'c{} -2'].join('\n'));
    expect(samples).toEqual([
      { name: 'a_total', labels: {}, value: 3 },
      { name: 'b', labels: { x: '1', y: 'two' }, value: 1500 },
      { name: 'c', labels: {}, value: -2 },
    ]);
  });

  it('unescapes label values and reads NaN and the infinities', () => {
    const samples = parsePrometheusText('m{path="C:\\\\dir",say="a \\"quote\\"\\nnext",le="+Inf"} NaN\nn +Inf\no -Inf\n') ?? [];
    expect(samples[0]?.labels).toEqual({ path: 'C:\\dir', say: 'a "quote"\nnext', le: '+Inf' });
    expect(samples[0]?.value).toBeNaN();
    expect(samples.slice(1).map((s) => s.value)).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });

  it('is null for a body of another kind: JSON, HTML, a label never closed', () => {
    expect(parsePrometheusText('{"error":"not found"}')).toBeNull();
    expect(parsePrometheusText('<html><body>404</body></html>')).toBeNull();
    expect(parsePrometheusText('m{a="1" 2')).toBeNull();
    expect(parsePrometheusText('m one')).toBeNull();
  });
});

describe('the load each engine reports', () => {
  it('vLLM with two engines: counts summed over the engine series, the KV cache averaged', () => {
    expect(loadOfMetricsText(metricsOf('vllm-metrics'), 'Qwen/Qwen3-8B')).toEqual({ running: 3, waiting: 1, kvCacheUsage: 0.42 });
  });

  it('vLLM serving two models: the served model’s series, or the sum when it has none', () => {
    const text = [
      'vllm:num_requests_running{model_name="a"} 2.0',
      'vllm:num_requests_running{model_name="b"} 5.0',
      'vllm:num_requests_waiting{model_name="a"} 0.0',
      'vllm:num_requests_waiting{model_name="b"} 3.0',
    ].join('\n');
    expect(loadOfMetricsText(text, 'b')).toEqual({ running: 5, waiting: 3, kvCacheUsage: null });
    expect(loadOfMetricsText(text, 'c')).toEqual({ running: 7, waiting: 3, kvCacheUsage: null });
  });

  it('an older vLLM (v0.6–v0.9, V0 engine) names the KV cache gpu_cache_usage_perc', () => {
    const text = [
      '# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.',
      '# TYPE vllm:gpu_cache_usage_perc gauge',
      'vllm:gpu_cache_usage_perc{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.875',
      'vllm:num_requests_running{model_name="meta-llama/Llama-3.1-8B-Instruct"} 6.0',
      'vllm:num_requests_swapped{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0',
      'vllm:num_requests_waiting{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0',
    ].join('\n');
    expect(loadOfMetricsText(text, 'meta-llama/Llama-3.1-8B-Instruct')).toEqual({ running: 6, waiting: 0, kvCacheUsage: 0.875 });
  });

  it('llama.cpp with --metrics: processing and deferred requests, no KV-cache gauge', () => {
    expect(loadOfMetricsText(metricsOf('llamacpp-metrics'), 'qwen3-8b')).toEqual({ running: 2, waiting: 5, kvCacheUsage: null });
  });

  it('TGI: the current batch runs, the queue waits', () => {
    expect(loadOfMetricsText(metricsOf('tgi-metrics'))).toEqual({ running: 8, waiting: 4, kvCacheUsage: null });
  });

  it('a NaN or negative figure is unknown, not zero; a text naming no known metric is no load', () => {
    expect(loadOfSamples(parsePrometheusText('vllm:num_requests_running NaN\nvllm:num_requests_waiting -1\nvllm:kv_cache_usage_perc NaN') ?? [])).toEqual({ running: null, waiting: null, kvCacheUsage: null });
    expect(loadOfMetricsText('process_cpu_seconds_total 12.5\n')).toBeNull();
    expect(loadOfMetricsText('')).toBeNull();
    expect(loadOfMetricsText('{"detail":"Not Found"}')).toBeNull();
  });
});
