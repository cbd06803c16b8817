// The "done when", with real processes: `mcpctl demo` starts a gateway, and the official
// `openai` npm client and the guide's `curl` line talk to the demo's pools through it, streamed and
// not: chat completions, completions and embeddings, each answer naming the pool and the member that
// served it. Run `npx tsc -p tsconfig.json` first.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { buildTestEnv, describeRunning, isAlive, killAll, listChildPids, startMcpctl, waitFor, type Child } from './support.js';

const POOL = 'user-vllm-qwen3-thinking';
const POOL_MEMBERS = ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3'];
const QWEN = 'Qwen/Qwen3-8B';
const ANSWER = `Hello from the ${QWEN} stand-in.`;
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the README's commands name the gateway the demo starts by default. */
const DEFAULT_GATEWAY = '127.0.0.1:7430';

let tmp: string;
let demo: Child;
/** `http://127.0.0.1:PORT/v1`, as the demo printed it. */
let gateway: string;
let client: OpenAI;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'mcpctl-e2e-gateway-'));
  demo = startMcpctl(['demo', '--listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0'], { cwd: tmp, env: buildTestEnv({ TMPDIR: tmp }), group: true });
  await waitFor('the demo to say it is running', () => {
    if (demo.child.exitCode !== null) throw new Error(`the demo exited with ${demo.child.exitCode}: ${demo.stderr()}`);
    return demo.stdout().includes('mcpctl demo is running.');
  }, 25_000);
  gateway = /gateway:\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(demo.stdout())?.[1] ?? '';
  // No retries: a failure must show here, not be papered over by the client.
  client = new OpenAI({ baseURL: gateway, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  const pid = demo?.child.pid;
  if (pid !== undefined && demo.child.exitCode === null && demo.child.signalCode === null) {
    for (const child of await listChildPids(pid)) if (isAlive(child)) process.kill(child, 'SIGKILL');
  }
  await killAll();
  await rm(tmp, { recursive: true, force: true });
});

/** Runs a pasted block of shell lines as a user would, stdout and stderr together. */
function runBash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd: PROJECT_ROOT, env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, output: stdout + stderr }),
    );
  });
}

/** The chat completion chunks of a server-sent event stream, and whether it ended with [DONE]. */
function readEvents(text: string): { chunks: OpenAI.Chat.Completions.ChatCompletionChunk[]; done: boolean } {
  const data = text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice('data: '.length));
  return { chunks: data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as OpenAI.Chat.Completions.ChatCompletionChunk), done: data.at(-1) === '[DONE]' };
}

function servedBy(response: Response): { pool: string | null; member: string | null } {
  return { pool: response.headers.get('x-mcpctl-pool'), member: response.headers.get('x-mcpctl-member') };
}

