// Codec benchmark: a cold load of 10,000 resource files against yaml's own parse of the same
// texts in the same run, and a reload after a one-file change (through ParseCache) against the
// cold load. Prints nothing: the bench runner prints the figures.
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadResources, ParseCache, type SourceFile } from '../schema/codec.js';
import { median, round1, round3, timeMs as time } from './measure.js';

const FILES = 10_000;
const REPETITIONS = 7;

export async function runParseBench(): Promise<{ name: string; figures: Record<string, number | string> }> {
  const files = generateFiles(FILES);
  const multi = new Set(files.filter((f) => f.text.includes('\n---\n')).map((f) => f.path));
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);

  // One untimed round so that both sides run JIT-compiled code.
  runYaml(files, multi);
  const check = loadResources(files, new ParseCache());
  if (!check.ok) throw new Error(`generated files do not load: ${check.diagnostics[0]?.message ?? ''}`);
  const documents = check.llms.length + check.pools.length;

  const yamlMs: number[] = [];
  const coldMs: number[] = [];
  const coldRatios: number[] = [];
  const reloadMs: number[] = [];
  const reloadRatios: number[] = [];
  for (let rep = 0; rep < REPETITIONS; rep++) {
    // The two sides alternate within a repetition so that a noisy neighbour hits both alike.
    const yaml = time(() => runYaml(files, multi));
    const cache = new ParseCache();
    const cold = time(() => loadResources(files, cache));
    // A reload reads every file again: fresh strings with the same content, one of them changed.
    const changed = files.map((f, i) => ({ path: f.path, text: i === (rep * 997) % FILES ? `${f.text}# touched in repetition ${rep}\n` : Buffer.from(f.text).toString() }));
    const missesBefore = cache.misses;
    const reload = time(() => loadResources(changed, cache));
    if (cache.misses - missesBefore !== 1) throw new Error(`a one-file change re-parsed ${cache.misses - missesBefore} files`);
    yamlMs.push(yaml);
    coldMs.push(cold);
    coldRatios.push(cold / yaml);
    reloadMs.push(reload);
    reloadRatios.push(reload / cold);
    await new Promise((resolve) => setImmediate(resolve));
  }

  return {
    name: 'codec: load 10,000 resource files',
    figures: {
      files: FILES,
      documents,
      megabytes: round3(bytes / 1e6),
      yamlParseMs: round1(median(yamlMs)),
      coldLoadMs: round1(median(coldMs)),
      coldRatio: round3(median(coldRatios)),
      reloadOneFileMs: round1(median(reloadMs)),
      reloadRatio: round3(median(reloadRatios)),
    },
  };
}

/** yaml alone: `parse` for a one-document file, every document's `toJS` for the others (`parse` refuses them). */
function runYaml(files: readonly SourceFile[], multi: ReadonlySet<string>): number {
  let n = 0;
  for (const f of files) {
    if (multi.has(f.path)) {
      const docs = parseAllDocuments(f.text);
      if (Array.isArray(docs)) for (const doc of docs) n += doc.toJS() === null ? 0 : 1;
    } else {
      n += parseYaml(f.text) === null ? 0 : 1;
    }
  }
  return n;
}


// --- a realistic repository, generated deterministically ------------------------------------

const TYPES = ['vllm', 'vllm', 'vllm', 'ollama', 'llamacpp', 'tgi', 'openai', 'anthropic'] as const;
const MODELS = ['Qwen/Qwen3-8B', 'Qwen/Qwen3-32B', 'meta-llama/Llama-3.3-70B-Instruct', 'mistralai/Mistral-Small-24B', 'qwen3:8b', 'gpt-4o'];
const TEAMS = ['research', 'platform', 'search', 'assistants'];

/** A small deterministic generator (mulberry32), so every run benchmarks the same bytes. */
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

function generateFiles(count: number): SourceFile[] {
  const random = randomFrom(7420);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const files: SourceFile[] = [];
  let llmIndex = 0;
  const worker = (pool: string | undefined, comment: string): string => {
    const i = llmIndex++;
    const host = `gpu${i}`;
    const lines = [
      ...(comment === '' ? [] : [`# ${comment}`]),
      'apiVersion: mcpctl/v1',
      'kind: Llm',
      'metadata:',
      `  name: vllm-${host}-worker`,
      random() < 0.6 ? `  labels: { team: ${pick(TEAMS)}, rack: r${i % 40} }` : `  labels:\n    team: ${pick(TEAMS)}`,
      'spec:',
      `  type: ${pick(TYPES)}`,
      `  model: ${pick(MODELS)}`,
    ];
    if (pool !== undefined) lines.push(`  poolName: ${pool}   # shared by every worker of the pool`);
    if (random() < 0.1) lines.push('  enabled: false  # drained for maintenance');
    return `${lines.join('\n')}\n`;
  };
  for (let f = 0; f < count; f++) {
    const kind = random();
    const modeline = '# yaml-language-server: $schema=../../schema/llm.schema.json\n';
    if (kind < 0.7) {
      files.push({ path: `llms/worker-${f}.yaml`, text: modeline + worker(random() < 0.7 ? `pool-${f % 300}` : undefined, 'one worker per GPU host') });
    } else if (kind < 0.9) {
      // A pool file: its policy and two to four workers, one document each.
      const pool = `team-pool-${f}`;
      const docs = [
        `# The ${pool} workers.\napiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: ${pool}\nspec:\n  minActive: ${1 + (f % 3)}\n  description: "Workers of ${pool}: reviewed by pull request"\n`,
      ];
      const workers = 2 + Math.floor(random() * 3);
      for (let w = 0; w < workers; w++) docs.push(worker(pool, w === 0 ? 'first worker' : ''));
      files.push({ path: `llms/pools/${pool}.yaml`, text: modeline + docs.join('---\n') });
    } else {
      const i = llmIndex++;
      files.push({
        path: `llms/hosted/hosted-${f}.yaml`,
        text: `${modeline}# A hosted endpoint: fixed url, no agent in front of it.
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: hosted-${i}
  labels:
    team: ${pick(TEAMS)}
    tier: hosted
  annotations:
    owner: "platform@example.com"
spec:
  type: openai
  model: gpt-4o
  url: https://api${i % 7}.example.com/v1
  source: static
  apiKeyRef: { env: OPENAI_API_KEY_${i % 5} }
`,
      });
    }
  }
  return files;
}
