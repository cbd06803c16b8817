import { describe, expect, it } from 'vitest';
import { formatPlan, formatPlanLine, formatPlanValue, MARKDOWN_LIMIT } from '../../cli/format/plan-format.js';
import { stripAnsi } from '../../cli/format/color.js';
import { computePlan, planExitCode, type Plan } from '../../schema/plan.js';
import type { Resource } from '../../schema/resources.js';
import { declare, fleet, llm, locateWithoutYaml, pool, type FileContent, type Fleet } from '../builders.js';

// A realistic repository (the layout of examples/llms), served by the reconciler at revision
// 1a2b3c4 with a fleet of agents in front of it.
const POOL_FILE = `# yaml-language-server: $schema=../../schema/llm.schema.json
# The lab's Qwen3 thinking pool: one Llm per GPU host, one shared poolName.
apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: user-vllm-qwen3-thinking
spec:
  minActive: 1
  description: Qwen3 thinking workers on the lab GPUs
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu1-qwen3
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu2-qwen3
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
---
# gpu3 is down for a driver upgrade: drained, still listed in its pool.
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu3-qwen3
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
  enabled: false
`;
const HOSTED_FILE = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: openai-gpt4o
  labels: { team: platform, tier: hosted }
spec:
  type: openai
  model: gpt-4o
  url: https://api.openai.com/v1
  source: static
  apiKeyRef: { env: OPENAI_API_KEY }
`;
const LEGACY_FILE = `# A solo Llm from before pools; workers join it with poolName: llama3-70b.
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: llama3-70b
  annotations:
    owner: inference-team@example.com
spec:
  type: llamacpp
  model: meta-llama/Llama-3.3-70B-Instruct
`;
const OLLAMA_FILE = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: ollama-workstation
spec:
  type: ollama
  model: qwen3:8b
`;
const GPU4_DOC = `---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu4-qwen3
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: user-vllm-qwen3-thinking
`;
const BASE_FILES: Record<string, string> = {
  'llms/hosted.yaml': HOSTED_FILE,
  'llms/llama-legacy.yaml': LEGACY_FILE,
  'llms/ollama-dev.yaml': OLLAMA_FILE,
  'llms/qwen3-thinking-pool.yaml': POOL_FILE,
};

function realisticFleet(): Fleet {
  const f = fleet();
  for (const [file, text] of Object.entries(BASE_FILES)) f.declare(file, text);
  return f
    .probe('openai-gpt4o', { ok: true })
    .agent('gpu1')
    .llm('vllm-gpu1-qwen3', { poolName: 'user-vllm-qwen3-thinking', model: 'Qwen/Qwen3-8B-AWQ' })
    .agent('gpu2')
    .llm('vllm-gpu2-qwen3', { poolName: 'user-vllm-qwen3-thinking', heartbeatAgoMs: 92_000 })
    .agent('gpu3')
    .llm('vllm-gpu3-qwen3', { poolName: 'user-vllm-qwen3-thinking' })
    .agent('gpu5')
    .llm('llama3-70b', { type: 'llamacpp', model: 'meta-llama/Llama-3.3-70B-Instruct' })
    .llm('llama3-70b-gpu5', { poolName: 'llama3-70b', type: 'llamacpp', model: 'meta-llama/Llama-3.3-70B-Instruct' })
    .agent('gpu7')
    .llm('vllm-gpu7-qwen3', { poolName: 'user-vllm-qwen3-thinking' });
}

/** The pull request: undrain gpu3, add gpu4, label the legacy Llm, drop the workstation, raise the floor to 2. */
const PR_FILES: Record<string, FileContent> = {
  'llms/hosted.yaml': HOSTED_FILE,
  'llms/llama-legacy.yaml': LEGACY_FILE.replace('  annotations:\n', '  labels:\n    team: inference\n  annotations:\n'),
  'llms/qwen3-thinking-pool.yaml': POOL_FILE.replace('  minActive: 1\n', '  minActive: 2\n').replace('  enabled: false\n', '') + GPU4_DOC,
};

/** A risky one: drain gpu1 under a floor of 2, and drop the legacy Llm under a new floor of 2. */
const RISKY_FILES: Record<string, FileContent> = {
  'llms/hosted.yaml': HOSTED_FILE,
  'llms/llama-legacy.yaml': `apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: llama3-70b
spec:
  minActive: 2
`,
  'llms/ollama-dev.yaml': OLLAMA_FILE,
  'llms/qwen3-thinking-pool.yaml': POOL_FILE.replace('  minActive: 1\n', '  minActive: 2\n').replace(
    '  poolName: user-vllm-qwen3-thinking\n---\napiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: vllm-gpu2-qwen3',
    '  poolName: user-vllm-qwen3-thinking\n  enabled: false\n---\napiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: vllm-gpu2-qwen3',
  ),
};

