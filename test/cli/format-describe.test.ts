import { describe, expect, it } from 'vitest';
import { measureWidth, stripAnsi } from '../../cli/format/color.js';
import { ANCHOR_MARK, DESCRIBE_WIDTH, findLiveFindings, formatDescribe, formatDrift, formatGpus, POOL_BLOCK_MAX_MEMBERS } from '../../cli/format/describe.js';
import { loadResources } from '../../schema/codec.js';
import { computePlan } from '../../schema/plan.js';
import { buildFleet, buildRealisticFleet, h100, liveLlm, NOW_MS, REALISTIC_FILES } from './support/views.js';

const plain = { color: false, nowMs: NOW_MS };

function describeOf(name: string, color = false): string {
  const fleet = buildRealisticFleet();
  return formatDescribe(fleet.view(name), fleet.members(name), { color, nowMs: NOW_MS });
}

const DRIFTED = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu1-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  url: http://gpu1.lan:8000/v1
  poolName: user-vllm-qwen3-thinking
`;

function buildDriftFleet() {
  // The agent on gpu1 still publishes the old model and no poolName, at another port.
  return buildFleet({
    files: { 'llms/gpu1.yaml': DRIFTED },
    live: [liveLlm({ name: 'vllm-gpu1-qwen3', model: 'Qwen/Qwen3-4B', url: 'http://gpu1.lan:8001/v1', agentId: 'gpu1', gpus: [h100(0, 40960.4, 55.5)] })],
  });
}

describe('describe llm goldens', () => {
  const cases: [string, string][] = [
    ['vllm-gpu1-qwen3', 'explicit-pool-anchor'],
    ['llama3-70b', 'implicit-pool-legacy-anchor'],
    ['llamacpp-gpu4-llama3', 'implicit-pool-worker'],
    ['ollama-laptop', 'solo'],
    ['vllm-gpu2-qwen3', 'stale-member'],
    ['vllm-gpu3-qwen3', 'draining-member'],
    ['llamacpp-gpu5-llama3', 'unhealthy-member'],
    ['openai-gpt4o', 'static-api-key-ref'],
    ['ollama-workstation', 'pending-declared'],
  ];
  for (const [name, file] of cases) {
    it(`${file} (${name})`, async () => {
      await expect(describeOf(name)).toMatchFileSnapshot(`../golden/describe/${file}.txt`);
    });
  }

  it('explicit-pool-anchor with colour', async () => {
    await expect(describeOf('vllm-gpu1-qwen3', true)).toMatchFileSnapshot('../golden/describe/explicit-pool-anchor-color.txt');
  });

  it('drift between Git and what the agent publishes', async () => {
    const fleet = buildDriftFleet();
    const text = formatDescribe(fleet.view('vllm-gpu1-qwen3'), fleet.members('vllm-gpu1-qwen3'), plain);
    await expect(text).toMatchFileSnapshot('../golden/describe/drift.txt');
  });

  it('a pool too large to list: the first members, the anchor, and a count of the rest', async () => {
    const live = Array.from({ length: 30 }, (_, i) =>
      liveLlm({ name: `vllm-worker-${String(i + 1).padStart(2, '0')}-qwen3`, poolName: 'campus-qwen3', agentId: `node${i + 1}` }),
    );
    const fleet = buildFleet({ live });
    const text = formatDescribe(fleet.view('vllm-worker-27-qwen3'), fleet.members('vllm-worker-27-qwen3'), plain);
    await expect(text).toMatchFileSnapshot('../golden/describe/large-pool.txt');
  });

  it('a member on MIG and unified-memory GPUs: the figures nvidia-smi could not give read -', async () => {
    const gpus = [{ ...h100(0, 20341, 0), utilizationPct: null }, h100(1, 40127.2, 35), { index: 2, name: 'NVIDIA GB10', memoryTotalMiB: null, memoryUsedMiB: null, utilizationPct: 12 }];
    const fleet = buildFleet({ live: [liveLlm({ name: 'vllm-gpu7-qwen3', poolName: 'mig-qwen3', agentId: 'gpu7', gpus })] });
    const text = formatDescribe(fleet.view('vllm-gpu7-qwen3'), fleet.members('vllm-gpu7-qwen3'), plain);
    await expect(text).toMatchFileSnapshot('../golden/describe/mig-gpu.txt');
  });

  it('an explicit pool whose members could not be fetched', async () => {
    const fleet = buildRealisticFleet();
    await expect(formatDescribe(fleet.view('vllm-gpu1-qwen3'), null, plain)).toMatchFileSnapshot('../golden/describe/members-unavailable.txt');
  });
});

describe('describe llm facts', () => {
  it('puts the Pool block first, before Name, for an explicit pool and for an implicit pool of several', () => {
    for (const name of ['vllm-gpu1-qwen3', 'llama3-70b', 'llamacpp-gpu4-llama3']) {
      const lines = describeOf(name).split('\n');
      expect(lines[0]?.startsWith('Pool:  ')).toBe(true);
      expect(lines.findIndex((l) => l.startsWith('Name:'))).toBeGreaterThan(3);
    }
    expect(describeOf('llama3-70b').split('\n')[0]).toBe('Pool:  llama3-70b (implicit)  size 3  active 2/3  min 0  Healthy');
    expect(describeOf('llamacpp-gpu4-llama3').split('\n')[0]).toBe('Pool:  llama3-70b (explicit)  size 3  active 2/3  min 0  Healthy');
    expect(describeOf('vllm-gpu1-qwen3').split('\n')[0]).toBe('Pool:  user-vllm-qwen3-thinking (explicit)  size 3  active 1/3  min 1  Healthy');
  });

  it('marks the anchor, and only the anchor, with ← this row', () => {
    for (const name of ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3', 'llama3-70b', 'llamacpp-gpu5-llama3']) {
      const marked = describeOf(name).split('\n').filter((l) => l.includes(ANCHOR_MARK));
      expect(marked).toHaveLength(1);
      expect(marked[0]?.trimStart().startsWith(`${name} `)).toBe(true);
      expect(marked[0]?.endsWith(ANCHOR_MARK)).toBe(true);
    }
  });

  it('lists every member with kind/phase', () => {
    const text = describeOf('vllm-gpu2-qwen3');
    expect(text).toMatch(/^ {2}vllm-gpu1-qwen3 +managed\/active +gpu1 +4s$/m);
    expect(text).toMatch(/^ {2}vllm-gpu2-qwen3 +managed\/stale +gpu2 +5m +← this row$/m);
    expect(text).toMatch(/^ {2}vllm-gpu3-qwen3 +managed\/draining +gpu3 +6s$/m);
  });

  it('has no Pool block for a solo Llm, and says solo in its status', () => {
    for (const name of ['ollama-laptop', 'openai-gpt4o', 'ollama-workstation']) {
      const text = describeOf(name);
      expect(text.startsWith('Name:')).toBe(true);
      expect(text).not.toContain(ANCHOR_MARK);
      expect(text).toMatch(/^ {2}Pool: +- \(solo\)$/m);
    }
  });

  it('shows the API key reference and never a value', () => {
    const text = describeOf('openai-gpt4o');
    expect(text).toMatch(/^ {2}API Key Ref: +env:OPENAI_API_KEY$/m);
  });

  it('reports drift one line per field, an unset side as <unset>, at the document that declares it', () => {
    expect(formatDrift({ path: 'spec.poolName', declared: 'a', live: 'b' })).toBe('spec.poolName: declared a, live b');
    const fleet = buildDriftFleet();
    const text = formatDescribe(fleet.view('vllm-gpu1-qwen3'), fleet.members('vllm-gpu1-qwen3'), plain);
    expect(text).toContain('    spec.poolName: declared user-vllm-qwen3-thinking, live <unset>  (llms/gpu1.yaml:1)\n');
    expect(text).toContain('    spec.model: declared Qwen/Qwen3-8B, live Qwen/Qwen3-4B  (llms/gpu1.yaml:1)\n');
  });

  it('keeps the phase reason for a drifting Llm and locates each drift in the Drift block (drift is said once)', () => {
    const fleet = buildFleet({
      files: { 'llms/pool.yaml': `# two lines of comment\n\n${DRIFTED}` },
      live: [liveLlm({ name: 'vllm-gpu1-qwen3', poolName: 'other-pool', url: 'http://gpu1.lan:8000/v1', agentId: 'gpu1', ageSeconds: 0 })],
    });
    const text = formatDescribe(fleet.view('vllm-gpu1-qwen3'), fleet.members('vllm-gpu1-qwen3'), plain);
    expect(text).toMatch(/^ {2}Reason: +heartbeat 0s ago from agent gpu1$/m);
    expect(text).toContain('    spec.poolName: declared user-vllm-qwen3-thinking, live other-pool  (llms/pool.yaml:3)\n');
    expect(text.match(/other-pool/g)).toHaveLength(1);
  });

  it('words every live finding as the plan does, for every Llm of the fleet', () => {
    // The real plan of the realistic fleet's files against themselves, with the fleet as the live state.
    const loaded = loadResources(Object.entries(REALISTIC_FILES).map(([path, text]) => ({ path, text })));
    if (!loaded.ok) throw new Error('realistic fleet does not load');
    const fleet = buildRealisticFleet();
    const declared = { llms: loaded.llms, pools: loaded.pools };
    const plan = computePlan({ desired: declared, base: { ...declared, revision: null, label: 'base' }, live: fleet.views });
    expect(new Set(plan.findings.map((f) => f.type))).toEqual(new Set(['pending', 'stale', 'unhealthy', 'unmanaged']));
    for (const view of fleet.views) {
      const name = view.metadata.name;
      const expected = plan.findings.filter((f) => f.name === name);
      expect(findLiveFindings(view)).toEqual(expected);
      const text = describeOf(name);
      for (const f of expected) expect(text).toContain(f.file === null ? `${f.reason}\n` : `${f.reason}  (${f.file}:${f.line})\n`);
      if (expected.length === 0) expect(text).toContain(`  Reason:  ${view.status.reason}\n`);
    }
  });

  it('gives a stale drifting Llm the plan\'s stale finding as Reason, and its drift in the Drift block', () => {
    const fleet = buildFleet({
      files: { 'llms/gpu1.yaml': DRIFTED },
      live: [liveLlm({ name: 'vllm-gpu1-qwen3', poolName: 'user-vllm-qwen3-thinking', url: 'http://gpu1.lan:8000/v1', model: 'Qwen/Qwen3-4B', agentId: 'gpu1', ageSeconds: 92 })],
    });
    const lines = formatDescribe(fleet.view('vllm-gpu1-qwen3'), fleet.members('vllm-gpu1-qwen3'), plain).split('\n');
    const at = lines.findIndex((l) => l.startsWith('  Reason:'));
    expect(lines.slice(at, at + 2)).toEqual(['  Reason:  stale: no heartbeat for 92s  (llms/gpu1.yaml:1)', '  Pool:    user-vllm-qwen3-thinking (explicit, 1 member)']);
    expect(lines).toContain('    spec.model: declared Qwen/Qwen3-8B, live Qwen/Qwen3-4B  (llms/gpu1.yaml:1)');
  });

  it('lines GPUs up as index, name, used/total MiB, utilisation', () => {
    expect(formatGpus([h100(1, 60102, 79), h100(0, 61234, 87.4)])).toEqual([
      '0  NVIDIA H100 80GB HBM3  61234/81559 MiB  87%',
      '1  NVIDIA H100 80GB HBM3  60102/81559 MiB  79%',
    ]);
  });

  it('prints a figure the agent could not read (null) as -, never as 0', () => {
    expect(formatGpus([{ ...h100(0, 20341, 0), utilizationPct: null }, { ...h100(1, 0, 0), memoryUsedMiB: null }, { index: 2, name: 'NVIDIA GB10', memoryTotalMiB: null, memoryUsedMiB: null, utilizationPct: null }])).toEqual([
      '0  NVIDIA H100 80GB HBM3  20341/81559 MiB  -',
      '1  NVIDIA H100 80GB HBM3  -/81559 MiB      0%',
      '2  NVIDIA GB10            -                -',
    ]);
  });

  it('keeps the pool header within 80 columns, wrapping the numbers for a long key', () => {
    const key = `p${'o'.repeat(61)}l`;
    const fleet = buildFleet({
      live: [liveLlm({ name: 'w1', poolName: key, agentId: 'a1' }), liveLlm({ name: 'w2', poolName: key, agentId: 'a2' })],
    });
    const lines = formatDescribe(fleet.view('w1'), fleet.members('w1'), plain).split('\n');
    expect(lines[0]).toBe(`Pool:  ${key} (explicit)`);
    expect(lines[1]).toBe('       size 2  active 2/2  min 0  Healthy');
    for (const name of ['vllm-gpu1-qwen3', 'llama3-70b']) {
      const header = describeOf(name).split('\n')[0] ?? '';
      expect(measureWidth(header)).toBeLessThanOrEqual(DESCRIBE_WIDTH);
    }
  });

  it('lists at most the block limit of members, the anchor always among them', () => {
    const live = Array.from({ length: 30 }, (_, i) => liveLlm({ name: `w${String(i).padStart(2, '0')}`, poolName: 'big', agentId: `n${i}` }));
    const fleet = buildFleet({ live });
    const lines = formatDescribe(fleet.view('w29'), fleet.members('w29'), plain).split('\n');
    const memberLines = lines.slice(1, lines.indexOf(''));
    expect(memberLines).toHaveLength(POOL_BLOCK_MAX_MEMBERS + 1);
    expect(memberLines[POOL_BLOCK_MAX_MEMBERS - 1]).toMatch(/^ {2}w29 .*← this row$/);
    expect(memberLines[POOL_BLOCK_MAX_MEMBERS]).toBe('  … 10 more: mcpctl get llms --pool big');
  });

  it('reads the same with colour once ANSI is stripped, with no trailing spaces', () => {
    for (const name of ['vllm-gpu1-qwen3', 'llamacpp-gpu5-llama3', 'openai-gpt4o', 'ollama-workstation']) {
      const coloured = describeOf(name, true);
      const text = describeOf(name);
      expect(coloured).toContain('\u001b[');
      expect(stripAnsi(coloured)).toBe(text);
      for (const line of text.split('\n')) expect(line).toBe(line.trimEnd());
      expect(text.endsWith('\n')).toBe(true);
    }
  });
});
