// `npm start` (`mcpctl demo`): a reconciler on a real Git repository made from examples/llms, two
// agents with unique names sharing one poolName, each in front of stand-in model servers, and a
// gateway that sends OpenAI requests to the pools. Beside the shared pool they show the
// backward-compatible half of the pool model: a worker that joins the legacy solo `llama3-70b` by its
// name, and a provider published without poolName (as an older agent would) that stays a solo Llm.
// With --ha (`npm run demo:ha`): a local etcd in the demo folder and two reconcilers sharing it
// (DESIGN §9), the agents listing both (`servers:`), so that killing one shows the fleet move on.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';
import { parseListenAddress, type ListenAddress } from '../../service/listen-address.js';
import { ETCD_INSTALL_HINT, isEtcdInstalled, startLocalEtcd, type LocalEtcd } from '../../service/local-etcd.js';
import { ReconcilerClient } from '../../client/reconciler-client.js';
import type { LlmProviderFileEntry } from '../../schema/agent-config.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { PARENT_DIR_ENV, PARENT_PID_ENV } from '../parent-watch.js';

export interface DemoOptions {
  /** The reconciler's address. */
  listen: string;
  /** The gateway's address. */
  gatewayListen: string;
  examples: string;
  /** Two reconcilers on a local etcd instead of one on the file store. */
  ha?: boolean;
  /** With ha: the second reconciler's address. */
  secondListen?: string;
}

/** A provider of a demo agent; its stand-in model server supplies the URL. */
type DemoProvider = Omit<LlmProviderFileEntry, 'url' | 'healthPath'>;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../bin.js');
const POOL = 'user-vllm-qwen3-thinking';
const ANCHOR = 'vllm-gpu1-qwen3';
/** Declared solo in examples/llms/llama-legacy.yaml; the gpu2 worker joins it by name. */
const LEGACY = 'llama3-70b';
const LEGACY_WORKER = 'llama3-70b-gpu2';
const OLD_PUBLISHER = 'ollama-gpu1-qwen3';
const AGENTS: { id: string; providers: DemoProvider[] }[] = [
  {
    id: 'gpu1',
    providers: [
      { name: ANCHOR, poolName: POOL, type: 'vllm', model: 'Qwen/Qwen3-8B' },
      // No poolName, as an agent from before pools sends it: a solo Llm, not declared in Git.
      { name: OLD_PUBLISHER, type: 'ollama', model: 'qwen3:8b' },
    ],
  },
  {
    id: 'gpu2',
    providers: [
      { name: 'vllm-gpu2-qwen3', poolName: POOL, type: 'vllm', model: 'Qwen/Qwen3-8B' },
      { name: LEGACY_WORKER, poolName: LEGACY, type: 'llamacpp', model: 'meta-llama/Llama-3.3-70B-Instruct' },
    ],
  },
];
const DEFAULT_SERVER = 'http://127.0.0.1:7420';
/** A stand-in answers after a random wait in this range, as a GPU would take: enough for requests to overlap. */
const STANDIN_DELAY_MS = { min: 20, max: 120 };
const DIR_PREFIX = 'mcpctl-demo-';
/** In the demo folder: the demo's pid, so that a later demo can tell the folder of one that died. */
const PID_FILE = 'demo.pid';
/** How long the demo waits for its agents to show as active (and the gateway to route to their pool) before it prints the guide anyway. */
const AGENTS_READY_MS = 20_000;

/** Thrown inside the setup when Ctrl-C arrives before the demo is up: not an error, just stop. */
class Stopped extends Error {}

