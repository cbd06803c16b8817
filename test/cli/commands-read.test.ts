// The read-only commands as real processes against one real reconciler following a temp Git repo,
// with live state from registered agents: get (every output), get pools, describe, version,
// status, the --server/MCPCTL_SERVER precedence, exit codes and colour.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { LlmView, PoolSummary } from '../../schema/views.js';
import {
  BIN,
  childEnv,
  closedPort,
  createRepo,
  createScope,
  expectOneErrorLine,
  FLEET_FILES,
  FLEET_NAMES,
  linesOf,
  liveLlm,
  registerAgent,
  runCli,
  startReconciler,
  type CliResult,
  type TempRepo,
} from './support/cli-harness.js';

const scope = createScope();
let repo: TempRepo;
let server: string;

beforeAll(async () => {
  repo = await createRepo(scope, FLEET_FILES);
  server = (await startReconciler(scope, repo.dir)).url;
  // gpu1 serves its declared worker; gpu7 publishes an undeclared worker into the legacy Llm's
  // implicit pool, which makes llama3-70b a pool of two.
  await registerAgent(server, 'gpu1', [{ ...liveLlm('vllm-gpu1-qwen3', 'qwen3'), load: { running: 3, waiting: 1, kvCacheUsage: 0.42 } }]);
  await registerAgent(server, 'gpu7', [liveLlm('llama3-70b-gpu7', 'llama3-70b')]);
});

afterAll(() => scope.cleanup());

