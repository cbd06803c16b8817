import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { measureWidth, stripAnsi } from '../../cli/format/color.js';
import { policiesOfPools } from '../../client/llm-cache.js';
import { derivePoolsModel, formatBar, formatPoolsView, isSoloPool, paintBar } from '../../cli/tui/pool-rows.js';
import { buildTuiFleet, degradedFiles, liveLlm, buildRealisticLive } from './support/tui-fleet.js';

function modelOf(fleet = buildTuiFleet(), filter = '') {
  return derivePoolsModel(fleet.views, policiesOfPools(fleet.pools), filter);
}

describe('derivePoolsModel', () => {
  test('pools are sorted by key and solo Llms come in their own section, sorted by name', () => {
    const model = modelOf();
    expect(model.pools.map((p) => p.key)).toEqual(['llama3-70b', 'user-vllm-qwen3-thinking']);
    expect(model.solos.map((s) => s.key)).toEqual(['ollama-laptop', 'ollama-workstation', 'openai-gpt4o']);
    expect(model.order).toEqual([...model.pools.map((p) => p.key), ...model.solos.map((s) => s.key)]);
  });

  test('a pool row carries active/size, min and health as the pool rules compute them', () => {
    const qwen = modelOf().pools.find((p) => p.key === 'user-vllm-qwen3-thinking');
    expect(qwen).toMatchObject({ explicit: true, size: 3, activeCount: 1, minActive: 1, health: 'Healthy' });
  });

  test('a pool below its minActive is Degraded', () => {
    const qwen = modelOf(buildTuiFleet({ files: degradedFiles() })).pools.find((p) => p.key === 'user-vllm-qwen3-thinking');
    expect(qwen).toMatchObject({ activeCount: 1, minActive: 2, health: 'Degraded' });
  });

  test('a legacy solo Llm joined by a worker becomes a pool and leaves the solo section', () => {
    const fleet = buildTuiFleet({ live: [...buildRealisticLive(), liveLlm({ name: 'ollama-gpu9', poolName: 'ollama-laptop', agentId: 'gpu9' })] });
    const model = modelOf(fleet);
    expect(model.pools.map((p) => p.key)).toContain('ollama-laptop');
    expect(model.solos.map((s) => s.key)).not.toContain('ollama-laptop');
    expect(model.pools.find((p) => p.key === 'ollama-laptop')).toMatchObject({ size: 2, activeCount: 2, explicit: true });
  });

  test('an LlmPool without members is listed as a pool of 0, never as solo', () => {
    const files = { ...degradedFiles(), 'llms/empty.yaml': 'apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: future-pool\nspec:\n  minActive: 1\n' };
    const fleet = buildTuiFleet({ files });
    const row = modelOf(fleet).pools.find((p) => p.key === 'future-pool');
    expect(row).toMatchObject({ size: 0, activeCount: 0, minActive: 1, health: 'Degraded', members: [] });
  });

  test.each([
    ['qwen3', ['user-vllm-qwen3-thinking'], []],
    ['GPU4', ['llama3-70b'], []],
    ['ollama', [], ['ollama-laptop', 'ollama-workstation']],
    ['nothing-like-this', [], []],
    ['  ', ['llama3-70b', 'user-vllm-qwen3-thinking'], ['ollama-laptop', 'ollama-workstation', 'openai-gpt4o']],
  ])('filter %j keeps pools %j and solo Llms %j (by key or member name, any case)', (filter, pools, solos) => {
    const model = modelOf(buildTuiFleet(), filter);
    expect(model.pools.map((p) => p.key)).toEqual(pools);
    expect(model.solos.map((s) => s.key)).toEqual(solos);
  });

  test('isSoloPool: implicit and one member', () => {
    expect(isSoloPool({ explicit: false, size: 1 })).toBe(true);
    expect(isSoloPool({ explicit: true, size: 1 })).toBe(false);
    expect(isSoloPool({ explicit: false, size: 2 })).toBe(false);
  });
});

