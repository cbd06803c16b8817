// drain, undrain, delete and create as real processes: the pool policy check judges only the
// change at hand (earlier unpushed commits are not blamed on it), a check skipped because the
// reconciler is unreachable says so in one line, and names from arguments follow the name rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAME_RULE_TEXT } from '../../schema/names.js';
import {
  cloneRepo,
  closedPort,
  createScope,
  expectOneErrorLine,
  runCli,
  startFleet,
  type CliResult,
  type TempRepo,
} from './support/cli-harness.js';

const scope = createScope();
let source: TempRepo;
let server: string;

beforeAll(async () => {
  ({ source, server } = await startFleet(scope));
});

afterAll(() => scope.cleanup());

function mcpctlIn(repo: TempRepo, args: string[], serverUrl = server): Promise<CliResult> {
  return runCli(['--server', serverUrl, '--repo', repo.dir, ...args]);
}

/** The refusal of a change that takes gpu1, qwen3's only active member, out: `how` says in what way. */
const REFUSED_QWEN3 = (how: string): string =>
  `mcpctl: error: refusing a change that violates pool policy (use --force to override): pool qwen3: 0 active after the change (1 now), below minActive 1: vllm-gpu1-qwen3 ${how}`;

async function subjectOfHead(repo: TempRepo): Promise<string> {
  return (await repo.git.raw(['log', '-1', '--format=%s'])).trim();
}

describe.concurrent('the policy check judges only this change', () => {
  it('an unpushed forced drain is not blamed on a drain in another pool, nor on an undrain', async () => {
    const repo = await cloneRepo(scope, source.dir);
    // gpu1 drained and committed, not pushed: the reconciler still serves it as active.
    const forced = await mcpctlIn(repo, ['drain', 'llm', 'vllm-gpu1-qwen3', '--force']);
    expect(forced.code).toBe(0);

    const other = await mcpctlIn(repo, ['drain', 'llm', 'ollama-dev']);
    expect(other.stderr).toBe('');
    expect(other.code).toBe(0);
    expect(await subjectOfHead(repo)).toBe('drain llm ollama-dev');

    // gpu2 is not active: draining it changes no count, and undraining it can only raise one.
    const drained = await mcpctlIn(repo, ['drain', 'llm', 'vllm-gpu2-qwen3']);
    expect(drained.stderr).toBe('');
    expect(drained.code).toBe(0);
    const undrained = await mcpctlIn(repo, ['undrain', 'llm', 'vllm-gpu2-qwen3']);
    expect(undrained.stderr).toBe('');
    expect(undrained.code).toBe(0);
    expect(await subjectOfHead(repo)).toBe('undrain llm vllm-gpu2-qwen3');

    const back = await mcpctlIn(repo, ['undrain', 'llm', 'vllm-gpu1-qwen3']);
    expect(back.code).toBe(0);
    expect(await repo.status()).toBe('');
  }, 90_000); // Seven CLI runs one after another, each a Node start and Git commands: slow on a loaded 2-core machine.

  it('create over an existing name that moves the only active member out of its pool is refused unless --force', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const log = await repo.log();
    const args = ['create', 'llm', 'vllm-gpu1-qwen3', '--type', 'vllm', '--model', 'Qwen/Qwen3-8B', '--pool-name', 'elsewhere'];
    const refused = await mcpctlIn(repo, args);
    expect(refused.code).toBe(1);
    expect(expectOneErrorLine(refused)).toBe(REFUSED_QWEN3("moved to pool elsewhere (llms/pool.yaml:19)"));
    expect(await repo.log()).toEqual(log);
    expect(await repo.status()).toBe('');
    const forced = await mcpctlIn(repo, [...args, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('llm/vllm-gpu1-qwen3 configured in ');
  });

  it('after an unrelated unpushed commit, a drain that itself breaks the floor is still refused', async () => {
    const repo = await cloneRepo(scope, source.dir);
    expect((await mcpctlIn(repo, ['drain', 'llm', 'ollama-dev'])).code).toBe(0);
    const log = await repo.log();
    const refused = await mcpctlIn(repo, ['drain', 'llm', 'vllm-gpu1-qwen3']);
    expect(refused.code).toBe(1);
    expect(expectOneErrorLine(refused)).toBe(REFUSED_QWEN3("drained (llms/pool.yaml:21)"));
    expect(await repo.log()).toEqual(log);
    expect(await repo.status()).toBe('');
    const deleted = await mcpctlIn(repo, ['delete', 'llm', 'vllm-gpu1-qwen3']);
    expect(deleted.code).toBe(1);
    expect(expectOneErrorLine(deleted)).toBe(REFUSED_QWEN3("deleted (llms/pool.yaml:12)"));
    expect(await repo.log()).toEqual(log);
  });
});

describe.concurrent('with the reconciler unreachable, the skipped policy check is one line', () => {
  it.each([
    ['drain', ['drain', 'llm', 'vllm-gpu1-qwen3'], 'drain llm vllm-gpu1-qwen3'],
    ['delete', ['delete', 'llm', 'vllm-gpu1-qwen3'], 'delete llm vllm-gpu1-qwen3'],
    ['create', ['create', 'llm', 'vllm-gpu3-qwen3', '--type', 'vllm', '--model', 'm', '--pool-name', 'qwen3'], 'create llm vllm-gpu3-qwen3'],
  ])('%s commits and says the check was skipped, naming the URL', async (_what, args, subject) => {
    const repo = await cloneRepo(scope, source.dir);
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const result = await mcpctlIn(repo, args, closed);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`mcpctl: warning: pool policy check skipped: reconciler unreachable at ${closed}\n`);
    expect(await subjectOfHead(repo)).toBe(subject);
  });

  it('undrain too; an undrain with nothing to change says nothing about the check', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const closed = `http://127.0.0.1:${await closedPort()}`;
    expect((await mcpctlIn(repo, ['drain', 'llm', 'vllm-gpu2-qwen3'])).code).toBe(0);
    const result = await mcpctlIn(repo, ['undrain', 'llm', 'vllm-gpu2-qwen3'], closed);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`mcpctl: warning: pool policy check skipped: reconciler unreachable at ${closed}\n`);
    const again = await mcpctlIn(repo, ['undrain', 'llm', 'vllm-gpu2-qwen3'], closed);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe('llm/vllm-gpu2-qwen3 already enabled\n');
  });
});

describe.concurrent('names from arguments follow the one name rule', () => {
  it.each([
    ['drain llm', ['drain', 'llm', 'Vllm-GPU1'], 'capital letters are not allowed: "Vllm-GPU1"'],
    ['undrain llm', ['undrain', 'llm', 'gpu_1/x'], '"/" is not allowed: "gpu_1/x"'],
    ['delete llm', ['delete', 'llm', 'Bad_Name'], 'capital letters are not allowed: "Bad_Name"'],
    ['delete pool', ['delete', 'pool', 'qwen3.'], 'a name must start and end with a letter or digit, not ".": "qwen3."'],
  ])('%s refuses an invalid NAME in one line, exit 1, nothing written', async (_what, args, problem) => {
    const repo = await cloneRepo(scope, source.dir);
    const log = await repo.log();
    const result = await mcpctlIn(repo, args);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe(`mcpctl: error: NAME: invalid name: ${problem}; a name is ${NAME_RULE_TEXT}`);
    expect(await repo.log()).toEqual(log);
    expect(await repo.status()).toBe('');
  });
});
