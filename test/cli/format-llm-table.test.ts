import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../cli/format/color.js';
import { formatLlmNames, formatLlmTable } from '../../cli/format/llm-table.js';
import { buildFleet, buildRealisticFleet, liveLlm, NOW_MS } from './support/views.js';

const plain = { wide: false, color: false, nowMs: NOW_MS };

/** Cells of one table line (cells never hold three spaces in a row; gaps always do). */
function cellsOf(line: string): string[] {
  return line.split(/ {3,}/);
}

function rowOf(stdout: string, name: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no row ${name} in\n${stdout}`);
  return cellsOf(line);
}

const SMALL_POOL = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu1-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3-pool
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu2-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3-pool
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: tgi-mistral
spec:
  type: tgi
  model: mistralai/Mistral-7B-Instruct-v0.3
`;

function buildSmallFleet() {
  return buildFleet({
    files: { 'llms/small.yaml': SMALL_POOL },
    live: [
      liveLlm({ name: 'vllm-gpu1-qwen3', poolName: 'qwen3-pool', agentId: 'gpu1', ageSeconds: 12 }),
      liveLlm({ name: 'vllm-gpu2-qwen3', poolName: 'qwen3-pool', agentId: 'gpu2', ageSeconds: 3 }),
      liveLlm({ name: 'tgi-mistral', type: 'tgi', model: 'mistralai/Mistral-7B-Instruct-v0.3', agentId: 'gpu3', ageSeconds: 9 }),
    ],
  });
}

describe('get llm table goldens', () => {
  it('a small fleet: one explicit pool of two and a solo Llm', async () => {
    const fleet = buildSmallFleet();
    const out = formatLlmTable(fleet.views, fleet.pools, plain);
    expect(out.stderr).toBe('');
    await expect(out.stdout).toMatchFileSnapshot('../golden/get/llms-small.txt');
  });

  it('the realistic fleet, without colour', async () => {
    const fleet = buildRealisticFleet();
    await expect(formatLlmTable(fleet.views, fleet.pools, plain).stdout).toMatchFileSnapshot('../golden/get/llms-fleet.txt');
  });

  it('the realistic fleet, with colour', async () => {
    const fleet = buildRealisticFleet();
    await expect(formatLlmTable(fleet.views, fleet.pools, { ...plain, color: true }).stdout).toMatchFileSnapshot(
      '../golden/get/llms-fleet-color.txt',
    );
  });

  it('the realistic fleet, wide', async () => {
    const fleet = buildRealisticFleet();
    await expect(formatLlmTable(fleet.views, fleet.pools, { ...plain, wide: true }).stdout).toMatchFileSnapshot(
      '../golden/get/llms-fleet-wide.txt',
    );
  });

  it('no Llms: nothing on stdout, "No resources found." on stderr', async () => {
    const out = formatLlmTable([], [], plain);
    expect(out.stdout).toBe('');
    await expect(`--- stdout ---\n${out.stdout}--- stderr ---\n${out.stderr}`).toMatchFileSnapshot('../golden/get/llms-empty.txt');
  });

  it('-o name lists llm/<name> per line', async () => {
    const fleet = buildRealisticFleet();
    const out = formatLlmNames(fleet.views);
    expect(out.stderr).toBe('');
    await expect(out.stdout).toMatchFileSnapshot('../golden/get/llms-names.txt');
    expect(formatLlmNames([])).toEqual({ stdout: '', stderr: 'No resources found.\n' });
  });

  it('get llm NAME for one pool member, with the served pools', async () => {
    const fleet = buildRealisticFleet();
    const out = formatLlmTable([fleet.view('llama3-70b')], fleet.pools, { ...plain, wide: true });
    await expect(out.stdout).toMatchFileSnapshot('../golden/get/llm-single-wide.txt');
  });
});

describe('get llm table facts', () => {
  it('puts POOL right after NAME', () => {
    const fleet = buildRealisticFleet();
    for (const wide of [false, true]) {
      const header = cellsOf(formatLlmTable(fleet.views, fleet.pools, { ...plain, wide }).stdout.split('\n')[0] ?? '');
      expect(header.slice(0, 7)).toEqual(['NAME', 'POOL', 'KIND', 'STATUS', 'TYPE', 'MODEL', 'AGE']);
      if (wide) expect(header.slice(7)).toEqual(['POOL-ACTIVE', 'URL', 'AGENT', 'RUNNING', 'WAITING', 'KV']);
    }
  });

  it('shows - in POOL for solo Llms and the key for every pool member, the legacy anchor included', () => {
    const fleet = buildRealisticFleet();
    const { stdout } = formatLlmTable(fleet.views, fleet.pools, plain);
    expect(rowOf(stdout, 'ollama-laptop')[1]).toBe('-');
    expect(rowOf(stdout, 'openai-gpt4o')[1]).toBe('-');
    expect(rowOf(stdout, 'ollama-workstation')[1]).toBe('-');
    expect(rowOf(stdout, 'llama3-70b')[1]).toBe('llama3-70b');
    expect(rowOf(stdout, 'llamacpp-gpu4-llama3')[1]).toBe('llama3-70b');
    expect(rowOf(stdout, 'vllm-gpu2-qwen3')[1]).toBe('user-vllm-qwen3-thinking');
  });

  it('shows the key of an explicit pool even when it has a single member', () => {
    const fleet = buildFleet({ live: [liveLlm({ name: 'vllm-gpu9-qwen3', poolName: 'lonely-pool', agentId: 'gpu9' })] });
    expect(rowOf(formatLlmTable(fleet.views, fleet.pools, plain).stdout, 'vllm-gpu9-qwen3')[1]).toBe('lonely-pool');
  });

  it('derives pools from the views when none are given, and uses the served pools for a filtered list', () => {
    const fleet = buildRealisticFleet();
    expect(formatLlmTable(fleet.views, null, plain).stdout).toBe(formatLlmTable(fleet.views, fleet.pools, plain).stdout);
    // One row of the legacy pool alone looks solo; the served pools say it has three members.
    const anchor = [fleet.view('llama3-70b')];
    expect(rowOf(formatLlmTable(anchor, null, plain).stdout, 'llama3-70b')[1]).toBe('-');
    expect(rowOf(formatLlmTable(anchor, fleet.pools, plain).stdout, 'llama3-70b')[1]).toBe('llama3-70b');
  });

  it('STATUS is the phase and AGE the time since the last heartbeat, - without an agent', () => {
    const fleet = buildRealisticFleet();
    const { stdout } = formatLlmTable(fleet.views, fleet.pools, plain);
    expect(rowOf(stdout, 'vllm-gpu1-qwen3').slice(2)).toEqual(['managed', 'active', 'vllm', 'Qwen/Qwen3-8B', '4s']);
    expect(rowOf(stdout, 'vllm-gpu2-qwen3').slice(3)).toEqual(['stale', 'vllm', 'Qwen/Qwen3-8B', '5m']);
    expect(rowOf(stdout, 'vllm-gpu3-qwen3')[3]).toBe('draining');
    expect(rowOf(stdout, 'llamacpp-gpu5-llama3')[3]).toBe('unhealthy');
    expect(rowOf(stdout, 'ollama-workstation').slice(2)).toEqual(['declared', 'pending', 'ollama', 'qwen3:8b', '-']);
    expect(rowOf(stdout, 'openai-gpt4o').slice(2)).toEqual(['static', 'active', 'openai', 'gpt-4o', '-']);
  });

  it('wide shows active/size for pooled rows and - for solo ones; URL falls back to the agent endpoint', () => {
    const fleet = buildRealisticFleet();
    const { stdout } = formatLlmTable(fleet.views, fleet.pools, { ...plain, wide: true });
    expect(rowOf(stdout, 'vllm-gpu1-qwen3').slice(7, 10)).toEqual(['1/3', 'http://gpu1.lan:8000/v1', 'gpu1']);
    expect(rowOf(stdout, 'llamacpp-gpu4-llama3').slice(7, 10)).toEqual(['2/3', 'http://gpu4.lan:8080/v1', 'gpu4']);
    expect(rowOf(stdout, 'openai-gpt4o').slice(7, 10)).toEqual(['-', 'https://api.openai.com/v1', '-']);
  });

  it('wide shows the engine load: RUNNING, WAITING and KV, - for what the engine does not report', () => {
    const fleet = buildRealisticFleet();
    const { stdout } = formatLlmTable(fleet.views, fleet.pools, { ...plain, wide: true });
    expect(rowOf(stdout, 'vllm-gpu1-qwen3').slice(10)).toEqual(['3', '1', '42%']);
    // llama.cpp exports no KV-cache gauge.
    expect(rowOf(stdout, 'llamacpp-gpu4-llama3').slice(10)).toEqual(['2', '5', '-']);
    // An engine without /metrics (Ollama), and a static endpoint without an agent.
    expect(rowOf(stdout, 'ollama-laptop').slice(10)).toEqual(['-', '-', '-']);
    expect(rowOf(stdout, 'openai-gpt4o').slice(10)).toEqual(['-', '-', '-']);
  });

  it('aligns identically with and without colour, and leaves no trailing spaces', () => {
    const fleet = buildRealisticFleet();
    for (const wide of [false, true]) {
      const plainOut = formatLlmTable(fleet.views, fleet.pools, { ...plain, wide }).stdout;
      const colourOut = formatLlmTable(fleet.views, fleet.pools, { ...plain, wide, color: true }).stdout;
      expect(colourOut).toContain('\u001b[');
      expect(stripAnsi(colourOut)).toBe(plainOut);
      for (const line of plainOut.split('\n')) expect(line).toBe(line.trimEnd());
      expect(plainOut.endsWith('\n')).toBe(true);
    }
  });
});
