// End to end with real processes: `mcpctl agent` runs whatever `nvidia-smi` it finds on PATH. Here
// that is a script replaying a fixture: exit 14 (infoROM is corrupted) with valid rows on stdout,
// the warning on stderr. Run `npx tsc -p tsconfig.json` first.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';
import type { LlmView } from '../../schema/views.js';
import { waitFor } from '../support/wait-for.js';
import { killAllMcpctl, REPO_ROOT, startMcpctl, waitForServingUrl } from './mcpctl-process.js';

const reconcilerBuilt = existsSync(join(REPO_ROOT, 'dist/reconciler/app.js'));
const FIXTURES = join(REPO_ROOT, 'fixtures/nvidia-smi');

let dir: string;
let standin: StandinServer | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpctl-agent-gpus-'));
});

afterAll(async () => {
  await killAllMcpctl();
  await standin?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A directory holding an `nvidia-smi` that prints `stdoutFixture` and `stderrFixture` (headers dropped) and exits `status`. */
async function fakeNvidiaSmiDir(stdoutFixture: string, stderrFixture: string, status: number): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const script = `#!/bin/sh\ngrep -v '^#' '${join(FIXTURES, stdoutFixture)}'\ngrep -v '^#' '${join(FIXTURES, stderrFixture)}' >&2\nexit ${status}\n`;
  await writeFile(join(bin, 'nvidia-smi'), script);
  await chmod(join(bin, 'nvidia-smi'), 0o755);
  return bin;
}

async function viewOf(server: string, name: string): Promise<LlmView | undefined> {
  const response = await fetch(`${server}/api/v1/llms/${name}`);
  return response.status === 200 ? ((await response.json()) as LlmView) : undefined;
}

describe.skipIf(!reconcilerBuilt || process.platform === 'win32')('mcpctl agent with an nvidia-smi that exits 14', () => {
  it('reports the GPUs it listed, and logs the infoROM warning once across many beats', async () => {
    const worktree = join(dir, 'worktree');
    await mkdir(join(worktree, 'llms'), { recursive: true });
    const reconciler = startMcpctl(['reconciler', '--worktree', worktree, '--listen', '127.0.0.1:0', '--heartbeat-interval', '250ms', '--ttl', '1500ms']);
    const server = await waitForServingUrl(reconciler);
    standin = await startStandinServer({ model: 'Qwen/Qwen3-8B' });
    const bin = await fakeNvidiaSmiDir('inforom-corrupted.csv', 'inforom-corrupted.stderr.txt', 14);
    const configFile = join(dir, 'gpu9.yaml');
    await writeFile(configFile, `server: ${server}\nagentId: gpu9\nproviders:\n  - name: vllm-gpu9-qwen3\n    type: vllm\n    model: Qwen/Qwen3-8B\n    url: ${standin.url}\n`);
    const agent = startMcpctl(['agent', '--config', configFile], { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` });

    const view = await waitFor('the agent to report its GPUs', async () => {
      const v = await viewOf(server, 'vllm-gpu9-qwen3');
      return v?.status.agent?.gpus.length === 2 ? v : undefined;
    }, 20_000);
    expect(view.status.agent?.gpus).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 74213, utilizationPct: 97 },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 1, utilizationPct: 0 },
    ]);
    // Several more beats, each running nvidia-smi again.
    const seen = new Set<string>();
    await waitFor('three more heartbeats', async () => {
      const at = (await viewOf(server, 'vllm-gpu9-qwen3'))?.status.agent?.lastHeartbeatAt;
      if (at !== undefined) seen.add(at);
      return seen.size > 3;
    }, 20_000);
    const warnings = agent.output().split('\n').filter((line) => line.includes('infoROM'));
    expect(warnings).toEqual([expect.stringContaining('gpus: nvidia-smi exited with 14: WARNING: infoROM is corrupted at gpu 0000:41:00.0; reporting the GPUs it listed')]);
  });
});
