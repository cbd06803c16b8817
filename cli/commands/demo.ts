// `npm start` (`mcpctl demo`): a reconciler on a real Git repository made from examples/llms, two
// agents with unique names sharing one poolName, each in front of a stand-in model server.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';

export interface DemoOptions {
  listen: string;
  examples: string;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../bin.js');
const POOL = 'user-vllm-qwen3-thinking';
const WORKERS = ['gpu1', 'gpu2'];

export async function run(options: DemoOptions, ctx: CommandContext): Promise<void> {
  const { startStandinServer } = await import('../../agent/standin-server.js');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcpctl-demo-'));
  const repoDir = path.join(dir, 'repo');
  const children: ChildProcess[] = [];
  const standins: { close(): Promise<void> }[] = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Agents first, so they deregister from a reconciler that is still there.
    for (const child of children.slice(1).reverse()) await terminate(child);
    if (children[0]) await terminate(children[0]);
    for (const s of standins) await s.close();
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await createDemoRepo(options.examples, repoDir);
    const reconciler = startChild(['reconciler', '--source', repoDir, '--listen', options.listen, '--poll', '10s', '--heartbeat-interval', '2s', '--ttl', '6s', '--state-dir', path.join(dir, 'state')], 'reconciler', ctx);
    children.push(reconciler.child);
    const url = await reconciler.ready;
    for (const worker of WORKERS) {
      const standin = await startStandinServer({ model: 'Qwen/Qwen3-8B' });
      standins.push(standin);
      const config = path.join(dir, `agent-${worker}.yaml`);
      await fs.writeFile(
        config,
        [
          `server: ${url}`,
          `agentId: ${worker}`,
          'providers:',
          `  - name: vllm-${worker}-qwen3`,
          `    poolName: ${POOL}`,
          '    type: vllm',
          '    model: Qwen/Qwen3-8B',
          `    url: ${standin.url}`,
          '',
        ].join('\n'),
      );
      children.push(startChild(['agent', '--config', config], `agent ${worker}`, ctx).child);
    }
    const cli = `node ${BIN}`;
    const serverFlag = url === 'http://127.0.0.1:7420' ? '' : ` --server ${url}`;
    ctx.out(
      [
        '',
        `mcpctl demo is running.`,
        `  reconciler:  ${url}   (API: ${url}/api/v1/llms, ${url}/api/v1/llms/vllm-gpu1-qwen3/members)`,
        `  repository:  ${repoDir}   (the reconciler follows its main branch)`,
        `  agents:      ${WORKERS.join(', ')}, both in pool ${POOL}`,
        '',
        'Try, in another terminal:',
        `  alias mcpctl='${cli}'`,
        `  mcpctl${serverFlag} get llm`,
        `  mcpctl${serverFlag} get pools`,
        `  mcpctl${serverFlag} describe llm vllm-gpu1-qwen3`,
        `  mcpctl${serverFlag} tui`,
        `  cd ${repoDir} && sed -i 's/enabled: false/enabled: true/' llms/qwen3-thinking-pool.yaml && mcpctl${serverFlag} plan`,
        '',
        'Press Ctrl-C to stop everything.',
        '',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      const done = (): void => resolve();
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
      children[0]?.once('exit', done);
    });
  } finally {
    await stop();
  }
  ctx.out('demo stopped\n');
}

async function createDemoRepo(examples: string, repoDir: string): Promise<void> {
  try {
    await fs.access(examples);
  } catch {
    throw new CliError(`--examples: ${examples} does not exist`);
  }
  await fs.mkdir(repoDir, { recursive: true });
  await fs.cp(examples, path.join(repoDir, 'llms'), { recursive: true });
  // The modelines point at ../../schema; in the demo repo the schema sits at schema/.
  await fs.mkdir(path.join(repoDir, 'schema'), { recursive: true });
  await fs.copyFile(path.resolve(HERE, '../../../schema/llm.schema.json'), path.join(repoDir, 'schema/llm.schema.json')).catch(() => undefined);
  for (const file of await fs.readdir(path.join(repoDir, 'llms'))) {
    const abs = path.join(repoDir, 'llms', file);
    const text = await fs.readFile(abs, 'utf8');
    await fs.writeFile(abs, text.replace('$schema=../../schema/llm.schema.json', '$schema=../schema/llm.schema.json'));
  }
  const git = simpleGit(repoDir);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'mcpctl demo').addConfig('user.email', 'demo@mcpctl.invalid');
  await git.add('.');
  await git.commit('Declare the example Llms');
}

function startChild(args: string[], label: string, ctx: CommandContext): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<string>((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      buffer += text;
      for (const line of text.split('\n')) if (line.trim() !== '') ctx.err(`[${label}] ${line}\n`);
      const match = /serving (http:\/\/[^\s)]+)/.exec(buffer);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new CliError(`${label} exited with code ${code ?? 'null'} before it was ready`)));
  });
  ready.catch(() => undefined);
  return { child, ready };
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
