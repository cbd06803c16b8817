import { describe, expect, it } from 'vitest';
import { acknowledgeDelta, acknowledgeNothing, buildRegisteredLlm, computeHeartbeatDelta, keepHeld } from '../../agent/heartbeat-delta.js';
import type { LlmProviderFileEntry } from '../../schema/agent-config.js';
import type { Gpu } from '../../schema/agent-protocol.js';
import type { ProbeResult } from '../../agent/health-probe.js';

const pooled: LlmProviderFileEntry = { name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking', type: 'vllm', model: 'Qwen/Qwen3-8B', url: 'http://gpu1:8000/v1' };
const solo: LlmProviderFileEntry = { name: 'qwen3', type: 'vllm', model: 'Qwen/Qwen3-8B', url: 'http://gpu1:8001/v1' };
const gpu: Gpu = { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 1, utilizationPct: 0 };

function probes(entries: Record<string, ProbeResult>): Map<string, ProbeResult> {
  return new Map(Object.entries(entries));
}

describe('buildRegisteredLlm', () => {
  it('sends no poolName field at all for a solo entry', () => {
    const entry = buildRegisteredLlm(solo, { health: 'ok' });
    expect(entry).toEqual({ name: 'qwen3', type: 'vllm', model: 'Qwen/Qwen3-8B', url: 'http://gpu1:8001/v1', health: 'ok' });
    expect(Object.keys(entry)).not.toContain('poolName');
  });

  it('carries poolName and the health message when there is one', () => {
    expect(buildRegisteredLlm(pooled, { health: 'failing', healthMessage: 'HTTP 503' })).toEqual({ ...pooled, health: 'failing', healthMessage: 'HTTP 503' });
  });
});

describe('load in the heartbeat', () => {
  const load = { running: 3, waiting: 1, kvCacheUsage: 0.42 };
  const known = { health: probes({ qwen3: { health: 'ok', load } }), gpus: [gpu] };

  it('a registration entry carries the load the probe read, and none when it read none', () => {
    expect(buildRegisteredLlm(solo, { health: 'ok', load })).toEqual({ ...solo, health: 'ok', load });
    expect(Object.keys(buildRegisteredLlm(solo, { health: 'ok' }))).not.toContain('load');
  });

  it('a beat with the same load sends no entry; a moved load sends it with the health as it is', () => {
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'ok', load: { ...load } } }), [gpu], known)).toEqual({ llms: [] });
    const moved = { ...load, waiting: 2 };
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'ok', load: moved } }), [gpu], known)).toEqual({ llms: [{ name: 'qwen3', health: 'ok', load: moved }] });
  });

  it('a health change with the same load sends no load field; load gone is load: null', () => {
    const failing = computeHeartbeatDelta([solo], probes({ qwen3: { health: 'failing', healthMessage: 'HTTP 503', load } }), [gpu], known);
    expect(failing).toEqual({ llms: [{ name: 'qwen3', health: 'failing', healthMessage: 'HTTP 503' }] });
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'failing', healthMessage: 'HTTP 503' } }), [gpu], known)).toEqual({
      llms: [{ name: 'qwen3', health: 'failing', healthMessage: 'HTTP 503', load: null }],
    });
  });

  it('acknowledging keeps the load a short entry left out, and drops it on load: null', () => {
    const kept = acknowledgeDelta(known, { llms: [{ name: 'qwen3', health: 'failing', healthMessage: 'HTTP 503' }] });
    expect(kept.health.get('qwen3')).toEqual({ health: 'failing', healthMessage: 'HTTP 503', load });
    const dropped = acknowledgeDelta(known, { llms: [{ name: 'qwen3', health: 'ok', load: null }] });
    expect(dropped.health.get('qwen3')).toEqual({ health: 'ok' });
    const full = acknowledgeDelta(known, { llms: [buildRegisteredLlm(solo, { health: 'ok' })] });
    expect(full.health.get('qwen3')).toEqual({ health: 'ok' });
  });
});

