// The real thing, end to end: `mcpctl reconciler` on a worktree, real `mcpctl agent` processes
// probing a stand-in model server, and `mcpctl tui` in a tmux pane read back with capture-pane.
// A worker joins the pool (2/3 → 3/4) and `q` quits. The pane has CI=true, as CI runners do.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { checkTool, TOOLS } from '../support/tools.js';
import { startStandinServer, type StandinServer } from '../../agent/standin-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'dist/cli/bin.js');
const TMUX = checkTool(TOOLS.tmux);
const POOL = 'user-vllm-qwen3-thinking';

const POOL_YAML = `apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: ${POOL}
spec:
  minActive: 2
${['gpu1', 'gpu2', 'gpu3']
  .map(
    (host) => `---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-${host}-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: ${POOL}
`,
  )
  .join('')}`;

const children: ChildProcess[] = [];
const dirs: string[] = [];
let standin: StandinServer | null = null;
let tmuxSocket: string | null = null;

afterEach(async () => {
  if (tmuxSocket !== null) spawnSync('tmux', ['-L', tmuxSocket, 'kill-server'], { stdio: 'ignore' });
  tmuxSocket = null;
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
  await standin?.close();
  standin = null;
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mcpctl-tmux-${prefix}-`));
  dirs.push(dir);
  return dir;
}

async function until<T>(what: string, probe: () => T | null | undefined | Promise<T | null | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) {
      const pane = tmuxSocket === null ? '' : `; the pane shows:\n${screen()}`;
      throw new Error(`timed out waiting for ${what}${pane}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startMcpctl(args: string[], cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function startAgent(dir: string, server: string, agentId: string, hosts: string[]): Promise<void> {
  const config = join(dir, `${agentId}.yaml`);
  const providers = hosts
    .map((h) => `  - name: vllm-${h}-qwen3\n    poolName: ${POOL}\n    type: vllm\n    model: Qwen/Qwen3-8B\n    url: ${standin?.url}\n`)
    .join('');
  await writeFile(config, `server: ${server}\nagentId: ${agentId}\nproviders:\n${providers}`);
  startMcpctl(['agent', '--config', config], dir);
}

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', ['-L', tmuxSocket ?? '', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function quoteForShell(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const screen = (): string => tmux('capture-pane', '-p', '-t', 'tui');
/**
 * The exit status of the TUI, or null while it runs. The shell records it in a file: tmux 3.3's
 * own #{pane_dead_status} is sometimes empty for a command that exited normally.
 */
let exitFile = '';
const paneExit = (): string | null => {
  try {
    const text = readFileSync(exitFile, 'utf8').trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
};
const poolRow = (text: string): string | undefined => text.split('\n').find((l) => l.includes(POOL));

describe.skipIf(!TMUX.available)(`the real TUI in tmux${TMUX.skipNote}`, () => {
  test('shows the pool live, sees a worker join (2/3 → 3/4), and quits on q', async () => {
    const repo = await tempDir('repo');
    await mkdir(join(repo, 'llms'));
    await writeFile(join(repo, 'llms/pool.yaml'), POOL_YAML);
    standin = await startStandinServer({ model: 'Qwen/Qwen3-8B' });

    const reconciler = startMcpctl(['reconciler', '--worktree', repo, '--listen', '127.0.0.1:0', '--state-dir', await tempDir('state')], repo);
    const server = await until('the reconciler to serve', () => /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(reconciler.output())?.[1]);
    await startAgent(repo, server, 'gpu1', ['gpu1', 'gpu2']);

    // A private tmux server whose panes stay after their command exits, so that an early exit
    // shows its message and a quit its status.
    const conf = join(repo, 'tmux.conf');
    await writeFile(conf, 'set-option -g remain-on-exit on\n');
    tmuxSocket = `mcpctl-test-${process.pid}-${Date.now()}`;
    // stderr goes to a file: tmux may drop what a command prints just before it exits.
    const errors = join(repo, 'tui.stderr');
    exitFile = join(repo, 'tui.exit');
    const command = `${[process.execPath, BIN, 'tui', '--server', server].map(quoteForShell).join(' ')} 2>${quoteForShell(errors)}; echo $? >${quoteForShell(exitFile)}`;
    // CI=true as CI runners set it: Ink would then print only its last frame, so the TUI must
    // ignore it on a terminal.
    tmux('-f', conf, 'new-session', '-d', '-s', 'tui', '-x', '100', '-y', '30', '-c', repo, '-e', 'NO_COLOR=1', '-e', 'CI=true', command);

    const before = await until('the pool at 2/3', async () => {
      const row = poolRow(screen());
      if (paneExit() !== null) throw new Error(`mcpctl tui exited early: ${(await readFile(errors, 'utf8')).trim()}`);
      return row !== undefined && /\b2\/3\b/.test(row) ? row : null;
    });
    expect(before).toMatch(/explicit +2\/3 +█+░+ +2 +Healthy/);

    await startAgent(repo, server, 'gpu4', ['gpu4']);
    const after = await until('the worker to join: 3/4', () => {
      const row = poolRow(screen());
      return row !== undefined && /\b3\/4\b/.test(row) ? row : null;
    });
    expect(after).toMatch(/explicit +3\/4 +█+░+ +2 +Healthy/);
    expect(screen()).toContain('● live');
    // NO_COLOR: the pane holds no colour or bold attribute anywhere.
    expect(tmux('capture-pane', '-p', '-e', '-t', 'tui')).not.toMatch(/\u001b\[[0-9;]*m/);

    tmux('send-keys', '-t', 'tui', 'q');
    expect(await until('the TUI to exit', paneExit)).toBe('0');
  });
});
