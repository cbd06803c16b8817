// Real processes for the CLI's end-to-end tests: temp Git repositories (simple-git), a reconciler
// child process following one of them, agents registered over HTTP, and `node dist/cli/bin.js …`
// runs whose exit code, stdout and stderr the tests read. Run `npx tsc -p tsconfig.json` first.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { RegisteredLlm, RegistrationAnswer } from '../../../schema/agent-protocol.js';
import { stablePort } from '../../support/ports.js';
import { waitFor } from '../../support/wait-for.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const BIN = join(REPO_ROOT, 'dist/cli/bin.js');

/** Variables of the test runner's own environment that would change what the CLI does. */
const SCRUBBED_ENV = ['MCPCTL_SERVER', 'MCPCTL_TOKEN', 'MCPCTL_GATEWAY', 'MCPCTL_REPO', 'NO_COLOR', 'FORCE_COLOR', 'TERM', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE'];

/** A child's environment: the runner's, without the variables above, with a fixed Git identity. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of SCRUBBED_ENV) delete env[key];
  Object.assign(env, {
    GIT_AUTHOR_NAME: 'mcpctl test',
    GIT_AUTHOR_EMAIL: 'test@mcpctl.invalid',
    GIT_COMMITTER_NAME: 'mcpctl test',
    GIT_COMMITTER_EMAIL: 'test@mcpctl.invalid',
  });
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Temp folders and child processes of one test file (or one test), removed by `cleanup`. */
export interface Scope {
  tempDir(prefix: string): Promise<string>;
  track(child: ChildProcess): void;
  cleanup(): Promise<void>;
}

export function createScope(): Scope {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  return {
    async tempDir(prefix) {
      const dir = await mkdtemp(join(tmpdir(), `mcpctl-cli-${prefix}-`));
      dirs.push(dir);
      return dir;
    },
    track(child) {
      children.push(child);
    },
    async cleanup() {
      const exits = children.map((child) =>
        child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((done) => child.once('exit', () => done())),
      );
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(exits);
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Git repositories

export interface TempRepo {
  dir: string;
  git: SimpleGit;
  write(path: string, text: string): Promise<void>;
  read(path: string): Promise<string>;
  exists(path: string): boolean;
  remove(path: string): Promise<void>;
  /** Stages everything and commits; returns the new HEAD. */
  commitAll(message: string): Promise<string>;
  head(): Promise<string>;
  /** `git log --format=%H` of HEAD, newest first. */
  log(): Promise<string[]>;
  /** `git status --porcelain` (untracked files included). */
  status(): Promise<string>;
}

const GIT_CONFIG = ['user.name=mcpctl test', 'user.email=test@mcpctl.invalid', 'commit.gpgsign=false'];

function gitOf(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, config: GIT_CONFIG });
}

/** The identity goes into the repository's own config too, for the CLI's commits in it. */
async function configureIdentity(git: SimpleGit): Promise<void> {
  for (const entry of GIT_CONFIG) {
    const [key, value] = entry.split('=') as [string, string];
    await git.addConfig(key, value);
  }
}

function tempRepoAt(dir: string): TempRepo {
  const git = gitOf(dir);
  return {
    dir,
    git,
    async write(path, text) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    },
    read: (path) => readFile(join(dir, path), 'utf8'),
    exists: (path) => existsSync(join(dir, path)),
    remove: (path) => rm(join(dir, path), { force: true }),
    async commitAll(message) {
      await git.add(['-A']);
      await git.commit(message);
      return (await git.revparse(['HEAD'])).trim();
    },
    head: async () => (await git.revparse(['HEAD'])).trim(),
    log: async () => (await git.raw(['log', '--format=%H'])).trim().split('\n'),
    status: async () => (await git.raw(['status', '--porcelain', '--untracked-files=all'])).trim(),
  };
}

/** A new repository on branch main with `files` committed as its first commit. */
export async function createRepo(scope: Scope, files: Record<string, string>): Promise<TempRepo> {
  const dir = await scope.tempDir('repo');
  await gitOf(dir).init(['--quiet', '--initial-branch=main']);
  const repo = tempRepoAt(dir);
  await configureIdentity(repo.git);
  for (const [path, text] of Object.entries(files)) await repo.write(path, text);
  await repo.commitAll('initial resources');
  return repo;
}

/** A clone of `source` (a path or URL) with its own working tree. */
export async function cloneRepo(scope: Scope, source: string): Promise<TempRepo> {
  const parent = await scope.tempDir('clone');
  const dir = join(parent, 'work');
  await simpleGit({ baseDir: parent, config: GIT_CONFIG }).clone(source, dir, ['--quiet']);
  const repo = tempRepoAt(dir);
  await configureIdentity(repo.git);
  return repo;
}

/** A bare repository holding `source`'s branches, for push tests. */
export async function bareCloneOf(scope: Scope, source: string): Promise<string> {
  const parent = await scope.tempDir('bare');
  const dir = join(parent, 'remote.git');
  await simpleGit({ baseDir: parent, config: GIT_CONFIG }).clone(source, dir, ['--quiet', '--bare']);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The CLI

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Standard input; none (closed at once) when absent. */
  input?: string;
  /** Options for node itself, before the script (`--import …`). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/** Runs `node dist/cli/bin.js ...args` to completion. */
export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mcpctl ${args.join(' ')} did not finish in ${options.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A `node dist/cli/bin.js ...args` still running: its output so far, and its end. */
export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited(): boolean;
  done: Promise<CliResult>;
}

/** Starts `node dist/cli/bin.js ...args` and returns at once, for tests that act while it runs. */
export function startCli(scope: Scope, args: string[], options: CliRunOptions = {}): RunningCli {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  scope.track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.end(options.input ?? '');
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited: () => child.exitCode !== null || child.signalCode !== null, done };
}

/** The lines of a text, without the empty last one. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((line, i, all) => !(i === all.length - 1 && line === ''));
}

/** Whether a run failed the way DESIGN §5 says errors fail: exactly one stderr line `mcpctl: error: …`. */
export function expectOneErrorLine(result: CliResult): string {
  const lines = linesOf(result.stderr);
  if (lines.length !== 1 || !lines[0]?.startsWith('mcpctl: error: ')) {
    throw new Error(`expected one stderr line starting "mcpctl: error: ", got:\n${result.stderr}`);
  }
  return lines[0];
}

// ---------------------------------------------------------------------------------------------
// The reconciler and live state

export interface ReconcilerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
}