export async function run(options: DemoOptions, ctx: CommandContext): Promise<void> {
  const { startStandinServer } = await import('../../agent/standin-server.js');
  const secondListen = options.ha === true ? (options.secondListen ?? DEFAULT_SECOND_LISTEN) : undefined;
  if (options.ha === true && !isEtcdInstalled()) throw new CliError(`mcpctl demo --ha needs etcd; ${ETCD_INSTALL_HINT}`);
  // A taken port is the common failure (another demo still running): say so before anything starts.
  await checkPortFree(options.listen, RECONCILER_PORT);
  if (secondListen !== undefined) await checkPortFree(secondListen, SECOND_RECONCILER_PORT);
  await checkPortFree(options.gatewayListen, GATEWAY_PORT);
  await removeStaleDemoFolders(os.tmpdir(), ctx);
  // Listen for Ctrl-C first: a signal during the setup must still stop what was started.
  const interrupt = listenForStopSignals();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), DIR_PREFIX));
  const repoDir = path.join(dir, 'repo');
  const reconcilerChildren: ChildProcess[] = [];
  let etcd: LocalEtcd | undefined;
  let gatewayChild: ChildProcess | undefined;
  const agentChildren: ChildProcess[] = [];
  const standins: { close(): Promise<void> }[] = [];
  const untilStopped = <T>(step: Promise<T>): Promise<T> => Promise.race([step, interrupt.signalled.then(() => Promise.reject(new Stopped()))]);
  try {
    await fs.writeFile(path.join(dir, PID_FILE), `${process.pid}\n`);
    await createDemoRepo(options.examples, repoDir);
    const reconcilerArgs = ['reconciler', '--source', repoDir, '--poll', '10s', '--heartbeat-interval', '2s', '--ttl', '6s'];
    // With etcd, --state-dir holds only the Git cache: one per reconciler, in the demo folder.
    let store = (_label: string): string[] => ['--state-dir', path.join(dir, 'state')];
    if (secondListen !== undefined) {
      // In the demo folder, and stopped by the demo (or, if the demo dies hard, after its children).
      const started = await untilStopped(startLocalEtcd(dir, { detached: true, stopWithParent: true }).catch((error: unknown) => Promise.reject(new CliError(`cannot start etcd: ${(error as Error).message}`))));
      etcd = started;
      ctx.err(`[etcd] serving ${started.clientUrl} (data in ${path.join(dir, 'etcd')})\n`);
      store = (label) => ['--store', `etcd://${started.endpoint}`, '--store-prefix', '/mcpctl/', '--state-dir', path.join(dir, `state-${label}`)];
    }
    // The reconciler writes into the folder until it stops: if the demo dies first, it removes it.
    const reconciler = startChild([...reconcilerArgs, '--listen', options.listen, ...store('a')], secondListen === undefined ? 'reconciler' : 'reconciler A', ctx, dir);
    reconcilerChildren.push(reconciler.child);
    const reconcilerExit = waitForExit(reconciler.child).then((code) => Promise.reject(new CliError(`the reconciler exited with code ${code ?? 'null'}; see its log above`)));
    reconcilerExit.catch(() => undefined);
    // The second reconciler of --ha, started beside the first: the same repository, the same etcd.
    const second = secondListen === undefined ? undefined : startChild([...reconcilerArgs, '--listen', secondListen, ...store('b')], 'reconciler B', ctx, dir);
    if (second !== undefined) reconcilerChildren.push(second.child);
    const url = await untilStopped(readyOrPortTaken(reconciler, options.listen, RECONCILER_PORT));
    const urls = [url];
    let reconcilersGone: Promise<unknown> = reconcilerExit;
    if (second !== undefined && secondListen !== undefined) {
      urls.push(await untilStopped(Promise.race([readyOrPortTaken(second, secondListen, SECOND_RECONCILER_PORT), reconcilerExit])));
      // From here the demo goes on while either runs: killing one is what --ha is for.
      const bothExited = Promise.all(reconcilerChildren.map(waitForExit)).then(() => Promise.reject(new CliError('both reconcilers exited; see their logs above')));
      bothExited.catch(() => undefined);
      reconcilersGone = bothExited;
    }
    // The gateway follows the reconciler from the start: it routes once the agents' Llms are active.
    const gateway = startChild(['--server', url, 'gateway', '--listen', options.gatewayListen], 'gateway', ctx, undefined);
    gatewayChild = gateway.child;
    const gatewayExit = waitForExit(gateway.child).then((code) => Promise.reject(new CliError(`the gateway exited with code ${code ?? 'null'}; see its log above`)));
    gatewayExit.catch(() => undefined);
    const agentExits: Promise<never>[] = [];
    for (const [index, agent] of AGENTS.entries()) {
      // One stand-in per provider: each answers /models with the model id its provider declares.
      const providers: LlmProviderFileEntry[] = [];
      for (const provider of agent.providers) {
        const standin = await startStandinServer({ model: provider.model, metrics: true, answerDelayMs: STANDIN_DELAY_MS });
        standins.push(standin);
        providers.push({ ...provider, url: standin.url });
      }
      const config = path.join(dir, `agent-${agent.id}.yaml`);
      // With --ha each agent starts on a different reconciler and lists the other as its next.
      const servers = index % 2 === 0 ? urls : [...urls].reverse();
      await fs.writeFile(config, formatAgentConfig(servers, agent.id, providers));
      const child = startChild(['agent', '--config', config], `agent ${agent.id}`, ctx, undefined).child;
      agentChildren.push(child);
      const exit = waitForExit(child).then((code) => Promise.reject(new CliError(`an agent exited with code ${code ?? 'null'}; see its log above`)));
      exit.catch(() => undefined);
      agentExits.push(exit);
    }
    const anyExit = [secondListen === undefined ? reconcilerExit : reconcilersGone, gatewayExit, ...agentExits];
    // Its own exit is its readiness's to report (a taken port is one line): only the others' count here.
    const gatewayBase = await untilStopped(Promise.race([readyOrPortTaken(gateway, options.gatewayListen, GATEWAY_PORT), reconcilerExit, ...agentExits]));
    // The guide's first command is `mcpctl get llm`, its curl line asks the pool: print it once
    // every published Llm is active and the gateway routes to the pool.
    const published = AGENTS.flatMap((a) => a.providers.map((p) => p.name));
    const deadline = Date.now() + AGENTS_READY_MS;
    const active = await untilStopped(Promise.race([waitForActive(new ReconcilerClient({ server: url }), published, deadline), ...anyExit]));
    if (!active) ctx.err(`mcpctl demo: not every published Llm is active after ${AGENTS_READY_MS / 1000}s; see their logs above\n`);
    const routed = await untilStopped(Promise.race([waitForModel(gatewayBase, POOL, deadline), ...anyExit]));
    if (active && !routed) ctx.err(`mcpctl demo: the gateway does not list ${POOL} at ${gatewayBase}/models after ${AGENTS_READY_MS / 1000}s; see its log above\n`);
    const haGuide = etcd === undefined ? undefined : formatHaGuide(urls, reconcilerChildren.map((c) => c.pid ?? 0), etcd.clientUrl);
    ctx.out(formatGuide(url, gatewayBase, repoDir, dir, haGuide));
    await untilStopped(Promise.race([reconcilersGone, gatewayExit]));
  } catch (error) {
    if (!(error instanceof Stopped)) throw error;
  } finally {
    // The gateway first, so that no new request reaches a member that is going; then the agents,
    // so that they deregister from a reconciler that is still there; then the reconciler.
    if (gatewayChild) await terminate(gatewayChild);
    for (const child of agentChildren.reverse()) await terminate(child);
    for (const child of reconcilerChildren) await terminate(child);
    await etcd?.stop();
    for (const s of standins) await s.close();
    await fs.rm(dir, { recursive: true, force: true });
    interrupt.dispose();
  }
  ctx.out('demo stopped; its processes and its folder are gone\n');
}

