// Only an unreachable reconciler counts as "offline". A reconciler that answers with an error (a
// bad token's 401, a missing role's 403) fails plan --against, apply, drain, undrain, delete and
// create in one line (exit 1) instead of silently skipping the pool policy check.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cloneRepo,
  createRepo,
  createScope,
  expectOneErrorLine,
  FLEET_FILES,
  OLLAMA_YAML,
  runCli,
  startReconciler,
  type TempRepo,
} from './support/cli-harness.js';

const scope = createScope();
let source: TempRepo;
let server: string;

function sha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

beforeAll(async () => {
  source = await createRepo(scope, FLEET_FILES);
  const auth = join(await scope.tempDir('auth'), 'auth.yaml');
  await writeFile(
    auth,
    `tokens:
  - name: viewer
    sha256: ${sha256('view-token')}
    roles: [view:llms]
  - name: syncer
    sha256: ${sha256('sync-token')}
    roles: [sync:llms]
`,
  );
  server = (await startReconciler(scope, source.dir, ['--auth', auth])).url;
});

afterAll(() => scope.cleanup());

describe.concurrent('an HTTP error answer is not "offline"', () => {
  it('plan --against HEAD: a bad token is exit 1 in one line, a token without view:llms too; a good one checks policy', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const run = (token: string): ReturnType<typeof runCli> =>
      runCli(['--server', server, '--token', token, 'plan', '--against', 'HEAD', '--detailed-exitcode'], { cwd: repo.dir });
    const [bad, noRole, good] = await Promise.all([run('wrong-token'), run('sync-token'), run('view-token')]);
    expect(bad.code).toBe(1);
    expect(expectOneErrorLine(bad)).toMatch(new RegExp(`^mcpctl: error: ${server} answered 401 Unauthorized: `));
    expect(bad.stdout).toBe('');
    expect(noRole.code).toBe(1);
    expect(expectOneErrorLine(noRole)).toMatch(/answered 403 Forbidden: token "syncer" lacks the role view:llms$/);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).not.toContain('check skipped');
  });

  it.each([
    ['drain', ['drain', 'llm', 'vllm-gpu1-qwen3']],
    ['undrain', ['undrain', 'llm', 'vllm-gpu1-qwen3']],
    ['delete', ['delete', 'llm', 'vllm-gpu1-qwen3']],
    ['create', ['create', 'llm', 'vllm-gpu3-qwen3', '--type', 'vllm', '--model', 'm', '--pool-name', 'qwen3']],
    ['apply -f -', ['apply', '-f', '-', '--yes']],
  ])('%s with a bad token: exit 1, one line, nothing written or committed', async (_what, args) => {
    const repo = await cloneRepo(scope, source.dir);
    if (args[0] === 'undrain') {
      // Something to undrain, committed first.
      expect((await runCli(['--server', server, '--token', 'view-token', '--repo', repo.dir, 'drain', 'llm', 'vllm-gpu1-qwen3', '--force'])).code).toBe(0);
    }
    const log = await repo.log();
    const result = await runCli(['--server', server, '--token', 'wrong-token', '--repo', repo.dir, ...args], {
      input: OLLAMA_YAML.replace('qwen3:8b', 'qwen3:14b'),
    });
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toMatch(/answered 401 Unauthorized: /);
    expect(await repo.log()).toEqual(log);
    expect(await repo.status()).toBe('');
  });
});