const ANSI = /\u001b\[/;

function mcpctl(...args: string[]): Promise<CliResult> {
  return runCli(['--server', server, ...args], { cwd: repo.dir });
}

function columnsOf(line: string): string[] {
  return line.trim().split(/\s{2,}/);
}

function rowOf(stdout: string, name: string): string[] {
  const line = linesOf(stdout).find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no row for ${name} in:\n${stdout}`);
  return columnsOf(line);
}

describe('mcpctl get llm', () => {
  it('prints a table with POOL right after NAME, - for a solo Llm, and no colour off a terminal', async () => {
    const result = await mcpctl('get', 'llms');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).not.toMatch(ANSI);
    const lines = linesOf(result.stdout);
    expect(columnsOf(lines[0] ?? '')).toEqual(['NAME', 'POOL', 'KIND', 'STATUS', 'TYPE', 'MODEL', 'AGE']);
    expect(lines.slice(1).map((l) => columnsOf(l)[0])).toEqual([...FLEET_NAMES.slice(0, 1), 'llama3-70b-gpu7', ...FLEET_NAMES.slice(1)]);
    expect(rowOf(result.stdout, 'ollama-dev').slice(0, 6)).toEqual(['ollama-dev', '-', 'declared', 'pending', 'ollama', 'qwen3:8b']);
    expect(rowOf(result.stdout, 'vllm-gpu1-qwen3').slice(0, 6)).toEqual(['vllm-gpu1-qwen3', 'qwen3', 'managed', 'active', 'vllm', 'Qwen/Qwen3-8B']);
    expect(rowOf(result.stdout, 'vllm-gpu2-qwen3').slice(0, 4)).toEqual(['vllm-gpu2-qwen3', 'qwen3', 'declared', 'pending']);
    // The legacy Llm joined by a worker is no longer solo: its implicit key shows.
    expect(rowOf(result.stdout, 'llama3-70b').slice(0, 2)).toEqual(['llama3-70b', 'llama3-70b']);
    expect(rowOf(result.stdout, 'llama3-70b-gpu7').slice(0, 3)).toEqual(['llama3-70b-gpu7', 'llama3-70b', 'virtual']);
  });

  it('-o wide adds POOL-ACTIVE, URL, AGENT and the engine load (RUNNING, WAITING, KV)', async () => {
    const result = await mcpctl('get', 'llm', '-o', 'wide');
    expect(result.code).toBe(0);
    expect(columnsOf(linesOf(result.stdout)[0] ?? '')).toEqual(['NAME', 'POOL', 'KIND', 'STATUS', 'TYPE', 'MODEL', 'AGE', 'POOL-ACTIVE', 'URL', 'AGENT', 'RUNNING', 'WAITING', 'KV']);
    expect(rowOf(result.stdout, 'vllm-gpu1-qwen3').slice(7)).toEqual(['1/2', 'http://vllm-gpu1-qwen3.lan:8000/v1', 'gpu1', '3', '1', '42%']);
    expect(rowOf(result.stdout, 'vllm-gpu2-qwen3').slice(7)).toEqual(['1/2', '-', '-', '-', '-', '-']);
  });

  it('-o json is the list the reconciler serves, and one view for one name', async () => {
    const [list, one] = await Promise.all([mcpctl('get', 'llm', '-o', 'json'), mcpctl('get', 'llm', 'vllm-gpu1-qwen3', '-o', 'json')]);
    expect(list.code).toBe(0);
    const parsed = JSON.parse(list.stdout) as { revision: string; items: LlmView[] };
    expect(parsed.revision).toBe(await repo.head());
    expect(parsed.items.map((v) => v.metadata.name)).toContain('vllm-gpu2-qwen3');
    const view = JSON.parse(one.stdout) as LlmView;
    expect(view.metadata.name).toBe('vllm-gpu1-qwen3');
    expect(view.status.agent?.id).toBe('gpu1');
    expect(view.status.pool).toEqual({ key: 'qwen3', explicit: true });
  });

  it('-o yaml is canonical resource YAML without status unless --show-status', async () => {
    const [plain, withStatus] = await Promise.all([mcpctl('get', 'llm', '-o', 'yaml'), mcpctl('get', 'llm', 'vllm-gpu1-qwen3', '-o', 'yaml', '--show-status')]);
    expect(plain.code).toBe(0);
    const docs = parseAllDocuments(plain.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string }; status?: unknown });
    expect(docs.map((d) => d.metadata.name)).toEqual(['llama3-70b', 'llama3-70b-gpu7', 'ollama-dev', 'vllm-gpu1-qwen3', 'vllm-gpu2-qwen3']);
    expect(docs.every((d) => d.kind === 'Llm' && d.status === undefined)).toBe(true);
    expect(plain.stdout).toContain(`---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: vllm-gpu1-qwen3
  labels:
    team: research
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
---`);
    expect(withStatus.code).toBe(0);
    expect(withStatus.stdout).toMatch(/^status:\n {2}kind: managed\n {2}phase: active$/m);
  });

  it('-o name prints llm/NAME lines, and --pool keeps one pool', async () => {
    const [names, pooled] = await Promise.all([mcpctl('get', 'llm', '-o', 'name'), mcpctl('get', 'llm', '--pool', 'qwen3', '-o', 'name')]);
    expect(names.stdout).toBe(['llama3-70b', 'llama3-70b-gpu7', 'ollama-dev', 'vllm-gpu1-qwen3', 'vllm-gpu2-qwen3'].map((n) => `llm/${n}\n`).join(''));
    expect(pooled.stdout).toBe('llm/vllm-gpu1-qwen3\nllm/vllm-gpu2-qwen3\n');
  });

  it('an empty selection says so on stderr for every output, stdout stays empty', async () => {
    for (const args of [['get', 'llm', '--pool', 'no-such-pool'], ['get', 'llm', '--pool', 'no-such-pool', '-o', 'name']]) {
      const result = await mcpctl(...args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr, args.join(' ')).toBe('No resources found.\n');
    }
  });

  it('a name that breaks the name rule is refused before any request, naming where it came from', async () => {
    const port = await closedPort();
    // Checked first: even an unreachable reconciler gives the name error, exit 1.
    const cases: [string[], string][] = [
      [['get', 'llm', 'Bad_Name'], 'NAME: invalid name'],
      [['get', 'llm', '--pool', 'Bad_Pool'], '--pool: invalid name'],
      [['get', 'pool', 'Bad_Pool'], 'KEY: invalid name'],
      [['describe', 'llm', 'Bad_Name'], 'NAME: invalid name'],
    ];
    for (const [args, start] of cases) {
      const result = await runCli(['--server', `http://127.0.0.1:${port}`, ...args], { cwd: repo.dir });
      expect(result.code, args.join(' ')).toBe(1);
      expect(expectOneErrorLine(result)).toContain(`mcpctl: error: ${start}: capital letters are not allowed: "Bad_`);
    }
    const poolsWithPool = await mcpctl('get', 'pools', '--pool', 'qwen3');
    expect(poolsWithPool.code).toBe(1);
    expect(expectOneErrorLine(poolsWithPool)).toBe('mcpctl: error: --pool: applies to get llm; for one pool use `mcpctl get pool KEY`');
  });

  it('an unknown name is exit 1 with one error line, and nothing on stdout', async () => {
    const result = await mcpctl('get', 'llm', 'no-such-llm');
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe('mcpctl: error: llm "no-such-llm" not found');
    expect(result.stdout).toBe('');
  });

  it('an unreachable reconciler is exit 3 with one error line', async () => {
    const port = await closedPort();
    const result = await runCli(['--server', `http://127.0.0.1:${port}`, 'get', 'llm'], { cwd: repo.dir });
    expect(result.code).toBe(3);
    expect(expectOneErrorLine(result)).toBe(`mcpctl: error: cannot reach the reconciler at http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('a --server that is not an http(s) URL is exit 1, naming the flag', async () => {
    const result = await runCli(['--server', 'ftp://fleet', 'get', 'llm'], { cwd: repo.dir });
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe('mcpctl: error: --server: expected an http(s) URL, found "ftp://fleet"');
  });

  it('an answer of the wrong shape is exit 1 with one line naming the route and the field', async () => {
    const stub = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ revision: null, items: [{ apiVersion: 'mcpctl/v1', kind: 'Llm', metadata: { name: 'a' }, spec: { type: 'vllm', model: 7 } }] }));
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
      const result = await runCli(['--server', url, 'get', 'llm', '-o', 'json'], { cwd: repo.dir });
      expect(result.code).toBe(1);
      expect(expectOneErrorLine(result)).toBe(`mcpctl: error: GET ${url}/api/v1/llms answered with a body of the wrong shape: items.0.spec.model: expected string, found 7 (and 1 more)`);
      expect(result.stdout).toBe('');
    } finally {
      await new Promise<void>((resolve) => stub.close(() => resolve()));
    }
  });

  it('takes the server from MCPCTL_SERVER, and --server over the variable', async () => {
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const [fromEnv, flagWins] = await Promise.all([
      runCli(['get', 'llm', '-o', 'name'], { cwd: repo.dir, env: { MCPCTL_SERVER: server } }),
      runCli(['--server', server, 'get', 'llm', '-o', 'name'], { cwd: repo.dir, env: { MCPCTL_SERVER: closed } }),
    ]);
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toContain('llm/ollama-dev\n');
    expect(flagWins.code).toBe(0);
    expect(flagWins.stdout).toBe(fromEnv.stdout);
  });
});

describe('mcpctl get pools', () => {
  it('lists every pool with its key kind, size, active count, floor and health', async () => {
    const result = await mcpctl('get', 'pools');
    expect(result.code).toBe(0);
    const lines = linesOf(result.stdout);
    expect(columnsOf(lines[0] ?? '')).toEqual(['POOL', 'KEY', 'SIZE', 'ACTIVE', 'MIN', 'HEALTH', 'MEMBERS']);
    expect(rowOf(result.stdout, 'qwen3')).toEqual(['qwen3', 'explicit', '2', '1', '1', 'Healthy', 'vllm-gpu1-qwen3,vllm-gpu2-qwen3']);
    // Explicit because the worker sets poolName to the legacy Llm's name.
    expect(rowOf(result.stdout, 'llama3-70b')).toEqual(['llama3-70b', 'explicit', '2', '1', '0', 'Healthy', 'llama3-70b,llama3-70b-gpu7']);
    expect(rowOf(result.stdout, 'ollama-dev')).toEqual(['ollama-dev', 'implicit', '1', '0', '0', 'Unavailable', 'ollama-dev']);
  });

  it('get pool KEY -o json is that pool; an unknown key is exit 1', async () => {
    const [one, missing] = await Promise.all([mcpctl('get', 'pool', 'qwen3', '-o', 'json'), mcpctl('get', 'pool', 'nope')]);
    const pool = JSON.parse(one.stdout) as PoolSummary;
    expect(pool).toMatchObject({ key: 'qwen3', explicit: true, size: 2, activeCount: 1, minActive: 1, members: ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3'] });
    expect(missing.code).toBe(1);
    expect(expectOneErrorLine(missing)).toBe('mcpctl: error: pool "nope" not found');
  });

  it('get pool KEY -o yaml is the LlmPool document, which applies back as no change; --show-status adds the figures', async () => {
    const yaml = await mcpctl('get', 'pool', 'qwen3', '-o', 'yaml');
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(/^apiVersion: mcpctl\/v1\nkind: LlmPool\nmetadata:\n {2}name: qwen3\n/);
    expect(yaml.stdout).toContain('  minActive: 1\n');
    expect(yaml.stdout).not.toContain('status:');
    const applied = await runCli(['--server', server, 'apply', '-f', '-', '--yes'], { cwd: repo.dir, input: yaml.stdout });
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('No changes.');
    const withStatus = await mcpctl('get', 'pool', 'qwen3', '-o', 'yaml', '--show-status');
    expect(withStatus.stdout).toMatch(/\nstatus:\n(.*\n)*? {2}activeCount: 1\n/);
  });
});

describe('get pools -o yaml | apply -f -', () => {
  it('prints only the pools an LlmPool document declares, so that applying it back is no change', async () => {
    const [list, table] = await Promise.all([mcpctl('get', 'pools', '-o', 'yaml'), mcpctl('get', 'pools')]);
    expect(list.code).toBe(0);
    // The fleet has several pools (qwen3, llama3-70b, ollama-dev); only qwen3 has a document.
    expect(linesOf(table.stdout).length).toBeGreaterThan(2);
    expect(list.stdout.match(/^kind: LlmPool$/gm)).toHaveLength(1);
    expect(list.stdout).toMatch(/^ {2}name: qwen3$/m);
    const applied = await runCli(['--server', server, 'apply', '-f', '-', '--yes'], { cwd: repo.dir, input: list.stdout });
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('No changes.');
    expect(applied.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove.');
  });

  it('get pool KEY -o yaml of a pool with no document prints the one that would declare it, says so on stderr, and applying it counts as an add', async () => {
    const one = await mcpctl('get', 'pool', 'ollama-dev', '-o', 'yaml');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^apiVersion: mcpctl\/v1\nkind: LlmPool\nmetadata:\n {2}name: ollama-dev\n/);
    expect(one.stderr).toBe('mcpctl: note: pool "ollama-dev" has no LlmPool document; this is the one that would declare it\n');
    const planned = await runCli(['--server', server, 'apply', '-f', '-', '--dry-run'], { cwd: repo.dir, input: one.stdout });
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain('Plan: 1 to add, 0 to change, 0 to remove.');
  });
});

describe('mcpctl describe llm', () => {
  it('opens with the Pool block for a pooled Llm: members as kind/phase, the anchor marked', async () => {
    const result = await mcpctl('describe', 'llm', 'vllm-gpu2-qwen3');
    expect(result.code).toBe(0);
    const lines = linesOf(result.stdout);
    expect(lines[0]).toMatch(/^Pool:\s+qwen3 \(explicit\)\s+size 2\s+active 1\/2/);
    expect(lines[1]).toMatch(/^\s+vllm-gpu1-qwen3\s+managed\/active\s/);
    expect(lines[1]).not.toContain('← this row');
    expect(lines[2]).toMatch(/^\s+vllm-gpu2-qwen3\s+declared\/pending\s.*← this row$/);
    expect(result.stdout).toMatch(/^Name:\s+vllm-gpu2-qwen3$/m);
    expect(result.stdout).toMatch(/^ {2}Source:\s+llms\/pool\.yaml:\d+ @ [0-9a-f]{40}$/m);
  });

  it('shows the implicit pool of a legacy Llm joined by a worker', async () => {
    const result = await mcpctl('describe', 'llm', 'llama3-70b');
    expect(result.code).toBe(0);
    expect(linesOf(result.stdout)[0]).toMatch(/^Pool:\s+llama3-70b \(implicit\)\s+size 2/);
    expect(result.stdout).toMatch(/llama3-70b-gpu7\s+virtual\/active/);
  });

  it('has no Pool block for a solo Llm', async () => {
    const result = await mcpctl('describe', 'llm', 'ollama-dev');
    expect(result.code).toBe(0);
    expect(linesOf(result.stdout)[0]).toMatch(/^Name:\s+ollama-dev$/);
    expect(result.stdout).not.toMatch(/^Pool:/m);
    expect(result.stdout).not.toContain('← this row');
  });

  it('an unknown name is exit 1 with one error line', async () => {
    const result = await mcpctl('describe', 'llm', 'nope');
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe('mcpctl: error: llm "nope" not found');
  });
});

describe('mcpctl version and status', () => {
  it("version prints the client's version and the server's", async () => {
    const [reachable, unreachable] = await Promise.all([mcpctl('version'), runCli(['--server', `http://127.0.0.1:${await closedPort()}`, 'version'])]);
    expect(reachable.code).toBe(0);
    expect(reachable.stdout).toBe(`Client Version: 0.1.0\nServer Version: 0.1.0 (${server})\n`);
    expect(unreachable.code).toBe(0);
    expect(unreachable.stdout).toMatch(/^Client Version: 0\.1\.0\nServer Version: unreachable \(http:\/\/127\.0\.0\.1:\d+\)\n$/);
    const flag = await runCli(['--version']);
    expect(flag).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    // Bare mcpctl off a terminal (the TUI needs one) prints the help on stdout, as kubectl does.
    const bare = await runCli([]);
    expect(bare.code).toBe(0);
    expect(bare.stderr).toBe('');
    expect(bare.stdout).toMatch(/^Usage: mcpctl \[options\] \[command\]\n/);
  });

  it('status exits 0 while the newest revision is served', async () => {
    const result = await mcpctl('status');
    expect(result.code).toBe(0);
    const head = (await repo.head()).slice(0, 7);
    expect(result.stdout).toMatch(new RegExp(`^Newest revision:\\s+${head}$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^Served \\(last good\\):\\s+${head}$`, 'm'));
  });
});