/** The URL a child's ready line names; the one-line error when its port was taken after the check. */
function readyOrPortTaken(child: StartedChild, listen: string, port: PortFlag): Promise<string> {
  return child.ready.catch((error: unknown) => {
    // Taken between the check above and the child's own listen.
    if (child.output().includes('EADDRINUSE')) throw portTakenError(listen, port);
    throw error;
  });
}

/** What --ha adds to the guide: both reconcilers, and the kill that shows the agents move on. */
export function formatHaGuide(urls: readonly string[], pids: readonly number[], etcdUrl: string): string {
  const [first = '', second = ''] = urls;
  const lines = [
    'Two reconcilers share one fleet on a local etcd (--ha):',
    `  etcd:          ${etcdUrl}   (data in the demo folder; try: etcdctl --endpoints ${etcdUrl} get --prefix --keys-only /mcpctl/)`,
    `  reconciler A:  ${first}   (pid ${pids[0] ?? 0}; the gateway follows it)`,
    `  reconciler B:  ${second}   (pid ${pids[1] ?? 0})`,
    '  agents:        gpu1 lists servers: [A, B], gpu2 lists [B, A]',
    '',
    'Kill one and watch the agents move to the other, with every Llm still active:',
    `  kill -9 ${pids[1] ?? 0}`,
    `  mcpctl --server ${first} get llm`,
    '',
  ];
  return lines.join('\n');
}

