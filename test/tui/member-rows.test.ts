import { describe, expect, test } from 'vitest';
import { measureWidth, stripAnsi } from '../../cli/format/color.js';
import { policiesOfPools } from '../../client/llm-cache.js';
import { deriveMembersModel, formatMembersView, shortGpuName, summarizeGpus } from '../../cli/tui/member-rows.js';
import { buildTuiFleet, degradedFiles, h100, NOW_MS } from './support/tui-fleet.js';

const fleet = buildTuiFleet();
const policies = policiesOfPools(fleet.pools);

describe('deriveMembersModel', () => {
  test('members of a pool, sorted by name, with the pool numbers of /members', () => {
    const model = deriveMembersModel(fleet.views, 'user-vllm-qwen3-thinking', policies, '');
    expect(model?.members.map((m) => m.metadata.name)).toEqual(['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3', 'vllm-gpu3-qwen3']);
    expect(model?.pool).toEqual(fleet.members('vllm-gpu1-qwen3').pool);
  });

  test('a legacy pool is explicit when a worker names it, whatever its anchor says', () => {
    const model = deriveMembersModel(fleet.views, 'llama3-70b', policies, '');
    expect(model?.pool).toMatchObject({ key: 'llama3-70b', explicit: true, size: 3, activeCount: 2 });
  });

  test('the filter matches member names and agent ids and counts what it hides', () => {
    const model = deriveMembersModel(fleet.views, 'llama3-70b', policies, 'gpu5');
    expect(model?.members.map((m) => m.metadata.name)).toEqual(['llamacpp-gpu5-llama3']);
    expect(model?.hidden).toBe(2);
  });

  test('a key that no cached Llm has gives no model', () => {
    expect(deriveMembersModel(fleet.views, 'nope', policies, '')).toBeNull();
  });
});

describe('GPU summary', () => {
  test.each([
    ['NVIDIA H100 80GB HBM3', 'H100 80GB'],
    ['NVIDIA GeForce RTX 4090', 'RTX 4090'],
    ['Tesla T4', 'T4'],
    ['AMD Instinct MI300X', 'Instinct MI300X'],
    ['NVIDIA', 'NVIDIA'],
  ])('shortGpuName(%j) is %j', (name, short) => {
    expect(shortGpuName(name)).toBe(short);
  });

  test('GPUs of one model are counted, utilisation averaged and memory summed in GiB', () => {
    expect(summarizeGpus([h100(0, 61234, 87), h100(1, 60102, 79)])).toBe('2×H100 80GB 83% 118/159GiB');
  });

  test('different models are listed apart; no GPU is a dash', () => {
    const t4 = { index: 2, name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: 1024, utilizationPct: 10 };
    expect(summarizeGpus([h100(0, 1024, 50), t4])).toBe('1×H100 80GB 50% 1/80GiB, 1×T4 10% 1/15GiB');
    expect(summarizeGpus([])).toBe('-');
  });

  test('a figure any GPU of the group could not report is a dash, not a sum or mean that reads idle', () => {
    const mig = { ...h100(0, 20341, 0), utilizationPct: null };
    expect(summarizeGpus([mig, h100(1, 40127, 35)])).toBe('2×H100 80GB - 59/159GiB');
    expect(summarizeGpus([{ index: 0, name: 'NVIDIA GB10', memoryTotalMiB: null, memoryUsedMiB: null, utilizationPct: 12 }])).toBe('1×GB10 12% -/-GiB');
  });
});

describe('formatMembersView', () => {
  test('each row shows name, kind/phase, agent, heartbeat age, load and GPUs', () => {
    const model = deriveMembersModel(fleet.views, 'user-vllm-qwen3-thinking', policies, '');
    if (model === null) throw new Error('no model');
    const view = formatMembersView(model, 'vllm-gpu1-qwen3', { width: 120, height: 20, color: false, nowMs: NOW_MS });
    expect(view.header[0]).toBe('Pool user-vllm-qwen3-thinking  explicit  1/3 active  ███░░░░░░░  min 1  Healthy');
    expect(view.header[1]).toMatch(/^ {2}NAME +KIND\/PHASE +AGENT +HEARTBEAT +RUN\/WAIT\/KV +GPUS$/);
    expect(view.lines[0]).toMatch(/^› vllm-gpu1-qwen3 +managed\/active +gpu1 +4s +3\/1\/42% +2×H100 80GB 83% 118\/159GiB$/);
    expect(view.lines[1]).toMatch(/^ {2}vllm-gpu2-qwen3 +managed\/stale +gpu2 +5m +- +1×H100 80GB 0% 58\/80GiB$/);
    expect(view.lines[2]).toMatch(/^ {2}vllm-gpu3-qwen3 +managed\/draining +gpu3 +6s +- +-$/);
  });

  test('a Degraded pool header says Degraded, red only when colour is on', () => {
    const degraded = buildTuiFleet({ files: degradedFiles() });
    const model = deriveMembersModel(degraded.views, 'user-vllm-qwen3-thinking', policiesOfPools(degraded.pools), '');
    if (model === null) throw new Error('no model');
    const plain = formatMembersView(model, null, { width: 80, height: 10, color: false, nowMs: NOW_MS });
    expect(plain.header[0]).toMatch(/min 2 {2}Degraded$/);
    const coloured = formatMembersView(model, null, { width: 80, height: 10, color: true, nowMs: NOW_MS });
    expect(coloured.header[0]).toContain('\u001b[31mDegraded');
  });

  test('rows fit 80 columns: the GPU column is cut, never the layout', () => {
    const model = deriveMembersModel(fleet.views, 'user-vllm-qwen3-thinking', policies, '');
    if (model === null) throw new Error('no model');
    const view = formatMembersView(model, null, { width: 80, height: 10, color: true, nowMs: NOW_MS });
    for (const line of [...view.header, ...view.lines]) expect(measureWidth(line)).toBeLessThanOrEqual(80);
    expect(stripAnsi(view.lines[0] ?? '')).toContain('2×H100');
  });
});
