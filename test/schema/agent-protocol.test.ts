// GPU figures in the agent protocol and the views: a figure nvidia-smi could not give is null
// (unknown, not idle); agents from before that addition send numbers, which stay valid.
import { describe, expect, it } from 'vitest';
import { gpuSchema, heartbeatSchema } from '../../schema/agent-protocol.js';
import { llmViewSchema } from '../../schema/views.js';
import { buildFleet, h100, liveLlm } from '../cli/support/views.js';

const H100 = { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 20341, utilizationPct: 35 };

describe('gpuSchema', () => {
  it('takes numbers, as every agent sends them', () => {
    expect(gpuSchema.parse(H100)).toEqual(H100);
  });

  it.each(['memoryTotalMiB', 'memoryUsedMiB', 'utilizationPct'])('takes null for %s', (field) => {
    const gpu = { ...H100, [field]: null };
    expect(gpuSchema.parse(gpu)).toEqual(gpu);
  });

  it('still refuses a missing figure, a negative one and a utilisation over 100', () => {
    const { utilizationPct: _left, ...missing } = H100;
    expect(gpuSchema.safeParse(missing).success).toBe(false);
    expect(gpuSchema.safeParse({ ...H100, memoryUsedMiB: -1 }).success).toBe(false);
    expect(gpuSchema.safeParse({ ...H100, utilizationPct: 101 }).success).toBe(false);
  });

  it('a heartbeat carries null figures', () => {
    const beat = { leaseId: 'l', llms: [], gpus: [{ ...H100, utilizationPct: null }] };
    expect(heartbeatSchema.parse(beat)).toEqual(beat);
  });
});

describe('llmViewSchema', () => {
  it('reads a view whose agent has GPUs with unknown figures', () => {
    const gpus = [{ ...h100(0, 20341, 0), utilizationPct: null }, { index: 1, name: 'NVIDIA GB10', memoryTotalMiB: null, memoryUsedMiB: null, utilizationPct: 12 }];
    const fleet = buildFleet({ live: [liveLlm({ name: 'w1', agentId: 'gpu7', gpus })] });
    const view = JSON.parse(JSON.stringify(fleet.view('w1'))) as unknown;
    expect(llmViewSchema.parse(view).status.agent?.gpus).toEqual(gpus);
  });
});
