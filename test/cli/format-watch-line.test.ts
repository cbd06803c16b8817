import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../cli/format/color.js';
import { formatLlmCells, formatLlmTable, indexPools } from '../../cli/format/llm-table.js';
import { formatMembers, formatPoolTable } from '../../cli/format/pool-table.js';
import { formatLlmWatchTable, formatPoolWatchLine, formatWatchLine } from '../../cli/format/watch-line.js';
import { buildRealisticFleet, liveLlm, NOW_MS } from './support/views.js';

describe('get llm -w lines', () => {
  it('prints the table with an EVENT column (ADDED), then one row per change, every row under the header', async () => {
    const fleet = buildRealisticFleet();
    const table = formatLlmWatchTable(fleet.views, fleet.pools, { wide: false, color: false, nowMs: NOW_MS });
    // A moment later: gpu2 beats again, a new worker joins the legacy pool, the laptop leaves.
    const later = buildRealisticFleet((live) => [
      ...live.filter((l) => l.name !== 'vllm-gpu2-qwen3' && l.name !== 'ollama-laptop'),
      liveLlm({ name: 'vllm-gpu2-qwen3', poolName: 'user-vllm-qwen3-thinking', agentId: 'gpu2', ageSeconds: 1 }),
      liveLlm({ name: 'llamacpp-gpu8-llama3', poolName: 'llama3-70b', type: 'llamacpp', model: 'meta-llama/Llama-3.3-70B-Instruct', agentId: 'gpu8', ageSeconds: 0 }),
    ]);
    const options = { color: false, nowMs: NOW_MS, pools: later.pools, widths: table.widths };
    const lines = [
      formatWatchLine('MODIFIED', later.view('vllm-gpu2-qwen3'), options),
      formatWatchLine('ADDED', later.view('llamacpp-gpu8-llama3'), options),
      formatWatchLine('DELETED', fleet.view('ollama-laptop'), options),
    ];
    await expect(table.stdout + lines.join('')).toMatchFileSnapshot('../golden/get/llms-watch.txt');
    // Every row, the table's and the watch lines, starts each cell under its header.
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^EVENT {6}NAME /);
    const cellStarts = (line: string): number[] => [...line.matchAll(/(?:^| {3,})(\S)/g)].map((m) => (m.index ?? 0) + m[0].length - 1);
    for (const row of rows) expect(row.startsWith('ADDED ')).toBe(true);
    for (const line of [...rows, ...lines]) expect(cellStarts(line)).toEqual(cellStarts(header ?? ''));
    for (const line of lines) expect(line.endsWith('\n') && !line.endsWith(' \n')).toBe(true);
  });

  it('uses the same cells as the table row, after the event', () => {
    const fleet = buildRealisticFleet();
    const options = { wide: true, color: false, nowMs: NOW_MS };
    const view = fleet.view('llamacpp-gpu5-llama3');
    const line = formatWatchLine('MODIFIED', view, { ...options, pools: fleet.pools });
    const cells = formatLlmCells(view, indexPools(fleet.views, fleet.pools), options);
    expect(line).toBe(`MODIFIED   ${cells.join('   ')}\n`);
    expect(line.split(/ {3,}/)[2]).toBe('llama3-70b');
  });

  it('shows - in POOL for a solo Llm and pads ADDED to the width of MODIFIED', () => {
    const fleet = buildRealisticFleet();
    const line = formatWatchLine('ADDED', fleet.view('ollama-laptop'), { color: false, nowMs: NOW_MS, pools: fleet.pools });
    expect(line.startsWith('ADDED      ollama-laptop   -   virtual   active')).toBe(true);
  });

  it('aligns identically with and without colour', () => {
    const fleet = buildRealisticFleet();
    const widths = formatLlmTable(fleet.views, fleet.pools, { wide: false, color: false, nowMs: NOW_MS }).widths;
    for (const event of ['ADDED', 'MODIFIED', 'DELETED'] as const) {
      const base = { nowMs: NOW_MS, pools: fleet.pools, widths };
      const coloured = formatWatchLine(event, fleet.view('vllm-gpu3-qwen3'), { ...base, color: true });
      expect(coloured).toContain('\u001b[');
      expect(stripAnsi(coloured)).toBe(formatWatchLine(event, fleet.view('vllm-gpu3-qwen3'), { ...base, color: false }));
    }
  });
});

describe('get pools -w lines', () => {
  it('prints the table, then the changed pool rows with the same columns', async () => {
    const fleet = buildRealisticFleet();
    const table = formatPoolTable(fleet.pools, { color: false });
    // gpu2 beats again: its pool goes from 1 to 2 active members.
    const recovered = buildRealisticFleet((live) => [
      ...live.filter((l) => l.name !== 'vllm-gpu2-qwen3'),
      liveLlm({ name: 'vllm-gpu2-qwen3', poolName: 'user-vllm-qwen3-thinking', agentId: 'gpu2', ageSeconds: 1 }),
    ]);
    const pool = recovered.pools.find((p) => p.key === 'user-vllm-qwen3-thinking');
    if (pool === undefined) throw new Error('no pool');
    const line = formatPoolWatchLine(pool, { color: false, widths: table.widths });
    await expect(table.stdout + line).toMatchFileSnapshot('../golden/get/pools-watch.txt');
    expect(line.split(/ {3,}/).slice(0, 6)).toEqual(['user-vllm-qwen3-thinking', 'explicit', '3', '2', '1', 'Healthy']);
    const header = table.stdout.split('\n')[0] ?? '';
    expect(line.indexOf('explicit')).toBe(header.indexOf('KEY'));
  });

  it('keeps MEMBERS in place when a pool turns Degraded under a table of Healthy pools', () => {
    const fleet = buildRealisticFleet();
    const healthy = fleet.pools.filter((p) => p.health === 'Healthy');
    const table = formatPoolTable(healthy, { color: false, watch: true });
    const first = healthy[0];
    if (first === undefined) throw new Error('no pool');
    const degraded = { ...first, activeCount: 0, minActive: 1, health: 'Degraded' as const };
    const line = formatPoolWatchLine(degraded, { color: false, widths: table.widths });
    const header = table.stdout.split('\n')[0] ?? '';
    expect(line.indexOf(formatMembers(first.members))).toBe(header.indexOf('MEMBERS'));
  });

  it('aligns identically with and without colour', () => {
    const fleet = buildRealisticFleet();
    const pool = fleet.pools[0];
    if (pool === undefined) throw new Error('no pool');
    expect(stripAnsi(formatPoolWatchLine(pool, { color: true }))).toBe(formatPoolWatchLine(pool, { color: false }));
  });
});