/** Starts `mcpctl reconciler --source DIR --listen 127.0.0.1:0 --poll 1h` and waits for its ready line. */
export async function startReconciler(scope: Scope, source: string, extraArgs: string[] = []): Promise<ReconcilerProcess> {
  const args = [BIN, 'reconciler', '--source', source, '--listen', '127.0.0.1:0', '--poll', '1h', '--ttl', '10m', '--gc', '1h', ...extraArgs];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  scope.track(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (output += c));
  const url = await waitFor(
    'the reconciler to print where it serves',
    () => {
      if (child.exitCode !== null) throw new Error(`the reconciler exited with ${child.exitCode}:\n${output}`);
      return /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    },
    15_000,
  );
  return { url, child, output: () => output };
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await response.json()) as T;
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/**
 * The fleet most CLI tests run against: FLEET_FILES in a repository, a reconciler following it, and
 * agent gpu1 serving vllm-gpu1-qwen3, the only active member of qwen3 (its LlmPool asks for
 * minActive 1; gpu2 is declared and never seen).
 */
export async function startFleet(scope: Scope): Promise<{ source: TempRepo; server: string }> {
  const source = await createRepo(scope, FLEET_FILES);
  const server = (await startReconciler(scope, source.dir)).url;
  await registerAgent(server, 'gpu1', [liveLlm('vllm-gpu1-qwen3', 'qwen3')]);
  return { source, server };
}

/** A healthy registration entry for `name` (vllm, Qwen/Qwen3-8B). */
export function liveLlm(name: string, poolName?: string, health: RegisteredLlm['health'] = 'ok'): RegisteredLlm {
  return { name, ...(poolName === undefined ? {} : { poolName }), type: 'vllm', model: 'Qwen/Qwen3-8B', url: `http://${name}.lan:8000/v1`, health };
}

