import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../cli/format/color.js';
import { formatMembers, formatPoolTable, MEMBERS_MAX_CHARS } from '../../cli/format/pool-table.js';
import { buildFleet, buildRealisticFleet, liveLlm } from './support/views.js';

function cellsOf(line: string): string[] {
  return line.split(/ {3,}/);
}

const DEGRADED_POOLS = `apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: lab-llama
spec:
  minActive: 2
---
apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: future-mixtral
spec:
  minActive: 1
  description: reserved for the mixtral rollout; no workers yet
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu6-llama
spec:
  type: vllm
  model: meta-llama/Llama-3.1-8B-Instruct
  poolName: lab-llama
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu7-llama
spec:
  type: vllm
  model: meta-llama/Llama-3.1-8B-Instruct
  poolName: lab-llama
`;

function buildDegradedFleet() {
  return buildFleet({
    files: { 'llms/lab.yaml': DEGRADED_POOLS },
    live: [
      liveLlm({ name: 'vllm-gpu6-llama', poolName: 'lab-llama', agentId: 'gpu6', model: 'meta-llama/Llama-3.1-8B-Instruct' }),
      liveLlm({ name: 'vllm-gpu7-llama', poolName: 'lab-llama', agentId: 'gpu7', model: 'meta-llama/Llama-3.1-8B-Instruct', ageSeconds: 45 }),
    ],
  });
}

function buildWideFleet() {
  const live = Array.from({ length: 12 }, (_, i) =>
    liveLlm({ name: `vllm-worker-${String(i + 1).padStart(2, '0')}-qwen3`, poolName: 'campus-qwen3', agentId: `node${i + 1}` }),
  );
  return buildFleet({ live });
}

describe('get pools goldens', () => {
  it('the realistic fleet: an explicit pool, an implicit pool of several and solo pools', async () => {
    const fleet = buildRealisticFleet();
    const out = formatPoolTable(fleet.pools, { color: false });
    expect(out.stderr).toBe('');
    await expect(out.stdout).toMatchFileSnapshot('../golden/get/pools-fleet.txt');
  });

  it('the realistic fleet, with colour', async () => {
    const fleet = buildRealisticFleet();
    await expect(formatPoolTable(fleet.pools, { color: true }).stdout).toMatchFileSnapshot('../golden/get/pools-fleet-color.txt');
  });

  it('a Degraded pool below its MIN, and an LlmPool with no members yet', async () => {
    const fleet = buildDegradedFleet();
    await expect(formatPoolTable(fleet.pools, { color: false }).stdout).toMatchFileSnapshot('../golden/get/pools-degraded.txt');
  });

  it('a pool too large to list every member', async () => {
    const fleet = buildWideFleet();
    await expect(formatPoolTable(fleet.pools, { color: false }).stdout).toMatchFileSnapshot('../golden/get/pools-many-members.txt');
  });

  it('-o wide with a gateway: IN-FLIGHT per pool and name=N per member (members no gateway lists have 0)', async () => {
    const fleet = buildRealisticFleet();
    const inFlight = new Map([
      ['vllm-gpu1-qwen3', 3],
      ['llamacpp-gpu4-llama3', 1],
      ['openai-gpt4o', 12],
    ]);
    const out = formatPoolTable(fleet.pools, { color: false, inFlight });
    expect(out.stderr).toBe('');
    await expect(out.stdout).toMatchFileSnapshot('../golden/get/pools-fleet-wide-inflight.txt');
  });

  it('no pools: "No resources found." on stderr', () => {
    expect(formatPoolTable([], { color: false })).toMatchObject({ stdout: '', stderr: 'No resources found.\n' });
  });
});