/** What to try next, with the real URLs and paths; `npm start` on the default ports needs no flags. */
export function formatGuide(url: string, gatewayBase: string, repoDir: string, demoDir: string, haGuide?: string): string {
  const clone = path.join(demoDir, 'work');
  const lines = [
    '',
    'mcpctl demo is running.',
    `  reconciler:  ${url}   (try ${url}/api/v1/llms/${ANCHOR}/members)`,
    `  gateway:     ${gatewayBase}   (OpenAI-compatible; "model" is a pool or an Llm name: try ${gatewayBase}/models)`,
    `  repository:  ${repoDir}   (the reconciler follows its main branch; pushes to it are accepted)`,
    `  agents:      gpu1 publishes ${ANCHOR}, gpu2 publishes vllm-gpu2-qwen3; both in pool ${POOL}`,
    `               gpu2 also publishes ${LEGACY_WORKER} with poolName ${LEGACY}: it joins the legacy solo ${LEGACY}`,
    `               gpu1 also publishes ${OLD_PUBLISHER} without poolName, as an older agent would: a solo Llm`,
    '',
    'Try, in another terminal:',
    `  alias mcpctl='node ${BIN}'`,
    ...(url === DEFAULT_SERVER ? [] : [`  export MCPCTL_SERVER=${url}`]),
    // The gateway has no default in the CLI: with it known, get pools -o wide shows IN-FLIGHT.
    `  export MCPCTL_GATEWAY=${gatewayBase.replace(/\/v1$/, '')}`,
    `  cd ${repoDir}`,
    '  mcpctl get llm',
    '  mcpctl get pools -o wide                # IN-FLIGHT: requests through the gateway now',
    `  mcpctl describe llm ${ANCHOR}`,
    `  mcpctl describe llm ${LEGACY}`,
    '  mcpctl tui',
    '',
    `Stream a chat completion from the pool ${POOL} through the gateway:`,
    `  ${formatCurlLine(gatewayBase)}`,
    '',
    'A pull-request-style change, in a clone:',
    `  git clone ${repoDir} ${clone} && cd ${clone}`,
    '  mcpctl undrain llm vllm-gpu3-qwen3      # a one-line commit in the clone',
    '  mcpctl plan                             # what merging it would change',
    '  git push && mcpctl sync --wait          # "merge": the reconciler serves it',
    '  mcpctl get pools',
    '',
    ...(haGuide === undefined ? [] : [haGuide]),
    'Press Ctrl-C to stop everything (the demo folder and its repository are removed).',
    '',
  ];
  return lines.join('\n');
}

/** The guide's curl line: a streamed chat completion from the shared pool. */
export function formatCurlLine(gatewayBase: string): string {
  const body = JSON.stringify({ model: POOL, stream: true, messages: [{ role: 'user', content: 'Say hello' }] });
  return `curl -N ${gatewayBase}/chat/completions -H 'content-type: application/json' -d '${body}'`;
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
  // A clone may push to main although it is checked out here: Git updates this working tree too
  // (it stays clean because nobody edits it), so "merge a pull request" is a plain `git push`.
  await git.addConfig('receive.denyCurrentBranch', 'updateInstead');
  await git.add('.');
  await git.commit('Declare the example Llms');
}

/** The config file of one demo agent. */
function formatAgentConfig(servers: readonly string[], agentId: string, providers: LlmProviderFileEntry[]): string {
  const serverLines = servers.length === 1 ? [`server: ${servers[0] ?? ''}`] : ['servers:', ...servers.map((s) => `  - ${s}`)];
  const lines = [...serverLines, `agentId: ${agentId}`, 'providers:'];
  for (const p of providers) {
    lines.push(`  - name: ${p.name}`);
    if (p.poolName !== undefined) lines.push(`    poolName: ${p.poolName}`);
    lines.push(`    type: ${p.type}`, `    model: ${p.model}`, `    url: ${p.url}`);
  }
  return `${lines.join('\n')}\n`;
}