describe('computeHeartbeatDelta', () => {
  const registered = { health: probes({ 'vllm-gpu1-qwen3': { health: 'ok' }, qwen3: { health: 'ok' } }), gpus: [gpu] };

  it('sends nothing when nothing changed', () => {
    expect(computeHeartbeatDelta([pooled, solo], probes({ 'vllm-gpu1-qwen3': { health: 'ok' }, qwen3: { health: 'ok' } }), [gpu], registered)).toEqual({ llms: [] });
  });

  it('sends only the name whose health changed, as a short entry', () => {
    const delta = computeHeartbeatDelta([pooled, solo], probes({ 'vllm-gpu1-qwen3': { health: 'ok' }, qwen3: { health: 'failing', healthMessage: 'ECONNREFUSED' } }), [gpu], registered);
    expect(delta).toEqual({ llms: [{ name: 'qwen3', health: 'failing', healthMessage: 'ECONNREFUSED' }] });
  });

  it('sends a changed health message even when health stays failing', () => {
    const known = { health: probes({ qwen3: { health: 'failing', healthMessage: 'HTTP 503' } }), gpus: [] };
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'failing', healthMessage: 'ECONNREFUSED' } }), [], known)).toEqual({ llms: [{ name: 'qwen3', health: 'failing', healthMessage: 'ECONNREFUSED' }] });
  });

  it('sends GPUs when they differ from the acknowledged reading', () => {
    const busy = { ...gpu, utilizationPct: 93 };
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'ok' } }), [busy], registered)).toEqual({ llms: [], gpus: [busy] });
  });

  it('sends GPUs when a figure turns unknown (0 and null differ), and not again while it stays unknown', () => {
    const mig = { ...gpu, utilizationPct: null };
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'ok' } }), [mig], registered)).toEqual({ llms: [], gpus: [mig] });
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'ok' } }), [{ ...mig }], { ...registered, gpus: [mig] })).toEqual({ llms: [] });
  });

  it('sends a full entry for a provider the reconciler never acknowledged', () => {
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'ok' } }), [], { ...acknowledgeNothing(), gpus: [] }).llms).toEqual([buildRegisteredLlm(solo, { health: 'ok' })]);
  });
});

describe('acknowledgeDelta', () => {
  it('clears the message once a name is healthy again', () => {
    const failing = { health: probes({ qwen3: { health: 'failing', healthMessage: 'HTTP 503' } }), gpus: [] };
    const after = acknowledgeDelta(failing, { llms: [{ name: 'qwen3', health: 'ok' }] });
    expect(after.health.get('qwen3')).toEqual({ health: 'ok' });
    expect(computeHeartbeatDelta([solo], probes({ qwen3: { health: 'ok' } }), [], after)).toEqual({ llms: [] });
  });
});

describe('keepHeld', () => {
  const both = { health: new Map<string, ProbeResult>([['qwen3', { health: 'ok' }], ['vllm-gpu1-qwen3', { health: 'ok' }]]), gpus: [gpu] };
  const desired = (name: string) => ({ name, poolName: null, enabled: true, declared: true });

  it('forgets a name the reconciler does not hold for the agent, so the next beat sends it whole', () => {
    const kept = keepHeld(both, { desired: [desired('vllm-gpu1-qwen3')] });
    expect([...kept.health.keys()]).toEqual(['vllm-gpu1-qwen3']);
    expect(computeHeartbeatDelta([pooled, solo], probes({ qwen3: { health: 'ok' }, 'vllm-gpu1-qwen3': { health: 'ok' } }), [gpu], kept)).toEqual({
      llms: [{ name: 'qwen3', type: 'vllm', model: 'Qwen/Qwen3-8B', url: 'http://gpu1:8001/v1', health: 'ok' }],
    });
  });

  it('keeps the acknowledged state as it is when every name is held', () => {
    expect(keepHeld(both, { desired: [desired('qwen3'), desired('vllm-gpu1-qwen3')] })).toBe(both);
  });
});
