// Plan benchmark (issue Phase 7): `mcpctl plan` of 10,000 Llms of which 1,000 change, with live
// views for every one of them, against the cold load of the same desired files in the same run.
//
//   planRatio = (load desired + computePlan) / load desired
//
// `load desired` is loadResources over the working tree's files with no cache: the part of a
// plan no implementation can skip. The base (the reconciler's declared revision) is already
// loaded on the reconciler's side and the live views are already built, so neither is counted;
// both are prepared once, outside the timings. The target, ≤ 1.3, says that the diff, the pool
// membership changes, the live findings and the policy check together cost under a third of
// parsing the files. `markdownMs` is formatPlan(plan, 'markdown') of that plan (the PR comment).
// Medians of 7 repetitions (PLAN_BENCH_REPETITIONS=n for another count, 1 to profile with
// node --cpu-prof). Prints nothing: the bench runner prints the figures.
import { formatPlan } from '../cli/format/plan-format.js';
import { loadResources, type SourceFile } from '../schema/codec.js';
import { buildViews, type LiveLlm, type StaticProbe } from '../schema/effective.js';
import { computePlan, type DeclaredSet, type Plan } from '../schema/plan.js';
import { median, round1, round3, timeMsAfterGc as time } from './measure.js';

const LLMS = 10_000;
const CHANGED = 1_000;
const REPETITIONS = Number(process.env.PLAN_BENCH_REPETITIONS ?? 7);
const NOW_MS = Date.UTC(2025, 0, 1);
const TTL_MS = 30_000;

export async function runPlanBench(): Promise<{ name: string; figures: Record<string, number | string>; targets: Record<string, string> }> {
  const repo = generateRepository();
  const base = loadOrThrow(repo.base, 'base');
  const live = buildViews({ declared: base.llms, revision: 'base', live: repo.live, nowMs: NOW_MS, ttlMs: TTL_MS, probes: repo.probes });

  // One untimed round so that every side runs JIT-compiled code, and a check that the plan
  // sees exactly the generated changes (a benchmark of a wrong answer measures nothing).
  const warm = runPlan(loadOrThrow(repo.desired, 'desired'), base, live);
  if (warm.summary.change !== CHANGED || warm.summary.add !== 0 || warm.summary.remove !== 0) {
    throw new Error(`expected ${CHANGED} changed Llms, the plan says ${JSON.stringify(warm.summary)}`);
  }
  formatPlan(warm, 'markdown');

  const loadMs: number[] = [];
  const planMs: number[] = [];
  const ratios: number[] = [];
  const markdownMs: number[] = [];
  let markdownChars = 0;
  for (let rep = 0; rep < REPETITIONS; rep++) {
    let desired: DeclaredSet | undefined;
    const load = time(() => {
      desired = loadOrThrow(repo.desired, 'desired');
    });
    let plan: Plan | undefined;
    const diff = time(() => {
      plan = runPlan(desired as DeclaredSet, base, live);
    });
    let markdown = '';
    const render = time(() => {
      markdown = formatPlan(plan as Plan, 'markdown');
    });
    loadMs.push(load);
    planMs.push(diff);
    ratios.push((load + diff) / load);
    markdownMs.push(render);
    markdownChars = markdown.length;
    await new Promise((resolve) => setImmediate(resolve));
  }

  return {
    name: `plan: ${LLMS.toLocaleString('en-US')} Llms, ${CHANGED.toLocaleString('en-US')} changed, live views for all`,
    figures: {
      llms: LLMS,
      changed: CHANGED,
      files: repo.desired.length,
      liveViews: live.length,
      findings: warm.findings.length,
      policyViolations: warm.policy.violations.length,
      loadDesiredMs: round1(median(loadMs)),
      planMs: round1(median(planMs)),
      loadPlusPlanMs: round1(median(loadMs.map((l, i) => l + (planMs[i] ?? 0)))),
      planRatio: round3(median(ratios)),
      markdownMs: round1(median(markdownMs)),
      markdownChars,
    },
    targets: { planRatio: '≤ 1.3' },
  };
}