describe('colour', () => {
  it('is off without a terminal, with no need for FORCE_COLOR=0 or NO_COLOR', async () => {
    const outputs = await Promise.all([mcpctl('get', 'llm'), mcpctl('get', 'pools'), mcpctl('describe', 'llm', 'vllm-gpu1-qwen3'), mcpctl('plan')]);
    for (const result of outputs) {
      expect(result.stdout).not.toMatch(ANSI);
      expect(result.stderr).not.toMatch(ANSI);
    }
  });

  const hasScript = (() => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  // script(1) gives the CLI a pseudo-terminal, so that NO_COLOR is what turns colour off.
  it.skipIf(!hasScript)('is on at a terminal, and NO_COLOR turns it off there', async () => {
    const onTty = (env: Record<string, string>): string =>
      execFileSync('script', ['-qec', `"${process.execPath}" "${BIN}" --server ${server} get llm`, '/dev/null'], {
        cwd: repo.dir,
        env: childEnv({ TERM: 'xterm', ...env }),
        encoding: 'utf8',
      });
    expect(onTty({})).toMatch(ANSI);
    const plain = onTty({ NO_COLOR: '1' });
    expect(plain).not.toMatch(ANSI);
    expect(plain).toContain('vllm-gpu1-qwen3');
  });
});