describe('the demo gateway, through the official openai client and curl', () => {
  it('prints the real URL of a gateway started on port 0, and lists the pools and Llms it routes to', async () => {
    onTestFailed(() => console.log(describeRunning()));
    expect(gateway).toMatch(/^http:\/\/127\.0\.0\.1:(?!0\/)\d+\/v1$/);
    expect(demo.stderr()).toMatch(/\[gateway\] .*mcpctl gateway serving http:\/\/127\.0\.0\.1:\d+\/v1/);
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining([POOL, ...POOL_MEMBERS, 'llama3-70b', 'ollama-gpu1-qwen3']));
    // Declared but without a live member: nothing to route to.
    expect(ids).not.toContain('vllm-gpu3-qwen3');
  });

  it('a chat completion sent to the pool is answered by one of its members', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const { data, response } = await client.chat.completions.create({ model: POOL, messages: [{ role: 'user', content: 'Say hello' }] }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBe(ANSWER);
    // The gateway sent the member's own model name upstream; the answer passes through unchanged.
    expect(data.model).toBe(QWEN);
    expect(servedBy(response).pool).toBe(POOL);
    expect(POOL_MEMBERS).toContain(servedBy(response).member);
  });

  it('requests to the pool land on both of its members', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const seen = new Set<string>();
    // Concurrent requests overlap on the stand-ins' delay, so least-load spreads them; repeat until both answered.
    await waitFor('both pool members to answer', async () => {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => client.chat.completions.create({ model: POOL, messages: [{ role: 'user', content: 'Say hello' }] }).withResponse()),
      );
      for (const { data, response } of answers) {
        expect(data.choices[0]?.message.content).toBe(ANSWER);
        expect(servedBy(response).pool).toBe(POOL);
        seen.add(servedBy(response).member ?? '');
      }
      return POOL_MEMBERS.every((m) => seen.has(m));
    });
    expect([...seen].sort()).toEqual(POOL_MEMBERS);
  });

  it('a streamed chat completion arrives chunk by chunk, as server-sent events', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const { data: stream, response } = await client.chat.completions
      .create({ model: POOL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(servedBy(response).pool).toBe(POOL);
    expect(POOL_MEMBERS).toContain(servedBy(response).member);
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '').length).toBeGreaterThan(2);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(ANSWER);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('an Llm name as model pins its one member', async () => {
    onTestFailed(() => console.log(describeRunning()));
    for (let i = 0; i < 3; i++) {
      const { response } = await client.chat.completions.create({ model: 'vllm-gpu1-qwen3', messages: [{ role: 'user', content: 'Say hello' }] }).withResponse();
      expect(servedBy(response)).toEqual({ pool: POOL, member: 'vllm-gpu1-qwen3' });
    }
  });

  it('a completion, streamed and not, reaches the legacy llama3-70b pool through its worker', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const llama = 'meta-llama/Llama-3.3-70B-Instruct';
    const { data, response } = await client.completions.create({ model: 'llama3-70b', prompt: 'Say hello' }).withResponse();
    expect(data.object).toBe('text_completion');
    expect(data.model).toBe(llama);
    expect(data.choices[0]?.text).toBe(`Hello from the ${llama} stand-in.`);
    // The declared llama3-70b is pending; its worker on gpu2 serves the pool.
    expect(servedBy(response)).toEqual({ pool: 'llama3-70b', member: 'llama3-70b-gpu2' });

    const { data: stream, response: streamed } = await client.completions.create({ model: 'llama3-70b', prompt: 'Say hello', stream: true }).withResponse();
    expect(servedBy(streamed)).toEqual({ pool: 'llama3-70b', member: 'llama3-70b-gpu2' });
    const texts: string[] = [];
    for await (const chunk of stream) texts.push(chunk.choices[0]?.text ?? '');
    expect(texts.length).toBeGreaterThan(2);
    expect(texts.join('')).toBe(`Hello from the ${llama} stand-in.`);
  });

  it('embeddings for a string and for an array come back from a pool member', async () => {
    onTestFailed(() => console.log(describeRunning()));
    // The client asks for base64 by default and decodes it; float is asked for explicitly.
    const { data: one, response } = await client.embeddings.create({ model: POOL, input: 'hello' }).withResponse();
    expect(servedBy(response).pool).toBe(POOL);
    expect(POOL_MEMBERS).toContain(servedBy(response).member);
    expect(one.object).toBe('list');
    expect(one.data).toHaveLength(1);
    expect(one.data[0]?.object).toBe('embedding');
    expect(one.data[0]?.embedding.length).toBeGreaterThan(0);
    const several = await client.embeddings.create({ model: POOL, input: ['hello', 'world'], encoding_format: 'float' });
    expect(several.model).toBe(QWEN);
    expect(several.data.map((d) => d.index)).toEqual([0, 1]);
    expect(several.data[0]?.embedding).toHaveLength(one.data[0]?.embedding.length ?? -1);
    // The same input gives the same vector, whichever member answered.
    one.data[0]?.embedding.forEach((v, i) => expect(v).toBeCloseTo(several.data[0]?.embedding[i] ?? NaN, 5));
    expect(several.data[0]?.embedding).not.toEqual(several.data[1]?.embedding);
  });

  it("an unknown model is the client's NotFoundError, in OpenAI's error shape", async () => {
    onTestFailed(() => console.log(describeRunning()));
    const error: unknown = await client.chat.completions.create({ model: 'no-such-pool', messages: [{ role: 'user', content: 'Say hello' }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });

  it("the guide's curl line streams chunks of a chat completion from the pool, then [DONE]", async () => {
    onTestFailed(() => console.log(describeRunning()));
    const guide = demo.stdout().split('\n');
    const title = guide.findIndex((line) => line.startsWith('Stream a chat completion from the pool'));
    const line = guide[title + 1]?.trim() ?? '';
    expect(line).toMatch(new RegExp(`^curl -N ${gateway.replaceAll('.', '\\.')}/chat/completions `));
    expect(line).toContain(`"model":"${POOL}","stream":true`);
    const result = await runBash(`set -e\n${line}`, buildTestEnv());
    expect(result.code).toBe(0);
    const { chunks, done } = readEvents(result.output);
    expect(done).toBe(true);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === QWEN)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(ANSWER);
  });

  // The README's section names the demo's default gateway; pasted here against this demo's port.
  const readmeSection = readReadmeSection('## Send requests to a pool');
  it("the README's curl and Node openai blocks work against the demo's gateway", async () => {
    onTestFailed(() => console.log(describeRunning()));
    const section = readmeSection ?? '';
    const address = gateway.replace(/^http:\/\//, '').replace(/\/v1$/, '');
    const blocks = (lang: string): string[] => section.split(`\`\`\`${lang}\n`).slice(1).map((b) => (b.split('```')[0] ?? '').replaceAll(DEFAULT_GATEWAY, address));
    const [shell] = blocks('sh');
    expect(shell).toContain('curl');
    const curl = await runBash(`set -e\n${shell ?? ''}`, buildTestEnv());
    expect(curl.code).toBe(0);
    expect(readEvents(curl.output).done).toBe(true);
    expect(readEvents(curl.output).chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(ANSWER);
    // The Node snippet as a user would run it from the project (where `openai` is installed).
    const [js] = blocks('js');
    expect(js).toContain("from 'openai'");
    const node = await runBash(`node --input-type=module -e ${shellQuote(js ?? '')}`, buildTestEnv());
    expect(node.output).toContain(ANSWER);
    expect(node.code).toBe(0);
  });
});

/** The README section under `heading` (up to the next `## `), or null while the README has none. */
function readReadmeSection(heading: string): string | null {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  return at < 0 ? null : (readme.slice(at + heading.length + 2).split('\n## ')[0] ?? '');
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