describe('get pools facts', () => {
  it('has the columns POOL KEY SIZE ACTIVE MIN HEALTH MEMBERS, MIN and HEALTH right after ACTIVE', () => {
    const header = formatPoolTable(buildRealisticFleet().pools, { color: false }).stdout.split('\n')[0] ?? '';
    expect(cellsOf(header)).toEqual(['POOL', 'KEY', 'SIZE', 'ACTIVE', 'MIN', 'HEALTH', 'MEMBERS']);
  });

  it('says explicit or implicit per pool, with sizes, active counts and health', () => {
    const lines = formatPoolTable(buildRealisticFleet().pools, { color: false }).stdout.split('\n');
    const row = (key: string): string[] => cellsOf(lines.find((l) => l.startsWith(`${key} `)) ?? '');
    expect(row('user-vllm-qwen3-thinking')).toEqual([
      'user-vllm-qwen3-thinking', 'explicit', '3', '1', '1', 'Healthy', 'vllm-gpu1-qwen3,vllm-gpu2-qwen3,vllm-gpu3-qwen3',
    ]);
    // The legacy key is explicit for the pool because its workers set poolName to it (DESIGN §2).
    expect(row('llama3-70b').slice(1, 6)).toEqual(['explicit', '3', '2', '0', 'Healthy']);
    expect(row('openai-gpt4o').slice(1, 7)).toEqual(['implicit', '1', '1', '0', 'Healthy', 'openai-gpt4o']);
  });

  it('marks a pool below its floor Degraded and lists <none> for a pool without members', () => {
    const lines = formatPoolTable(buildDegradedFleet().pools, { color: false }).stdout.split('\n');
    expect(cellsOf(lines.find((l) => l.startsWith('lab-llama ')) ?? '').slice(3, 6)).toEqual(['1', '2', 'Degraded']);
    expect(cellsOf(lines.find((l) => l.startsWith('future-mixtral ')) ?? '').slice(2)).toEqual(['0', '0', '1', 'Degraded', '<none>']);
  });

  it('cuts MEMBERS at a name boundary within 60 characters and counts the rest', () => {
    const names = Array.from({ length: 12 }, (_, i) => `vllm-worker-${String(i + 1).padStart(2, '0')}-qwen3`);
    const cell = formatMembers(names);
    expect(cell.length).toBeLessThanOrEqual(MEMBERS_MAX_CHARS);
    expect(cell).toBe('vllm-worker-01-qwen3,vllm-worker-02-qwen3,… (+10)');
    expect(formatMembers(['a', 'b'])).toBe('a,b');
    const long = 'x'.repeat(63);
    expect(formatMembers([long, 'y'])).toBe(`${long},… (+1)`);
    expect(formatMembers([])).toBe('<none>');
  });

  it('aligns identically with and without colour', () => {
    const pools = buildRealisticFleet().pools;
    expect(stripAnsi(formatPoolTable(pools, { color: true }).stdout)).toBe(formatPoolTable(pools, { color: false }).stdout);
    const inFlight = new Map([['vllm-gpu1-qwen3', 2]]);
    expect(stripAnsi(formatPoolTable(pools, { color: true, inFlight }).stdout)).toBe(formatPoolTable(pools, { color: false, inFlight }).stdout);
  });

  it('with a gateway that knows no member: IN-FLIGHT 0 everywhere, every other cell as without one', () => {
    const pools = buildRealisticFleet().pools;
    const plain = formatPoolTable(pools, { color: false }).stdout.split('\n').map(cellsOf);
    const wide = formatPoolTable(pools, { color: false, inFlight: new Map() }).stdout.split('\n').map(cellsOf);
    expect(wide[0]).toEqual(['POOL', 'KEY', 'SIZE', 'ACTIVE', 'MIN', 'HEALTH', 'IN-FLIGHT', 'MEMBERS']);
    wide.slice(1, -1).forEach((row, i) => {
      expect(row.slice(0, 6)).toEqual(plain[i + 1]?.slice(0, 6));
      expect(row[6]).toBe('0');
      expect(row[7]).toBe(pools[i]?.members.map((m) => `${m}=0`).join(','));
    });
  });
});
