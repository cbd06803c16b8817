// `mcpctl completion bash|zsh|fish`: every flag and subcommand of the commander tree is offered
// (walked here with commander's own API, independently of cli/completion.ts), bash accepts the
// script and, run for real, completes flags, flag values and Llm names read from the repository.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCompletionTree } from '../../cli/completion.js';
import { buildProgram } from '../../cli/program.js';
import { LLM_TYPES } from '../../schema/resources.js';
import { checkTool, TOOLS } from '../support/tools.js';
import { BIN, childEnv, createRepo, createScope, expectOneErrorLine, FLEET_FILES, FLEET_NAMES, runCli, type TempRepo } from './support/cli-harness.js';

interface TreeNode {
  path: string[];
  flags: string[];
  subcommands: string[];
  /** Flags (as typed, short form first when there is one) whose values commander restricts to choices. */
  choices: { flag: string; choices: string[] }[];
}

/** Every command that `--help` lists, with its flags (short and long, -h/--help too) and subcommands. */
function walkTree(root: Command): TreeNode[] {
  const out: TreeNode[] = [];
  const visit = (command: Command, path: string[]): void => {
    const help = command.createHelp();
    const subs = help.visibleCommands(command);
    const flags = help.visibleOptions(command).flatMap((o) => [o.short, o.long].filter((n): n is string => n !== undefined));
    for (const option of command.options) expect(flags, `${path.join(' ')}: ${option.flags} is listed by --help`).toContain(option.long);
    const choices = help.visibleOptions(command).flatMap((o) => (o.argChoices === undefined ? [] : [{ flag: o.short ?? o.long ?? o.flags, choices: o.argChoices }]));
    out.push({ path, flags, subcommands: subs.map((c) => c.name()), choices });
    for (const sub of subs) visit(sub, [...path, sub.name()]);
  };
  visit(root, []);
  return out;
}

const scope = createScope();
let repo: TempRepo;
let binDir: string;
let scripts: Record<'bash' | 'zsh' | 'fish', string>;
const tree = walkTree(buildProgram());
const globalFlags = tree.find((n) => n.path.length === 0)?.flags ?? [];