function runPlan(desired: DeclaredSet, base: DeclaredSet, live: ReturnType<typeof buildViews>): Plan {
  return computePlan({ desired, base: { ...base, revision: 'base', label: 'reconciler revision base' }, live });
}

function loadOrThrow(files: SourceFile[], what: string): DeclaredSet {
  const loaded = loadResources(files);
  if (!loaded.ok) throw new Error(`generated ${what} files do not load: ${loaded.diagnostics[0]?.message ?? ''}`);
  return { llms: loaded.llms, pools: loaded.pools };
}


// --- a realistic repository and fleet, generated deterministically ---------------------------

const TYPES = ['vllm', 'vllm', 'vllm', 'ollama', 'llamacpp', 'tgi'] as const;
const MODELS = ['Qwen/Qwen3-8B', 'Qwen/Qwen3-32B', 'meta-llama/Llama-3.3-70B-Instruct', 'mistralai/Mistral-Small-24B', 'qwen3:8b'];
const TEAMS = ['research', 'platform', 'search', 'assistants'];
const POOLS = 400;

/** mulberry32: every run benchmarks the same bytes. */
function randomFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface WorkerSpec {
  index: number;
  name: string;
  type: string;
  model: string;
  pool: string | undefined;
  team: string;
  rack: number;
  enabled: boolean;
  flowLabels: boolean;
  static: boolean;
}

/** How the desired side changes the i-th changed Llm: the kinds of edit a PR makes. */
function changeWorker(w: WorkerSpec, n: number): WorkerSpec {
  switch (n % 5) {
    case 0:
      return { ...w, model: w.model === MODELS[0] ? (MODELS[1] as string) : (MODELS[0] as string) };
    case 1: {
      // Moved to another shared pool (or into one, for a solo Llm).
      const next = `pool-${(w.index * 7 + 1) % POOLS}`;
      return { ...w, pool: next === w.pool ? `pool-${(w.index * 7 + 2) % POOLS}` : next };
    }
    case 2:
      return { ...w, enabled: !w.enabled };
    case 3:
      return { ...w, team: w.team === 'research' ? 'platform' : 'research' };
    default:
      return { ...w, rack: w.rack + 100 };
  }
}

function writeWorker(w: WorkerSpec, comment: string): string {
  const lines = [
    ...(comment === '' ? [] : [`# ${comment}`]),
    'apiVersion: mcpctl/v1',
    'kind: Llm',
    'metadata:',
    `  name: ${w.name}`,
    w.flowLabels ? `  labels: { team: ${w.team}, rack: r${w.rack} }` : `  labels:\n    team: ${w.team}\n    rack: r${w.rack}`,
    'spec:',
    `  type: ${w.type}`,
    `  model: ${w.model}`,
  ];
  if (w.static) lines.push(`  url: https://api${w.index % 7}.example.com/v1`, '  source: static', '  apiKeyRef: { env: OPENAI_API_KEY }');
  if (w.pool !== undefined) lines.push(`  poolName: ${w.pool}   # shared by every worker of the pool`);
  if (!w.enabled) lines.push('  enabled: false  # drained for maintenance');
  return `${lines.join('\n')}\n`;
}

interface Repository {
  base: SourceFile[];
  desired: SourceFile[];
  live: LiveLlm[];
  probes: Map<string, StaticProbe>;
}

