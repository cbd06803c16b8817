import { describe, expect, test } from 'vitest';
import { stripAnsi } from '../../cli/format/color.js';
import { formatApplyLines, formatPlanLines, formatResourceDiff } from '../../cli/tui/plan-lines.js';
import { buildResourceDiffs, fingerprintDeclared } from '../../cli/tui/resource-diffs.js';
import { buildTuiFleet, declaredOf, editedFiles, planOf, REALISTIC_FILES } from './support/tui-fleet.js';

const fleet = buildTuiFleet();
const result = planOf(REALISTIC_FILES, editedFiles(), fleet.views);

describe('buildResourceDiffs', () => {
  test('one diff per changed resource, in plan order, with canonical YAML on each side', () => {
    expect(result.diffs.map((d) => `${d.action} ${d.kind} ${d.name} ${d.file}:${d.line}`)).toEqual([
      'delete Llm ollama-workstation llms/ollama-dev.yaml:1',
      'update Llm vllm-gpu3-qwen3 llms/qwen3-thinking-pool.yaml:30',
      'create Llm vllm-gpu4-qwen3 llms/gpu4.yaml:1',
    ]);
    const created = result.diffs[2];
    expect(created?.beforeYaml).toBe('');
    expect(created?.afterYaml).toBe('apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: vllm-gpu4-qwen3\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n  poolName: user-vllm-qwen3-thinking\n');
  });

  test('LlmPool changes come after the Llms', () => {
    const files = { ...REALISTIC_FILES };
    files['llms/qwen3-thinking-pool.yaml'] = (files['llms/qwen3-thinking-pool.yaml'] ?? '').replace('minActive: 1', 'minActive: 2');
    const pools = planOf(REALISTIC_FILES, files, fleet.views);
    expect(pools.diffs.map((d) => `${d.action} ${d.kind} ${d.name}`)).toEqual(['update LlmPool user-vllm-qwen3-thinking']);
    expect(formatResourceDiff(pools.diffs[0]!, false)).toContain('  +   minActive: 2');
  });

  test('the fingerprint ignores formatting and file placement, and sees every field', () => {
    const a = declaredOf(REALISTIC_FILES);
    const moved = declaredOf({ ...REALISTIC_FILES, 'llms/hosted.yaml': '', 'llms/elsewhere.yaml': `# moved\n${REALISTIC_FILES['llms/hosted.yaml']}` });
    expect(fingerprintDeclared(moved)).toBe(fingerprintDeclared(a));
    expect(fingerprintDeclared(declaredOf(editedFiles()))).not.toBe(fingerprintDeclared(a));
    expect(buildResourceDiffs(planOf(REALISTIC_FILES, REALISTIC_FILES, fleet.views).plan, a, a)).toEqual([]);
  });
});

describe('formatResourceDiff', () => {
  test('an update shows its changed line among unchanged context, marked - or +', () => {
    expect(formatResourceDiff(result.diffs[1]!, false)).toEqual([
      '~ Llm vllm-gpu3-qwen3  (llms/qwen3-thinking-pool.yaml:30)',
      '      type: vllm',
      '      model: Qwen/Qwen3-8B',
      '      poolName: user-vllm-qwen3-thinking',
      '  -   enabled: false',
    ]);
  });

  test('in colour, removed lines are red and added lines green, with the same words', () => {
    const coloured = formatResourceDiff(result.diffs[2]!, true);
    expect(coloured[1]).toBe('\u001b[32m  + apiVersion: mcpctl/v1\u001b[39m');
    expect(formatResourceDiff(result.diffs[0]!, true)[1]).toBe('\u001b[31m  - apiVersion: mcpctl/v1\u001b[39m');
    expect(coloured.map(stripAnsi)).toEqual(formatResourceDiff(result.diffs[2]!, false));
  });

  test('several hunks are headed by their line ranges', () => {
    const before = Array.from({ length: 20 }, (_, i) => `k${i}: v`).join('\n') + '\n';
    const after = before.replace('k1: v', 'k1: w').replace('k18: v', 'k18: w');
    const lines = formatResourceDiff({ kind: 'Llm', name: 'x', action: 'update', file: '', line: 0, beforeYaml: before, afterYaml: after }, false);
    expect(lines[0]).toBe('~ Llm x');
    expect(lines.filter((l) => l.startsWith('    @@'))).toEqual(['    @@ -1,5 +1,5 @@', '    @@ -16,5 +16,5 @@']);
  });
});

describe('formatPlanLines', () => {
  test('the plan as the TUI shows it: header, YAML diffs, pools, live, policy and summary', async () => {
    await expect(`${formatPlanLines(result, false).join('\n')}\n`).toMatchFileSnapshot('../golden/tui/plan-lines.txt');
  });

  test('an empty plan says so and still ends with the summary line', () => {
    const lines = formatPlanLines(planOf(REALISTIC_FILES, REALISTIC_FILES, fleet.views), false);
    expect(lines.slice(-2)).toEqual(['No changes. Desired state matches reconciler revision 3f2c1e9.', 'Plan: 0 to add, 0 to change, 0 to remove.']);
  });
});

describe('formatApplyLines', () => {
  test('each step has a mark and its state in words; the outcome closes the panel', () => {
    const lines = formatApplyLines(
      [
        { step: 'write', state: 'done', detail: 'llms/gpu4.yaml (working tree)' },
        { step: 'commit', state: 'done', detail: '1a2b3c4 apply vllm-gpu4-qwen3' },
        { step: 'push', state: 'skipped', detail: 'no remote' },
        { step: 'sync', state: 'failed', detail: 'the reconciler rejected revision 1a2b3c4' },
        { step: 'converged', state: 'pending', detail: '' },
      ],
      { ok: false, message: 'Apply stopped at sync: the reconciler rejected revision 1a2b3c4' },
      false,
    );
    expect(lines).toEqual([
      'Apply',
      '  ✓ write      llms/gpu4.yaml (working tree)',
      '  ✓ commit     1a2b3c4 apply vllm-gpu4-qwen3',
      '  - push       skipped: no remote',
      '  ✗ sync       failed: the reconciler rejected revision 1a2b3c4',
      '  · converged  pending',
      'Apply stopped at sync: the reconciler rejected revision 1a2b3c4',
    ]);
  });
});