beforeAll(async () => {
  repo = await createRepo(scope, FLEET_FILES);
  // The scripts call `mcpctl __complete …`: put an `mcpctl` on PATH that runs this build.
  binDir = await scope.tempDir('bin');
  await writeFile(join(binDir, 'mcpctl'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  await chmod(join(binDir, 'mcpctl'), 0o755);
  const [bash, zsh, fish] = await Promise.all((['bash', 'zsh', 'fish'] as const).map((shell) => runCli(['completion', shell])));
  for (const result of [bash, zsh, fish]) expect(result?.code).toBe(0);
  scripts = { bash: bash?.stdout ?? '', zsh: zsh?.stdout ?? '', fish: fish?.stdout ?? '' };
});

afterAll(() => scope.cleanup());

/** Runs the bash completion function once per COMP_WORDS line given and returns each COMPREPLY. */
function completeInBash(lines: string[][]): string[][] {
  const quote = (w: string): string => `'${w.replace(/'/g, `'\\''`)}'`;
  const calls = lines.map((words) => `COMP_WORDS=(${words.map(quote).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _mcpctl; echo "REPLY ${'${COMPREPLY[*]}'}"`);
  const output = execFileSync('bash', ['--norc', '--noprofile', '-c', `source /dev/stdin <<'MCPCTL_COMPLETION'\n${scripts.bash}MCPCTL_COMPLETION\n${calls.join('\n')}`], {
    cwd: repo.dir,
    env: childEnv({ PATH: `${binDir}:${process.env.PATH ?? ''}` }),
    encoding: 'utf8',
  });
  return output
    .split('\n')
    .filter((l) => l.startsWith('REPLY'))
    .map((l) => l.slice('REPLY '.length).split(' ').filter((w) => w !== ''));
}

const FISH = checkTool(TOOLS.fish);

describe('the command tree', () => {
  it('has the commands DESIGN §5 names, each with its flags', () => {
    const paths = tree.map((n) => n.path.join(' '));
    for (const command of ['get', 'describe', 'create', 'apply', 'delete', 'plan', 'sync', 'tui', 'reconciler', 'agent', 'completion', 'version', 'status', 'drain', 'undrain']) {
      expect(paths).toContain(command);
    }
    expect(tree.find((n) => n.path.join(' ') === 'apply')?.flags).toEqual(expect.arrayContaining(['-f', '--filename', '--dry-run', '--no-commit', '--push', '--wait', '--yes']));
    expect(globalFlags).toEqual(expect.arrayContaining(['--server', '--token', '--gateway', '--repo', '--path']));
    expect(tree.find((n) => n.path.join(' ') === 'drain')?.flags).toEqual(expect.arrayContaining(['--wait', '--timeout', '--push', '--no-commit', '--dry-run']));
  });
});

describe('completion bash', () => {
  it('is accepted by bash -n', () => {
    const result = spawnSync('bash', ['-n'], { input: scripts.bash, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('offers every flag of every command, the global ones too, and every subcommand', () => {
    const commands = tree;
    const flagReplies = completeInBash(commands.map((n) => ['mcpctl', ...n.path, '-']));
    const subReplies = completeInBash(commands.map((n) => ['mcpctl', ...n.path, '']));
    commands.forEach((node, i) => {
      const where = `mcpctl ${node.path.join(' ')}`;
      for (const flag of [...node.flags, ...globalFlags].filter((f) => f.startsWith('--'))) expect(flagReplies[i], `${where} --<TAB>`).toContain(flag);
      // `-<TAB>` lists long and short forms alike.
      for (const flag of node.flags.filter((f) => !f.startsWith('--'))) expect(flagReplies[i], `${where} -<TAB>`).toContain(flag);
      for (const sub of node.subcommands) expect(subReplies[i], `${where} <TAB>`).toContain(sub);
    });
  });

  it('completes flag values from their choices, per command', () => {
    const [getOutput, planOutput, statusOutput, createSource, unmanaged, shells] = completeInBash([
      ['mcpctl', 'get', 'llm', '-o', ''],
      ['mcpctl', 'plan', '--output', ''],
      ['mcpctl', 'status', '-o', ''],
      ['mcpctl', 'create', 'llm', 'x', '--source', ''],
      ['mcpctl', '--server', 'http://127.0.0.1:1', 'reconciler', '--unmanaged', ''],
      ['mcpctl', 'completion', ''],
    ]);
    expect(getOutput).toEqual(['table', 'wide', 'yaml', 'json', 'name']);
    expect(planOutput).toEqual(['text', 'json', 'markdown']);
    expect(statusOutput).toEqual(['text', 'json']);
    expect(createSource).toEqual(['agent', 'static']);
    expect(unmanaged).toEqual(['admit', 'reject']);
    expect(shells).toEqual(['bash', 'zsh', 'fish']);
  });

  it('completes the value of every flag that has commander choices with exactly those choices', () => {
    const withChoices = tree.flatMap((node) => node.choices.map((c) => ({ node, ...c })));
    expect(withChoices.map((c) => `${c.node.path.join(' ')} ${c.flag}`)).toEqual(expect.arrayContaining(['get -o', 'plan -o', 'status -o', 'create --source', 'reconciler --unmanaged']));
    const replies = completeInBash(withChoices.map((c) => ['mcpctl', ...c.node.path, c.flag, '']));
    withChoices.forEach((c, i) => expect(replies[i], `mcpctl ${c.node.path.join(' ')} ${c.flag} <TAB>`).toEqual(c.choices));
  });

  it('completes create --type with the LLM types of the schema', () => {
    const [all, partial, beforeName] = completeInBash([
      ['mcpctl', 'create', 'llm', 'x', '--type', ''],
      ['mcpctl', 'create', 'llm', 'x', '--model', 'm', '--type', 'o'],
      ['mcpctl', 'create', '--type', 'vllm', 'llm', ''],
    ]);
    expect(all).toEqual([...LLM_TYPES]);
    expect(partial).toEqual(['openai', 'ollama', 'other']);
    // The value was skipped: the word after it is still the resource's name.
    expect(beforeName).toEqual(FLEET_NAMES);
  });

  it('completes no file name after --gateway (a URL), and skips its value before a command', () => {
    const [value, afterValue, drainFlags] = completeInBash([
      ['mcpctl', '--gateway', ''],
      ['mcpctl', '--gateway', 'http://127.0.0.1:7430', 'drain', 'llm', ''],
      ['mcpctl', 'drain', 'llm', 'vllm-gpu1-qwen3', '--w'],
    ]);
    expect(value).toEqual([]);
    expect(afterValue).toEqual(FLEET_NAMES);
    expect(drainFlags).toEqual(['--wait']);
  });

  it('completes get --pool and create --pool-name with pool keys from the repository', () => {
    const [getPool, createPool, partial, afterValue] = completeInBash([
      ['mcpctl', 'get', 'llm', '--pool', ''],
      ['mcpctl', 'create', 'llm', 'x', '--pool-name', ''],
      ['mcpctl', 'get', 'llms', '--pool', 'q'],
      ['mcpctl', 'get', '--pool', 'qwen3', 'llm', ''],
    ]);
    expect(getPool).toEqual(['llama3-70b', 'ollama-dev', 'qwen3']);
    expect(createPool).toEqual(['llama3-70b', 'ollama-dev', 'qwen3']);
    expect(partial).toEqual(['qwen3']);
    expect(afterValue).toEqual(FLEET_NAMES);
  });

  it('offers only the resources each command accepts', () => {
    const [get, del, describeR, create, drain, undrain] = completeInBash(['get', 'delete', 'describe', 'create', 'drain', 'undrain'].map((verb) => ['mcpctl', verb, '']));
    expect(get).toEqual(['llm', 'llms', 'pool', 'pools']);
    expect(del).toEqual(['llm', 'llms', 'pool', 'pools']);
    for (const llmOnly of [describeR, create, drain, undrain]) expect(llmOnly).toEqual(['llm']);
  });

  it('completes delete pool with the pools declared by an LlmPool document, and delete llm with Llm names', () => {
    const [pool, pools, llm] = completeInBash([
      ['mcpctl', 'delete', 'pool', ''],
      ['mcpctl', 'delete', '--dry-run', 'pools', ''],
      ['mcpctl', 'delete', 'llm', ''],
    ]);
    // llama3-70b and ollama-dev are implicit pools (no LlmPool document): delete has nothing to remove for them.
    expect(pool).toEqual(['qwen3']);
    expect(pools).toEqual(['qwen3']);
    expect(llm).toEqual(FLEET_NAMES);
  });

  it('completes Llm names from the repository, and pool keys after get pool', () => {
    const [describeLlm, afterFlags, getPool, partial] = completeInBash([
      ['mcpctl', 'describe', 'llm', ''],
      ['mcpctl', '--server', 'http://127.0.0.1:1', 'get', 'llm', '-o', 'wide', ''],
      ['mcpctl', 'get', 'pools', ''],
      ['mcpctl', 'drain', 'llm', 'vllm-g'],
    ]);
    expect(describeLlm).toEqual(FLEET_NAMES);
    expect(afterFlags).toEqual(FLEET_NAMES);
    expect(getPool).toEqual(['llama3-70b', 'ollama-dev', 'qwen3']);
    expect(partial).toEqual(['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3']);
  });

  it('works as a user would source it: source <(mcpctl completion bash)', () => {
    const output = execFileSync('bash', ['--norc', '--noprofile', '-c', 'source <(mcpctl completion bash); COMP_WORDS=(mcpctl describe llm ""); COMP_CWORD=3; _mcpctl; echo "${COMPREPLY[@]}"'], {
      cwd: repo.dir,
      env: childEnv({ PATH: `${binDir}:${process.env.PATH ?? ''}` }),
      encoding: 'utf8',
    });
    expect(output).toBe(`${FLEET_NAMES.join(' ')}\n`);
  });
});

describe('completion zsh and fish', () => {
  it('zsh loads the bash function through bashcompinit', () => {
    expect(scripts.zsh.startsWith('#compdef mcpctl\n')).toBe(true);
    expect(scripts.zsh).toContain('autoload -U +X bashcompinit && bashcompinit\n');
    // The same function the bash tests exercise.
    expect(scripts.zsh.endsWith(scripts.bash)).toBe(true);
  });

  it('fish offers every flag of every command and every subcommand', () => {
    const lines = scripts.fish.split('\n');
    const conditionOf = (line: string): string | null => /-n '([^']*)'/.exec(line)?.[1] ?? null;
    const longs = (line: string): string[] => [...line.matchAll(/ -l (\S+)/g)].map((m) => `--${m[1]}`);
    const shorts = (line: string): string[] => [...line.matchAll(/ -s (\S+)/g)].map((m) => `-${m[1]}`);
    for (const node of tree) {
      const last = node.path[node.path.length - 1];
      const own = lines.filter((l) => (last === undefined ? conditionOf(l) === null || conditionOf(l) === '__fish_use_subcommand' : (conditionOf(l) ?? '').includes(`__fish_seen_subcommand_from ${last}`)));
      const global = lines.filter((l) => l.startsWith('complete -c mcpctl ') && conditionOf(l) === null);
      const offered = new Set([...own, ...global].flatMap((l) => [...longs(l), ...shorts(l)]));
      for (const flag of [...node.flags, ...globalFlags]) expect([...offered], `fish: mcpctl ${node.path.join(' ')} ${flag}`).toContain(flag);
      for (const sub of node.subcommands) {
        const cond = last === undefined ? '__fish_use_subcommand' : node.path.map((p) => `__fish_seen_subcommand_from ${p}`).join('; and ');
        expect(lines, `fish: mcpctl ${node.path.join(' ')} ${sub}`).toContainEqual(expect.stringMatching(new RegExp(`^complete -c mcpctl -n '${cond}' -a ${sub} `)));
      }
    }
  });

  it('fish completes flag values and resource names from the same sources as bash', () => {
    const lines = scripts.fish.split('\n');
    const flagLine = (cond: string, long: string): string | undefined => lines.find((l) => l.startsWith(`complete -c mcpctl -n '${cond}' `) && l.includes(` -l ${long} `));
    expect(flagLine('__fish_seen_subcommand_from get', 'pool')).toContain(`-x -a '(mcpctl __complete pools 2>/dev/null)'`);
    expect(flagLine('__fish_seen_subcommand_from create', 'pool-name')).toContain(`-x -a '(mcpctl __complete pools 2>/dev/null)'`);
    expect(flagLine('__fish_seen_subcommand_from create', 'type')).toContain(`-x -a '${LLM_TYPES.join(' ')}'`);
    expect(flagLine('__fish_seen_subcommand_from get', 'output')).toContain(`-x -a 'table wide yaml json name'`);
    expect(lines.find((l) => l.includes(' -l gateway '))).toMatch(/^complete -c mcpctl -l gateway -x -d /);
    expect(lines).toContain(`complete -c mcpctl -n '__fish_seen_subcommand_from describe' -a 'llm'`);
    expect(lines).toContain(`complete -c mcpctl -n '__fish_seen_subcommand_from delete; and __fish_seen_subcommand_from pool pools llmpool llmpools' -a '(mcpctl __complete declared-pools 2>/dev/null)'`);
    expect(lines).toContain(`complete -c mcpctl -n '__fish_seen_subcommand_from get; and __fish_seen_subcommand_from pool pools llmpool llmpools' -a '(mcpctl __complete pools 2>/dev/null)'`);
  });

  it.skipIf(!FISH.available)(`fish --no-execute accepts the script${FISH.skipNote}`, async () => {
    const file = join(await scope.tempDir('fish'), 'mcpctl.fish');
    await writeFile(file, scripts.fish);
    const check = spawnSync('fish', ['--no-execute', file], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it.skipIf(!FISH.available)(`fish --no-execute rejects a broken script, so the check above can fail${FISH.skipNote}`, async () => {
    const file = join(await scope.tempDir('fish-bad'), 'broken.fish');
    await writeFile(file, `${scripts.fish}
if true
`);
    const check = spawnSync('fish', ['--no-execute', file], { encoding: 'utf8' });
    expect(check.status).not.toBe(0);
    expect(check.stderr).not.toBe('');
  });
});

describe('mcpctl __complete and completion errors', () => {
  it('__complete lists Llm names and pool keys from the repository (--repo or MCPCTL_REPO), and nothing outside one', async () => {
    const outside = await scope.tempDir('not-a-repo');
    const [llms, pools, fromEnv, nowhere] = await Promise.all([
      runCli(['--repo', repo.dir, '__complete', 'llms']),
      runCli(['__complete', 'pools'], { cwd: repo.dir }),
      runCli(['__complete', 'llms'], { env: { MCPCTL_REPO: repo.dir } }),
      runCli(['__complete', 'llms'], { cwd: outside }),
    ]);
    expect(llms.stdout).toBe(FLEET_NAMES.map((n) => `${n}\n`).join(''));
    expect(pools.stdout).toBe('llama3-70b\nollama-dev\nqwen3\n');
    expect(fromEnv.stdout).toBe(llms.stdout);
    expect(nowhere.code).toBe(0);
    expect(nowhere.stdout).toBe('');
    expect(nowhere.stderr).toBe('');
  });

  it('__complete declared-pools lists only the pools an LlmPool document declares, and an unknown list is empty', async () => {
    const [declared, unknown] = await Promise.all([runCli(['__complete', 'declared-pools'], { cwd: repo.dir }), runCli(['__complete', 'bogus'], { cwd: repo.dir })]);
    expect(declared.stdout).toBe('qwen3\n');
    expect(unknown.code).toBe(0);
    expect(unknown.stdout).toBe('');
  });

  it('refuses to generate a script whose per-command sources name an argument or flag the tree lacks', () => {
    // A renamed flag or argument must fail here, not silently fall back to file names.
    const bare = new Command('mcpctl');
    bare.command('get').argument('<resource>').argument('[name]');
    expect(() => collectCompletionTree(bare)).toThrow(/get --pool/);
  });

  it('an unknown shell is exit 1 with one line', async () => {
    const result = await runCli(['completion', 'powershell']);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe('mcpctl: error: completion: expected bash, zsh or fish, found "powershell"');
  });
});