function generateRepository(): Repository {
  const random = randomFrom(7421);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const workers: WorkerSpec[] = [];
  const newWorker = (pool: string | undefined, isStatic = false): WorkerSpec => {
    const index = workers.length;
    const w: WorkerSpec = {
      index,
      name: isStatic ? `hosted-${index}` : `vllm-gpu${index}-worker`,
      type: isStatic ? 'openai' : pick(TYPES),
      model: isStatic ? 'gpt-4o' : pick(MODELS),
      pool,
      team: pick(TEAMS),
      rack: index % 40,
      enabled: random() >= 0.05,
      flowLabels: random() < 0.6,
      static: isStatic,
    };
    workers.push(w);
    return w;
  };

  // Files as lists of documents: a document is an LlmPool text or a worker index.
  const files: { path: string; docs: (string | number)[] }[] = [];
  for (let f = 0; workers.length < LLMS; f++) {
    const kind = random();
    if (kind < 0.7) {
      files.push({ path: `llms/workers/worker-${f}.yaml`, docs: [newWorker(random() < 0.8 ? `pool-${f % POOLS}` : undefined).index] });
    } else if (kind < 0.92) {
      const pool = `pool-${f % POOLS}`;
      const policy = `# The ${pool} workers.\napiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: ${pool}-team${f}\nspec:\n  minActive: ${1 + (f % 3)}\n  description: "Workers of ${pool}: reviewed by pull request"\n`;
      const docs: (string | number)[] = [policy];
      const count = Math.min(2 + Math.floor(random() * 4), LLMS - workers.length);
      for (let w = 0; w < count; w++) docs.push(newWorker(`${pool}-team${f}`).index);
      files.push({ path: `llms/pools/${pool}-team${f}.yaml`, docs });
    } else {
      files.push({ path: `llms/hosted/hosted-${f}.yaml`, docs: [newWorker(undefined, true).index] });
    }
  }

  // Every tenth Llm changes on the desired side, with the edits a PR makes.
  const changed = new Map<number, WorkerSpec>();
  for (let n = 0; n < CHANGED; n++) {
    const w = workers[Math.floor((n * LLMS) / CHANGED)] as WorkerSpec;
    changed.set(w.index, changeWorker(w, n));
  }
  const modeline = '# yaml-language-server: $schema=../../schema/llm.schema.json\n';
  const render = (side: 'base' | 'desired'): SourceFile[] =>
    files
      .map((file) => ({
        path: file.path,
        text:
          modeline +
          file.docs
            .map((doc, d) => {
              if (typeof doc === 'string') return doc;
              const w = workers[doc] as WorkerSpec;
              return writeWorker(side === 'desired' ? (changed.get(doc) ?? w) : w, d === 0 ? 'one worker per GPU host' : '');
            })
            .join('---\n'),
      }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  // The fleet: an agent per agent-served Llm (a few stale, failing or drifting), strays, probes.
  const live: LiveLlm[] = [];
  const probes = new Map<string, StaticProbe>();
  for (const w of workers) {
    if (w.static) {
      probes.set(w.name, random() < 0.95 ? { ok: true } : { ok: false, message: 'connection refused' });
      continue;
    }
    const roll = random();
    const entry: LiveLlm = {
      name: w.name,
      type: w.type as LiveLlm['type'],
      model: roll < 0.01 ? 'Qwen/Qwen3-0.6B' : w.model,
      url: `http://gpu${w.index}.lan:8000/v1`,
      health: roll > 0.99 ? 'failing' : 'ok',
      agentId: `gpu${w.index}`,
      host: `gpu${w.index}.lan`,
      lastHeartbeatAt: NOW_MS - (roll > 0.97 && roll <= 0.99 ? 92_000 : 5_000),
      gpus: [{ index: 0, name: 'NVIDIA L40S', memoryTotalMiB: 46_068, memoryUsedMiB: 30_000, utilizationPct: 71 }],
    };
    if (w.pool !== undefined) entry.poolName = w.pool;
    live.push(entry);
  }
  for (let s = 0; s < 100; s++) {
    live.push({
      name: `stray-${s}`,
      poolName: `pool-${s % POOLS}`,
      type: 'vllm',
      model: 'Qwen/Qwen3-8B',
      url: `http://stray${s}.lan:8000/v1`,
      health: 'ok',
      agentId: `stray${s}`,
      host: `stray${s}.lan`,
      lastHeartbeatAt: NOW_MS - 5_000,
      gpus: [],
    });
  }
  return { base: render('base'), desired: render('desired'), live, probes };
}