/** True once every one of `names` is active; false when the time runs out. */
async function waitForActive(client: ReconcilerClient, names: readonly string[], deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    const answer = await client.listLlms().catch(() => null);
    const active = new Set(answer?.items.filter((v) => v.status.phase === 'active').map((v) => v.metadata.name));
    if (names.every((name) => active.has(name))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** True once the gateway's `GET /models` lists `model`; false when the time runs out. */
async function waitForModel(gatewayBase: string, model: string, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    const answer = await fetch(`${gatewayBase}/models`)
      .then((response) => (response.ok ? (response.json() as Promise<{ data?: { id?: unknown }[] }>) : null))
      .catch(() => null);
    if (answer?.data?.some((entry) => entry.id === model) === true) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Which of the demo's listen flags a port belongs to, for the one-line error. */
interface PortFlag {
  flag: string;
  holders: string;
}
const RECONCILER_PORT: PortFlag = { flag: '--listen', holders: 'another demo or reconciler?' };
const GATEWAY_PORT: PortFlag = { flag: '--gateway-listen', holders: 'another demo or gateway?' };
const SECOND_RECONCILER_PORT: PortFlag = { flag: '--second-listen', holders: 'another demo or reconciler?' };
/** The second reconciler of --ha, beside the first's default 7420. */
export const DEFAULT_SECOND_LISTEN = '127.0.0.1:7421';

/** Throws the one-line error for a taken port; any other failure is left to the child to report. */
async function checkPortFree(listen: string, port: PortFlag): Promise<void> {
  let address: ListenAddress;
  try {
    address = parseListenAddress(listen);
  } catch (error) {
    // The parser names --listen; the demo has two listen flags.
    throw new CliError((error as Error).message.replace(/^--listen:/, `${port.flag}:`));
  }
  if (address.port === 0) return;
  const server = createServer();
  const code = await new Promise<string | null>((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host: address.host, port: address.port }, () => server.close(() => resolve(null)));
  });
  if (code === 'EADDRINUSE') throw portTakenError(listen, port);
}

function portTakenError(listen: string, port: PortFlag): CliError {
  const free = listen.replace(/:\d+$/, ':0');
  return new CliError(`${listen} is already in use (${port.holders}); stop it, or start the demo on a free port: npm start -- ${port.flag} ${free}`);
}

/**
 * Removes the folders of demos that died without cleaning up (SIGKILL): those whose recorded pid is
 * no longer a process. Folders without a pid file, or of a live process, are left alone.
 */
async function removeStaleDemoFolders(tmpDir: string, ctx: CommandContext): Promise<void> {
  const entries = await fs.readdir(tmpDir).catch(() => [] as string[]);
  for (const entry of entries.filter((e) => e.startsWith(DIR_PREFIX))) {
    const folder = path.join(tmpDir, entry);
    const pid = Number((await fs.readFile(path.join(folder, PID_FILE), 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0 || isProcessAlive(pid)) continue;
    try {
      await fs.rm(folder, { recursive: true, force: true });
      ctx.err(`mcpctl demo: removed ${folder}, left behind by a demo (pid ${pid}) that is gone\n`);
    } catch {
      // Another user's, or being removed right now: not ours to insist on.
    }
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listenForStopSignals(): { signalled: Promise<void>; dispose(): void } {
  let resolve: () => void = () => undefined;
  const signalled = new Promise<void>((r) => (resolve = r));
  const onSignal = (): void => resolve();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  return { signalled, dispose: () => signals.forEach((s) => process.off(s, onSignal)) };
}

interface StartedChild {
  child: ChildProcess;
  /** The URL its ready line names (`… serving http://HOST:PORT…`), with the real port when it listens on :0. */
  ready: Promise<string>;
  output(): string;
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** `ownDir`: the demo folder, for the child to remove when the demo dies before it. */
function startChild(args: string[], label: string, ctx: CommandContext, ownDir: string | undefined): StartedChild {
  // Each child in a process group of its own: a terminal's Ctrl-C reaches only the demo, which
  // stops the gateway, then the agents (they deregister), then the reconciler. Signalled together with the
  // demo, an agent would take the demo's SIGTERM as a second Ctrl-C and die without deregistering.
  // A demo killed hard stops nothing, so each child watches its parent (cli/parent-watch.ts).
  const env: NodeJS.ProcessEnv = { ...process.env, [PARENT_PID_ENV]: String(process.pid) };
  if (ownDir !== undefined) env[PARENT_DIR_ENV] = ownDir;
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  let buffer = '';
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      buffer += text;
      for (const line of text.split('\n')) if (line.trim() !== '') ctx.err(`[${label}] ${line}\n`);
      // The ready line names the URL served, with the real port when --listen says :0: the
      // reconciler's `… serving http://HOST:PORT`, the gateway's `… serving http://HOST:PORT/v1 (…)`.
      const match = /serving (http:\/\/[^\s)"]+)/.exec(buffer);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    // On close, not exit: by then its output is all read, the EADDRINUSE that readyOrPortTaken looks for included.
    child.once('close', (code) => reject(new CliError(`${label} exited with code ${code ?? 'null'} before it was ready; see its log above`)));
  });
  ready.catch(() => undefined);
  return { child, ready, output: () => buffer };
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
