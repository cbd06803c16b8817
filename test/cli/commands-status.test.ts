// `mcpctl sync` and `mcpctl status` as real processes against a reconciler whose repository the
// test commits to: a new revision served after `sync --wait`, then an invalid commit that the
// reconciler rejects (sync and status exit 1 and name file:line:col), then the fix.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusAnswer } from '../../schema/views.js';
import {
  BIN,
  childEnv,
  createRepo,
  createScope,
  expectOneErrorLine,
  FLEET_FILES,
  getJson,
  linesOf,
  liveLlm,
  registerAgent,
  runCli,
  startReconciler,
  waitFor,
  type CliResult,
  type TempRepo,
} from './support/cli-harness.js';

const scope = createScope();
let source: TempRepo;
let server: string;

beforeAll(async () => {
  source = await createRepo(scope, FLEET_FILES);
  server = (await startReconciler(scope, source.dir)).url;
});

afterAll(() => scope.cleanup());

function mcpctl(...args: string[]): Promise<CliResult> {
  return runCli(['--server', server, ...args], { cwd: source.dir });
}

const EXTRA = `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: extra-llm
spec:
  type: tgi
  model: mistralai/Mistral-7B-Instruct-v0.3
`;

// One story, in order: each step starts from the revision the previous one left.
describe.sequential('sync and status', () => {
  it('sync --wait returns once the reconciler serves the new commit', async () => {
    await source.write('llms/extra.yaml', EXTRA);
    const head = await source.commitAll('add extra-llm');
    const result = await mcpctl('sync', '--wait');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`synced: serving revision ${head}\n`);
    const listed = await mcpctl('get', 'llm', 'extra-llm', '-o', 'name');
    expect(listed.stdout).toBe('llm/extra-llm\n');
    const status = await mcpctl('status');
    expect(status.code).toBe(0);
  });

  it('an invalid commit: sync and status exit 1 and print file:line:col, while the last good revision keeps serving', async () => {
    const good = await source.head();
    await source.write('llms/broken.yaml', EXTRA.replace('extra-llm', 'broken-llm').replace('  model:', '  modle:'));
    const bad = await source.commitAll('a typo');
    // Let the reconciler see the commit before the CLI asks (it watches the repository's refs too),
    // so that the CLI's own sync finds nothing new: it must still report the rejection.
    await fetch(`${server}/api/v1/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await waitFor('the reconciler to reject the typo', async () => (await getJson<StatusAnswer>(`${server}/api/v1/status`)).revision === bad);

    const [sync, syncWait, status] = await Promise.all([mcpctl('sync'), mcpctl('sync', '--wait', '--timeout', '20'), mcpctl('status')]);
    for (const result of [sync, syncWait]) {
      expect(result.code).toBe(1);
      expect(expectOneErrorLine(result)).toBe(
        `mcpctl: error: the reconciler rejected revision ${bad} and keeps serving ${good}: llms/broken.yaml:7:3: spec.modle: unknown field "modle" (did you mean "model"?)`,
      );
    }
    expect(status.code).toBe(1);
    expect(status.stderr).toBe('');
    expect(linesOf(status.stdout)).toContain('  llms/broken.yaml:7:3: spec.modle: unknown field "modle" (did you mean "model"?)');
    expect(status.stdout).toMatch(new RegExp(`^Newest revision:\\s+${bad.slice(0, 7)}\\s+\\(rejected\\)$`, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^Served \\(last good\\):\\s+${good.slice(0, 7)}$`, 'm'));
    // The last good revision still serves its Llms.
    expect((await mcpctl('get', 'llm', 'extra-llm', '-o', 'name')).stdout).toBe('llm/extra-llm\n');
  });

  it('after the fix, sync --wait serves it and status exits 0 again', async () => {
    await source.remove('llms/broken.yaml');
    const fixed = await source.commitAll('fix the typo');
    const sync = await mcpctl('sync', '--wait');
    expect(sync.code).toBe(0);
    expect(sync.stdout).toBe(`synced: serving revision ${fixed}\n`);
    const status = await mcpctl('status');
    expect(status.code).toBe(0);
    expect(status.stdout).not.toContain('llms/broken.yaml');
  });

  it('status -o json is the /status answer', async () => {
    const result = await mcpctl('status', '-o', 'json');
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as StatusAnswer;
    expect(parsed.revision).toBe(await source.head());
    expect(parsed.lastGoodRevision).toBe(parsed.revision);
    expect(parsed.history.map((h) => h.result)).toContain('rejected');
  });

  it('get llm -w prints the table, then a line when an agent registers, and exits 0 on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, '--server', server, 'get', 'llm', '-w'], { cwd: source.dir, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    scope.track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor('the table', () => stdout.includes('extra-llm '));
    await registerAgent(server, 'gpu5', [liveLlm('watched-worker', 'qwen3')]);
    const line = await waitFor('the watch line', () => linesOf(stdout).find((l) => l.includes('watched-worker')));
    expect(line).toMatch(/^ADDED\s+watched-worker\s+qwen3\s+virtual\s+active\s/);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});

describe('a source that cannot be read', () => {
  it('sync exits 1 with SyncFailed in one line while the last good revision keeps serving; it recovers', async () => {
    const repo = await createRepo(scope, FLEET_FILES);
    const sha = await repo.head();
    await repo.git.branch(['fleet', sha]);
    const url = (await startReconciler(scope, repo.dir, ['--branch', 'fleet'])).url;
    const cli = (...args: string[]): Promise<CliResult> => runCli(['--server', url, ...args], { cwd: repo.dir });

    await repo.git.branch(['-D', 'fleet']);
    const failed = await cli('sync');
    expect(failed.code).toBe(1);
    expect(expectOneErrorLine(failed)).toBe(`mcpctl: error: ${url} answered 502 SyncFailed: could not read the source: branch "fleet" does not exist in ${repo.dir}; still serving ${sha}`);
    const history = (await getJson<StatusAnswer>(`${url}/api/v1/status`)).history;
    expect(history[0]).toMatchObject({ revision: null, result: 'rejected' });
    expect((await cli('get', 'llm', 'vllm-gpu1-qwen3', '-o', 'name')).stdout).toBe('llm/vllm-gpu1-qwen3\n');

    await repo.git.branch(['fleet', sha]);
    const recovered = await cli('sync');
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toBe(`synced: serving revision ${sha}\n`);
  });
});
