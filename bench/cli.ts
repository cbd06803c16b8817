// CLI start-up benchmark: `mcpctl get llm` as a fresh process against a running reconciler that
// serves 1,000 Llms (declared in a temp Git repository), against `node -e 0` in the same run.
// The two alternate run by run so that a noisy neighbour slows both alike; the figure is the
// ratio of the medians. Prints nothing: the bench runner prints the figures.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, round1, round2 } from './measure.js';

const LLMS = 1_000;
const RUNS = 15;
const BIN = fileURLToPath(new URL('../cli/bin.js', import.meta.url));

export async function runCliBench(): Promise<{ name: string; figures: Record<string, number | string>; targets?: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpctl-bench-cli-'));
  const reconciler = { stop: async (): Promise<void> => {} };
  try {
    await writeRepository(dir);
    const started = await startReconciler(dir);
    reconciler.stop = started.stop;
    const getArgs = [BIN, '--server', started.url, 'get', 'llm'];

    // The table must be the real one (a header and one row per Llm), and one untimed round warms the disk cache.
    const table = await runNode(getArgs);
    if (table.code !== 0 || table.stdout.split('\n').length !== LLMS + 2) throw new Error(`mcpctl get llm printed ${table.stdout.split('\n').length - 2} rows (exit ${table.code}), expected ${LLMS}`);
    await runNode(['-e', '0']);

    const nodeMs: number[] = [];
    const getMs: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      nodeMs.push((await runNode(['-e', '0'])).ms);
      getMs.push((await runNode(getArgs)).ms);
    }
    const nodeMedian = median(nodeMs);
    const getMedian = median(getMs);
    return {
      name: `mcpctl get llm cold start, ${LLMS.toLocaleString('en-US')} Llms served, median of ${RUNS}`,
      figures: {
        llms: LLMS,
        runs: RUNS,
        nodeEmptyMedianMs: round1(nodeMedian),
        getLlmMedianMs: round1(getMedian),
        coldStartRatio: round2(getMedian / nodeMedian),
      },
      targets: { coldStartRatio: '≤ 3' },
    };
  } finally {
    await reconciler.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** 1,000 Llms in 100 files of 10 documents: pools of workers, as a lab would lay them out. */
async function writeRepository(dir: string): Promise<void> {
  await mkdir(join(dir, 'llms'));
  for (let file = 0; file < LLMS / 10; file++) {
    const docs: string[] = [];
    for (let i = 0; i < 10; i++) {
      const n = file * 10 + i;
      docs.push(`apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu${n}-qwen3
  labels: { team: team-${file % 7} }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: pool-${file}
`);
    }
    await writeFile(join(dir, 'llms', `pool-${file}.yaml`), `# pool ${file}\n${docs.join('---\n')}`);
  }
  const git = (...args: string[]): void => {
    execFileSync('git', ['-c', 'user.name=mcpctl bench', '-c', 'user.email=bench@mcpctl.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, stdio: 'ignore' });
  };
  git('init', '--quiet', '--initial-branch=main');
  git('add', '-A');
  git('commit', '--quiet', '-m', 'bench fleet');
}

async function startReconciler(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'reconciler', '--source', dir, '--listen', '127.0.0.1:0', '--poll', '1h'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const url = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    if (url !== undefined) return { url, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the reconciler did not get ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Wall time of one node process, from spawn to exit, with its stdout read as a terminal would. */
function runNode(args: string[]): Promise<{ ms: number; code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      resolve({ ms, code, stdout: Buffer.concat(chunks).toString('utf8') });
    });
  });
}