describe('formatBar', () => {
  test.each([
    [0, 3, 0],
    [1, 3, 3],
    [2, 3, 7],
    [3, 3, 10],
    [1, 40, 1],
    [39, 40, 9],
    [0, 0, 0],
    [5, 3, 10],
  ])('%i of %i fills %i of 10 cells', (active, size, full) => {
    expect(formatBar(active, size)).toEqual({ full, empty: 10 - full });
  });

  test('some active shows some fill, some missing shows some empty, and the width never changes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 2, max: 20 }), (a, size, width) => {
        const active = Math.min(a, size);
        const { full, empty } = formatBar(active, size, width);
        expect(full + empty).toBe(width);
        if (active > 0) expect(full).toBeGreaterThan(0);
        if (active < size) expect(empty).toBeGreaterThan(0);
        if (active === size && size > 0) expect(empty).toBe(0);
      }),
    );
  });

  test('the bar is characters first: without colour it still shows the proportion', () => {
    expect(paintBar(2, 3, false, false)).toBe('███████░░░');
    expect(stripAnsi(paintBar(2, 3, true, true))).toBe('███████░░░');
    expect(paintBar(2, 3, true, true)).toContain('\u001b[31m');
  });
});

describe('formatPoolsView', () => {
  test('a Degraded pool says so in words, and in red when colour is on', () => {
    const model = modelOf(buildTuiFleet({ files: degradedFiles() }));
    const plain = formatPoolsView(model, null, { width: 80, height: 20, color: false });
    const row = plain.lines.find((l) => l.includes('user-vllm-qwen3-thinking'));
    expect(row).toMatch(/1\/3 .* Degraded$/);
    const coloured = formatPoolsView(model, null, { width: 80, height: 20, color: true });
    const colouredRow = coloured.lines.find((l) => stripAnsi(l).includes('user-vllm-qwen3-thinking')) ?? '';
    expect(colouredRow).toContain('\u001b[31mDegraded');
    expect(stripAnsi(colouredRow)).toBe(row);
  });

  test('the selected row carries the cursor mark; others do not', () => {
    const view = formatPoolsView(modelOf(), 'openai-gpt4o', { width: 80, height: 20, color: false });
    expect(view.lines.filter((l) => l.startsWith('› '))).toEqual([expect.stringContaining('openai-gpt4o')]);
  });

  test('no line is wider than the terminal, at 80 columns and wider, with long keys', () => {
    const long = 'a-very-long-pool-key-that-goes-on-and-on-well-past-any-column-width';
    const fleet = buildTuiFleet({ live: [...buildRealisticLive(), liveLlm({ name: 'w1', poolName: long, agentId: 'g1' }), liveLlm({ name: 'w2', poolName: long, agentId: 'g2' })] });
    for (const width of [80, 100, 132]) {
      const view = formatPoolsView(modelOf(fleet), long, { width, height: 20, color: true });
      for (const line of [view.header, ...view.lines]) expect(measureWidth(line)).toBeLessThanOrEqual(width);
      expect(view.lines.some((l) => stripAnsi(l).includes('a-very-long-pool-key-that-goes'))).toBe(true);
    }
  });

  test('a long list is windowed around the cursor within the height', () => {
    const live = Array.from({ length: 30 }, (_, i) => liveLlm({ name: `solo-${String(i).padStart(2, '0')}`, agentId: `h${i}` }));
    const fleet = buildTuiFleet({ files: {}, live });
    const view = formatPoolsView(modelOf(fleet), 'solo-20', { width: 80, height: 10, color: false });
    expect(view.lines.length).toBe(9);
    expect(view.lines.some((l) => l.startsWith('› solo-20'))).toBe(true);
    expect(view.lines[0]).toMatch(/^↑ \d+ more$/);
    expect(view.lines.at(-1)).toMatch(/^↓ \d+ more$/);
  });
});
