// `npm run bench`: runs every benchmark module it knows and prints each figure on one line,
// with its target where it has one (`parse.coldRatio 1.21 (target ≤ 1.5)`). Names given as
// arguments run only those modules (`npm run bench -- heartbeat`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runParseBench } from './parse.js';

export interface BenchResult {
  name: string;
  figures: Record<string, number | string>;
  /** Optional targets a module states for its own figures, by figure name (`≤ 1.5`). */
  targets?: Record<string, string>;
}

interface BenchModule {
  key: string;
  /** Compiled file name next to this one in dist/bench. */
  file: string;
  exportName: string;
}

/** Modules written by other parts of the project, loaded when their compiled file exists. */
const OPTIONAL_BENCHES: BenchModule[] = [
  { key: 'heartbeat', file: 'heartbeat.js', exportName: 'runHeartbeatBench' },
  { key: 'cli', file: 'cli.js', exportName: 'runCliBench' },
  { key: 'plan', file: 'plan.js', exportName: 'runPlanBench' },
  { key: 'gateway', file: 'gateway.js', exportName: 'runGatewayBench' },
  { key: 'ha', file: 'ha.js', exportName: 'runHaBench' },
];

/** Targets known here, by `module.figure`; a module's own `targets` take precedence. */
const TARGETS: Record<string, string> = {
  'parse.coldRatio': '≤ 1.5',
  'parse.reloadRatio': '≤ 0.02',
};

function formatFigure(key: string, figure: string, value: number | string, target: string | undefined): string {
  return `${key}.${figure} ${String(value)}${target === undefined ? '' : ` (target ${target})`}`;
}

/** Whether a numeric figure meets a `≤ x` / `≥ x` / `< x` / `> x` target; undefined when it cannot say. */
function meetsTarget(value: number | string, target: string): boolean | undefined {
  const match = /^(≤|≥|<|>)\s*([0-9.]+)/.exec(target);
  if (match === null || typeof value !== 'number') return undefined;
  const bound = Number(match[2]);
  switch (match[1]) {
    case '≤':
      return value <= bound;
    case '≥':
      return value >= bound;
    case '<':
      return value < bound;
    default:
      return value > bound;
  }
}

function printResult(key: string, result: BenchResult, missed: string[]): void {
  console.log(`# ${key}: ${result.name}`);
  for (const [figure, value] of Object.entries(result.figures)) {
    const target = result.targets?.[figure] ?? TARGETS[`${key}.${figure}`];
    console.log(formatFigure(key, figure, value, target));
    if (target !== undefined && meetsTarget(value, target) === false) missed.push(`${key}.${figure}`);
  }
}

async function main(): Promise<void> {
  const missed: string[] = [];
  const only = new Set(process.argv.slice(2));
  const unknown = [...only].filter((key) => key !== 'parse' && !OPTIONAL_BENCHES.some((b) => b.key === key));
  if (unknown.length > 0) throw new Error(`no benchmark named ${unknown.join(', ')}; known: parse, ${OPTIONAL_BENCHES.map((b) => b.key).join(', ')}`);
  if (only.size === 0 || only.has('parse')) printResult('parse', await runParseBench(), missed);
  for (const bench of OPTIONAL_BENCHES) {
    if (only.size > 0 && !only.has(bench.key)) continue;
    const url = new URL(`./${bench.file}`, import.meta.url);
    if (!existsSync(fileURLToPath(url))) {
      console.log(`# ${bench.key}: skipped (no ${bench.file} in dist/bench)`);
      continue;
    }
    const mod = (await import(url.href)) as Record<string, unknown>;
    const run = mod[bench.exportName];
    if (typeof run !== 'function') {
      console.log(`# ${bench.key}: skipped (${bench.file} exports no ${bench.exportName})`);
      continue;
    }
    printResult(bench.key, (await (run as () => Promise<BenchResult>)()) as BenchResult, missed);
  }
  console.log(missed.length === 0 ? '# every figure with a target meets it' : `# missed targets: ${missed.join(', ')}`);
}

await main();