function planAgainstReconciler(desired: Record<string, FileContent>): Plan {
  const f = realisticFleet();
  return computePlan({
    desired: declare(desired),
    base: { ...f.declared(), revision: '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b', label: 'reconciler revision 1a2b3c4' },
    live: f.views('1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b'),
  });
}

const SCENARIOS: Record<string, () => Plan> = {
  realistic: () => planAgainstReconciler(PR_FILES),
  empty: () => planAgainstReconciler(BASE_FILES),
  offline: () =>
    computePlan({
      desired: declare(PR_FILES),
      base: { ...declare(BASE_FILES), revision: '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b', label: 'origin/main (1a2b3c4)' },
      live: null,
    }),
  violations: () => planAgainstReconciler(RISKY_FILES),
};

/**
 * What GitHub needs to render the comment as meant: fences that close with the fence that opened
 * them, balanced <details>, and table rows with as many cells as their header.
 */
function checkGithubMarkdown(markdown: string): string[] {
  const problems: string[] = [];
  let fence: string | null = null;
  let tableCells: number | null = null;
  let details = 0;
  markdown.split('\n').forEach((line, i) => {
    const n = i + 1;
    if (fence !== null) {
      if (line === fence) fence = null;
      return;
    }
    const opener = /^(`{3,})[a-z]*$/.exec(line);
    if (opener) {
      fence = opener[1] as string;
      return;
    }
    if (line.startsWith('<details>')) details++;
    if (line === '</details>') details--;
    if (details < 0) problems.push(`line ${n}: </details> without <details>`);
    if (line.startsWith('|')) {
      const cells = line.split(/(?<!\\)\|/).length;
      if (tableCells === null) tableCells = cells;
      else if (cells !== tableCells) problems.push(`line ${n}: ${cells - 2} cells, header has ${tableCells - 2}`);
    } else {
      tableCells = null;
    }
  });
  if (fence !== null) problems.push('a fence is never closed');
  if (details !== 0) problems.push(`${details} <details> never closed`);
  return problems;
}

describe('formatPlan goldens', () => {
  for (const [scenario, build] of Object.entries(SCENARIOS)) {
    it(`${scenario}: text, coloured text, JSON and markdown`, async () => {
      const plan = build();
      await expect(formatPlan(plan, 'text')).toMatchFileSnapshot(`../golden/plan/${scenario}.txt`);
      await expect(formatPlan(plan, 'text', { color: true })).toMatchFileSnapshot(`../golden/plan/${scenario}.color.txt`);
      await expect(formatPlan(plan, 'json')).toMatchFileSnapshot(`../golden/plan/${scenario}.json`);
      await expect(formatPlan(plan, 'markdown')).toMatchFileSnapshot(`../golden/plan/${scenario}.md`);
    });
  }

  it('the scenarios plan what they claim to', () => {
    const realistic = SCENARIOS.realistic?.();
    expect(realistic?.summary).toEqual({ add: 1, change: 3, remove: 1 });
    expect(realistic?.poolChanges.map((c) => `${c.action} ${c.name}`)).toEqual(['update user-vllm-qwen3-thinking']);
    expect(realistic?.policy).toEqual({ checked: true, violations: [] });
    expect(realistic?.findings.map((f) => `${f.name} ${f.type}`)).toEqual([
      'llama3-70b-gpu5 unmanaged',
      'vllm-gpu1-qwen3 drift',
      'vllm-gpu2-qwen3 stale',
      'vllm-gpu4-qwen3 pending',
      'vllm-gpu7-qwen3 unmanaged',
    ]);
    expect(SCENARIOS.empty?.().empty).toBe(true);
    expect(SCENARIOS.offline?.().policy.checked).toBe(false);
    expect(SCENARIOS.violations?.().policy.violations.map((v) => [v.pool, v.activeAfter, v.minActive, v.causes])).toEqual([
      ['llama3-70b', 1, 2, ['llama3-70b']],
      ['user-vllm-qwen3-thinking', 1, 2, ['vllm-gpu1-qwen3']],
    ]);
  });
});

describe('formatPlan text', () => {
  it.each(Object.keys(SCENARIOS))('%s: ends with the Plan line, and colour changes nothing but colour', (scenario) => {
    const plan = (SCENARIOS[scenario] as () => Plan)();
    const plain = formatPlan(plan, 'text');
    const coloured = formatPlan(plan, 'text', { color: true });
    expect(plain).not.toContain('\u001b[');
    expect(coloured).toContain('\u001b[');
    expect(stripAnsi(coloured)).toBe(plain);
    const lines = plain.trimEnd().split('\n');
    const { add, change, remove } = plan.summary;
    expect(lines.at(-1)).toBe(`Plan: ${add} to add, ${change} to change, ${remove} to remove.`);
    expect(lines.at(-2) === 'No changes. Desired state matches reconciler revision 1a2b3c4.').toBe(plan.empty);
  });

  it('the Plan line counts LlmPool documents as resources, as the exit code does', () => {
    const realistic = SCENARIOS.realistic?.() as Plan;
    // 1 Llm added, 2 Llms and 1 LlmPool changed, 1 Llm removed.
    expect(formatPlanLine(realistic)).toBe('Plan: 1 to add, 3 to change, 1 to remove.');
    expect(planExitCode(realistic, true)).toBe(2);
  });

  it('a plan that changes only LlmPool documents is not "0 to add, 0 to change, 0 to remove" and exits 2', () => {
    const pool = (name: string, minActive?: number): Resource => ({ apiVersion: 'mcpctl/v1', kind: 'LlmPool', metadata: { name }, spec: minActive === undefined ? {} : { minActive } });
    const loc = (resource: Resource, file: string) => ({ resource, file, line: 1, col: 1, docIndex: 0, fieldLines: {} });
    const plan = computePlan({
      base: { label: 'HEAD', revision: null, llms: [], pools: [loc(pool('a'), 'llms/a.yaml')] },
      desired: { llms: [], pools: [loc(pool('a', 1), 'llms/a.yaml'), loc(pool('b'), 'llms/b.yaml'), loc(pool('c'), 'llms/c.yaml')] },
      live: null,
    } as never);
    expect(formatPlanLine(plan)).toBe('Plan: 2 to add, 1 to change, 0 to remove.');
    expect(planExitCode(plan, true)).toBe(2);
    expect(planExitCode(plan, false)).toBe(0);
  });

  it('gives every field line its file and line', () => {
    const text = formatPlan(SCENARIOS.realistic?.() as Plan, 'text');
    expect(text).toContain('  ~ vllm-gpu3-qwen3  (llms/qwen3-thinking-pool.yaml:32)\n      ~ spec.enabled: false → true  (llms/qwen3-thinking-pool.yaml:37)\n');
    expect(text).toContain('  ~ user-vllm-qwen3-thinking: 4 → 5 members (+ vllm-gpu4-qwen3)  (llms/qwen3-thinking-pool.yaml:42)\n');
    expect(text).toContain('vllm-gpu2-qwen3  stale: no heartbeat for 92s  (llms/qwen3-thinking-pool.yaml:21)');
  });

  it('gives a pool line its cause in words when no file places it', () => {
    const located = declare({ 'llms/p.yaml': [llm('w1', { poolName: 'qwen' }), llm('w2', { poolName: 'qwen' })] });
    const base = { llms: located.llms.map((l) => ({ ...l, file: '', line: 0, fieldLines: {} })), pools: [], revision: 'abc', label: 'reconciler revision abc' };
    const plan = computePlan({ desired: declare({ 'llms/p.yaml': [llm('w2', { poolName: 'qwen' })] }), base, live: null });
    expect(formatPlan(plan, 'text')).toContain('\nPools:\n  ~ qwen: 2 → 1 member (- w1)  (w1 deleted)\n');
  });

  it('says that an offline plan skipped the live checks', () => {
    const text = formatPlan(SCENARIOS.offline?.() as Plan, 'text');
    expect(text).toContain('\nLive: not checked (offline plan).\n');
    expect(text).toContain('\nPolicy: check skipped: no live state: offline plan (--against without a reachable reconciler).\n');
  });

  it.each<[string | number | boolean | null, string]>([
    ['research', 'research'],
    ['http://gpu1.lan:8000/v1', 'http://gpu1.lan:8000/v1'],
    ['Qwen3 thinking workers', '"Qwen3 thinking workers"'],
    ['', '""'],
    ['true', '"true"'],
    ['8', '"8"'],
    ['a\nb', '"a\\nb"'],
    [true, 'true'],
    [2, '2'],
    [null, '(none)'],
  ])('writes %j as %s', (value, expected) => {
    expect(formatPlanValue(value)).toBe(expected);
  });
});

describe('formatPlan json', () => {
  it.each(Object.keys(SCENARIOS))('%s: is the Plan value itself', (scenario) => {
    const plan = (SCENARIOS[scenario] as () => Plan)();
    const json = formatPlan(plan, 'json');
    expect(json.endsWith('}\n')).toBe(true);
    expect(JSON.parse(json)).toStrictEqual(plan);
  });
});

describe('formatPlan markdown', () => {
  it.each(Object.keys(SCENARIOS))('%s: is valid GitHub markdown ending with the Plan line', (scenario) => {
    const plan = (SCENARIOS[scenario] as () => Plan)();
    const markdown = formatPlan(plan, 'markdown');
    expect(checkGithubMarkdown(markdown)).toEqual([]);
    expect(markdown.trimEnd().split('\n').at(-1)).toMatch(/^Plan: \d+ to add, \d+ to change, \d+ to remove\.$/);
    expect(markdown.match(/<details>/g)?.length ?? 0).toBe(plan.changes.length);
  });

  it('escapes what users write: pipes, backticks, HTML and newlines', () => {
    const weird: Record<string, Resource[]> = {
      'llms/we|rd<x>.yaml': [
        llm('a', { labels: { 'x|y': 'p|q', tick: 'a ``` b' } }),
        pool('p', 1, 'line one\n</details>\n```'),
      ],
    };
    const plan = computePlan({ desired: declare(weird), base: { ...declare({}), revision: null, label: 'main | `x` <b>' }, live: null });
    const markdown = formatPlan(plan, 'markdown');
    expect(checkGithubMarkdown(markdown)).toEqual([]);
    expect(markdown).toContain('`metadata.labels.x\\|y`');
    expect(markdown).toContain('<summary><code>+ a</code> llms/we|rd&lt;x&gt;.yaml:1</summary>');
    expect(markdown).toContain('Comparing **working tree** with **main \\| \\`x\\` \\<b\\>**.');
    expect(markdown).toContain('+ spec.description: "line one\\n</details>\\n```"');
    expect(markdown).toContain('````diff\n@@ + LlmPool p');
    expect(markdown).toContain('| `a` | 0 → 1 member | `a` |  | a added (llms/we\\|rd\\<x\\>.yaml:1) |');
  });

  it('stays under the comment size limit with 10,000 changed Llms, naming what it leaves out', async () => {
    // 100 pools of 100 new workers, none of them live yet.
    const workers = Array.from({ length: 10_000 }, (_, i) =>
      llm(`worker-${String(i).padStart(5, '0')}`, { poolName: `pool-${String(Math.floor(i / 100)).padStart(3, '0')}`, labels: { team: 'research' } }),
    );
    const desired = locateWithoutYaml('llms/workers.yaml', workers);
    const plan = computePlan({ desired, base: { ...declare({}), revision: 'abc', label: 'reconciler revision abc' }, live: [] });
    expect(plan.summary.add).toBe(10_000);
    const markdown = formatPlan(plan, 'markdown');
    expect(markdown.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(markdown.length).toBeGreaterThan(MARKDOWN_LIMIT - 5_000);
    expect(checkGithubMarkdown(markdown)).toEqual([]);

    const detailed = markdown.match(/<details>/g)?.length ?? 0;
    const named = markdown.match(/`\+ worker-\d{5}`/g)?.length ?? 0;
    const notShown = Number(/… and (\d+) more Llms not shown \(comment size limit\)/.exec(markdown)?.[1]);
    expect(detailed).toBeGreaterThan(0);
    expect(detailed + named + notShown).toBe(10_000);
    expect(markdown).toContain(`**${10_000 - detailed} more changed Llms without details**`);
    expect(markdown).toContain('worker-00000');
    expect(markdown.trimEnd().split('\n').at(-1)).toBe('Plan: 10000 to add, 0 to change, 0 to remove.');
    // The secondary sections are cut too, and say so.
    expect(markdown).toMatch(/… and \d+ more pools not shown \(comment size limit\)/);
    expect(markdown).toMatch(/… and \d+ more findings not shown \(comment size limit\)/);
    await expect(markdown).toMatchFileSnapshot('../golden/plan/over-size-limit.md');
  });
});
