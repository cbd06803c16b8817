// `mcpctl gateway` as a real child process (node dist/cli/bin.js; run `npm run build` first),
// following a real reconciler: its ready line, its flags taking effect, the official `openai`
// client streamed and not, a clean SIGTERM, and one error line with exit 1 for wrong or unsafe flags.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GatewayStartError, runGatewayCommand, type GatewayOptions } from '../../gateway/main.js';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import { sha256Hex } from '../../service/auth.js';
import { BIN, childEnv, expectOneErrorLine, REPO_ROOT, runCli } from '../cli/support/cli-harness.js';
import { closeHarnesses, entry, registration, startHarness } from '../reconciler/support/harness.js';
import { waitFor } from '../support/wait-for.js';
import { expectOpenAiError, get, post } from './support/gateway.js';
import { chunk, closeUpstreams, startUpstream } from './support/upstreams.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await closeHarnesses();
  await closeUpstreams();
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

interface GatewayProcess {
  child: ChildProcess;
  url: string;
  readyLine: string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Starts `mcpctl --server SERVER gateway ...args` and waits for its ready line. */
async function startGatewayProcess(server: string, args: string[], env: Record<string, string> = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [BIN, '--server', server, 'gateway', ...args], { cwd: REPO_ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (part: string) => (stderr += part));
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const readyLine = await waitFor('the gateway ready line', () => {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}:\n${stderr}`);
    return stderr.split('\n').find((line) => line.includes('mcpctl gateway serving '));
  });
  const url = /mcpctl gateway serving (http:\/\/[^\s/]+)\/v1/.exec(readyLine)?.[1];
  if (url === undefined) throw new Error(`no URL in ${readyLine}`);
  return { child, url: url.replace('0.0.0.0', '127.0.0.1'), readyLine, stderr: () => stderr, exited };
}

/** A real reconciler that admits what agents publish, with agent gpu1 publishing `members` of pool p. */
async function fleetWith(members: Record<string, string>): Promise<string> {
  const harness = await startHarness({ files: {} });
  const server = await harness.listen();
  const llms = Object.entries(members).map(([name, url]) => entry(name, { poolName: 'p', url }));
  const response = await fetch(`${server}/api/v1/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(registration('gpu1', llms)) });
  const answer = (await response.json()) as RegistrationAnswer;
  if (answer.rejected.length > 0) throw new Error(JSON.stringify(answer.rejected));
  return server;
}

describe('mcpctl gateway', () => {
  it('serves a pool of a real reconciler end to end, with its flags, and exits 0 on SIGTERM', async () => {
    const a = await startUpstream('a', { kind: 'status', status: 503 });
    const b = await startUpstream('b', { kind: 'sse', chunks: ['Hel', 'lo'].map(chunk), intervalMs: 5 });
    const server = await fleetWith({ a: a.url, b: b.url });
    const gateway = await startGatewayProcess(server, ['--listen', '127.0.0.1:0', '--strategy', 'round-robin', '--retries', '1', '--cooldown', '1s', '--connect-timeout', '1s', '--timeout', '2s', '--max-body', '1KiB']);
    expect(gateway.readyLine).toContain(`reconciler: ${server}`);
    expect(gateway.readyLine).toContain('strategy: round-robin');
    await waitFor('the first view', async () => (await get(`${gateway.url}/readyz`)).status === 200);
    await waitFor('pool p routable', async () => (await get(`${gateway.url}/v1/models`)).text.includes('"id":"p"'));

    // --max-body 1KiB
    expectOpenAiError(await post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [{ role: 'user', content: 'x'.repeat(2000) }] }), 413, 'request_too_large', 'invalid_request_error');

    // The official client, streamed: a 503 from a is retried on b (--retries 1).
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'not-checked-without-auth', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'p', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello');
    expect(b.requests[0]?.body).toMatchObject({ model: 'Qwen/Qwen3-8B', stream: true });

    // And not streamed.
    b.behave({ kind: 'json' });
    const completion = await client.chat.completions.create({ model: 'b', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('hello from b');

    // Every member failing: the client raises the gateway's 502.
    b.behave({ kind: 'status', status: 503 });
    const failure = await client.chat.completions.create({ model: 'p', messages: [] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(502);

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    expect(gateway.stderr()).not.toMatch(/\n\s+at /);
  });

  it('listens beyond loopback with --auth, and asks for a token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpctl-gateway-auth-'));
    dirs.push(dir);
    const authFile = join(dir, 'auth.yaml');
    await writeFile(authFile, `tokens:\n  - { name: app, sha256: ${sha256Hex('tok-app')}, roles: [use:llms] }\n`);
    const a = await startUpstream('a');
    const server = await fleetWith({ a: a.url });
    const gateway = await startGatewayProcess(server, ['--listen', '0.0.0.0:0', '--auth', authFile]);
    await waitFor('pool p routable', async () => (await get(`${gateway.url}/v1/models`, { authorization: 'Bearer tok-app' })).text.includes('"id":"p"'));
    expectOpenAiError(await post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [] }), 401, 'invalid_api_key', 'authentication_error');
    expect((await post(`${gateway.url}/v1/chat/completions`, { model: 'p', messages: [] }, { authorization: 'Bearer tok-app' })).status).toBe(200);
  });

  it.each([
    [['--strategy', 'fastest'], /^mcpctl: error: .*'--strategy <name>'.*'fastest'/],
    [['--max-body', '12parsecs'], /^mcpctl: error: --max-body: expected a size like 32MiB.*"12parsecs"/],
    [['--listen', '0.0.0.0:7430'], /^mcpctl: error: refusing to listen on 0\.0\.0\.0:7430 without --auth/],
  ])('exits 1 with one error line for %j', async (args, line) => {
    const result = await runCli(['--server', 'http://127.0.0.1:9', 'gateway', '--listen', '127.0.0.1:0', ...args]);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toMatch(line);
    expect(result.stdout).toBe('');
  });

  // The same check in process for the other options (each is one line in GatewayStartError, which the CLI prints as above).
  it.each([
    [{ retries: 'many' }, /^--retries: expected a whole number/],
    [{ timeout: 'soon' }, /^--timeout/],
    [{ timeout: '0s' }, /^--timeout: must be longer than 0/],
    [{ connectTimeout: '0s' }, /^--connect-timeout: must be longer than 0/],
    [{ cooldown: '30 parsecs' }, /^--cooldown/],
    [{ strategy: 'fastest' }, /^--strategy: expected least-load or round-robin/],
    [{ listen: '[::]:7430' }, /^refusing to listen on \[::\]:7430 without --auth/],
    [{ auth: '/nonexistent/auth.yaml' }, /^--auth: cannot read --auth file \/nonexistent\/auth\.yaml: ENOENT$/],
    [{ server: 'not a url' }, /^--server: expected the reconciler's http\(s\) URL/],
  ])('refuses %j with one line', async (override, line) => {
    const options: GatewayOptions = { server: 'http://127.0.0.1:9', listen: '127.0.0.1:0', strategy: 'least-load', retries: '2', cooldown: '30s', connectTimeout: '5s', timeout: '10m', maxBody: '32MiB', ...override };
    const error = await runGatewayCommand(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayStartError);
    expect((error as Error).message).toMatch(line);
    expect((error as Error).message).not.toContain('\n');
  });
});