/** Registers an agent's Llms directly (POST /api/v1/agents/register), as `mcpctl agent` would. */
export async function registerAgent(server: string, agentId: string, llms: RegisteredLlm[]): Promise<RegistrationAnswer> {
  const answer = await postJson<RegistrationAnswer>(`${server}/api/v1/agents/register`, {
    agentId,
    host: `${agentId}.lan`,
    version: '0.1.0',
    llms,
    gpus: [{ index: 0, name: 'NVIDIA H100', memoryTotalMiB: 81559, memoryUsedMiB: 1024, utilizationPct: 3 }],
  });
  if (answer.rejected.length > 0) throw new Error(`registration rejected: ${JSON.stringify(answer.rejected)}`);
  return answer;
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return (await response.json()) as T;
}

/** A loopback port with nothing listening on it, outside the range other tests' servers get. */
export function closedPort(): Promise<number> {
  return stablePort();
}

/** Polls `probe` until it returns a value (never a fixed sleep). */
export { waitFor };

// ---------------------------------------------------------------------------------------------
// Which modules a command loads

/**
 * Writes a `node --import` preload into `dir` that appends every module the process resolves (ESM
 * resolve hook, run in the loader thread) and every CommonJS `require` (Module._load) to a log file.
 * Returns the node arguments and a reader of the log.
 */
export async function writeLoadRecorder(dir: string): Promise<{ nodeArgs: string[]; env: Record<string, string>; read(): Promise<string[]> }> {
  const log = join(dir, 'loaded.log');
  const hook = join(dir, 'record-hook.mjs');
  const preload = join(dir, 'record-preload.mjs');
  await writeFile(
    hook,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.MCPCTL_TEST_LOAD_LOG, result.url + '\\n');
  return result;
}
`,
  );
  // Node 22.15+ has synchronous in-thread hooks (module.registerHooks); module.register() is
  // deprecated there (DEP0205 on Node 26) and is used only where registerHooks is missing (Node 20).
  await writeFile(
    preload,
    `import * as nodeModule from 'node:module';
import { appendFileSync } from 'node:fs';
const record = (line) => appendFileSync(process.env.MCPCTL_TEST_LOAD_LOG, line + '\\n');
if (typeof nodeModule.registerHooks === 'function') {
  nodeModule.registerHooks({
    resolve(specifier, context, next) {
      const result = next(specifier, context);
      record(result.url);
      return result;
    },
  });
} else {
  nodeModule.register(${JSON.stringify(new URL(`file://${hook}`).href)});
}
const Module = nodeModule.createRequire(import.meta.url)('node:module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try { record('require:' + Module._resolveFilename(request, parent, isMain)); } catch {}
  return load.apply(this, arguments);
};
`,
  );
  return {
    nodeArgs: ['--import', preload],
    env: { MCPCTL_TEST_LOAD_LOG: log },
    read: async () => (existsSync(log) ? (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '') : []),
  };
}

/** The npm packages among loaded module paths or URLs (`ink`, `react`, `@scope/name`). */
export function packagesOf(loaded: string[]): Set<string> {
  const out = new Set<string>();
  for (const entry of loaded) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(entry);
    if (match?.[1] !== undefined) out.add(match[1]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The fleet the tests declare

/** A third qwen3 worker, not in the fleet: what a change that adds an Llm writes. */
export const NEW_LLM_YAML = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu3-qwen3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
`;

/** A commented multi-document file: a pool policy and two workers. */
export const POOL_YAML = `# yaml-language-server: $schema=../schema/llm.schema.json
# The lab's Qwen3 pool: one Llm per GPU host.
apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: qwen3
  labels: { team: research }
spec:
  minActive: 1   # keep one worker serving
---
# gpu1 is the first worker.
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu1-qwen3
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B   # the 8B for now
  poolName: qwen3
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu2-qwen3
  labels: { team: research }
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
`;

export const LEGACY_YAML = `# A solo Llm from before pools, in its own file named after it.
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

export const OLLAMA_YAML = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: ollama-dev
spec:
  type: ollama
  model: qwen3:8b
`;

export const FLEET_FILES: Record<string, string> = {
  'llms/pool.yaml': POOL_YAML,
  'llms/llama3-70b.yaml': LEGACY_YAML,
  'llms/ollama-dev.yaml': OLLAMA_YAML,
};

export const FLEET_NAMES = ['llama3-70b', 'ollama-dev', 'vllm-gpu1-qwen3', 'vllm-gpu2-qwen3'];
