// The stand-in model server answers as vLLM's OpenAI server does: the official `openai` client reads
// its chat completions, completions (streamed and not) and embeddings. Real HTTP on 127.0.0.1:0.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { STANDIN_EMBEDDING_DIMENSIONS, startStandinServer, type StandinServer, type StandinServerOptions } from '../../agent/standin-server.js';

const MODEL = 'Qwen/Qwen3-8B';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function standin(options: Partial<StandinServerOptions> = {}): Promise<{ server: StandinServer; client: OpenAI }> {
  const server = await startStandinServer({ model: MODEL, ...options });
  cleanups.push(() => server.close());
  return { server, client: new OpenAI({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 }) };
}

async function post(server: StandinServer, path: string, body: string): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

describe('the stand-in model server', () => {
  it('answers a chat completion, naming the model the request asked for', async () => {
    const { client } = await standin();
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }] });
    expect(answer.object).toBe('chat.completion');
    expect(answer.model).toBe(MODEL);
    expect(answer.choices[0]?.message).toMatchObject({ role: 'assistant', content: `Hello from the ${MODEL} stand-in.` });
    expect(answer.choices[0]?.finish_reason).toBe('stop');
  });

  it('streams a chat completion as server-sent events: a role chunk, content chunks, a stop chunk, then [DONE]', async () => {
    const { server, client } = await standin();
    const stream = await client.chat.completions.create({ model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hello' }] });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]?.id)).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(`Hello from the ${MODEL} stand-in.`);
    expect(chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '').length).toBeGreaterThan(2);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0);

    // On the wire: text/event-stream, `data:` lines, the last one [DONE].
    const raw = await post(server, '/chat/completions', JSON.stringify({ model: MODEL, stream: true, messages: [] }));
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await raw.text()).split('\n\n').filter((e) => e !== '');
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.length).toBeGreaterThan(3);
  });

  it('answers a completion, streamed and not', async () => {
    const { client } = await standin();
    const answer = await client.completions.create({ model: MODEL, prompt: 'Say hello' });
    expect(answer.object).toBe('text_completion');
    expect(answer.choices[0]?.text).toBe(`Hello from the ${MODEL} stand-in.`);
    const stream = await client.completions.create({ model: MODEL, prompt: 'Say hello', stream: true });
    const texts: string[] = [];
    for await (const chunk of stream) texts.push(chunk.choices[0]?.text ?? '');
    expect(texts.length).toBeGreaterThan(2);
    expect(texts.join('')).toBe(`Hello from the ${MODEL} stand-in.`);
  });

  it('answers embeddings for a string and for an array, one stable unit vector per input', async () => {
    const { server, client } = await standin();
    // The client asks for base64 unless told otherwise, and decodes it.
    const one = await client.embeddings.create({ model: MODEL, input: 'hello' });
    expect(one.object).toBe('list');
    expect(one.data).toHaveLength(1);
    expect(one.data[0]?.embedding).toHaveLength(STANDIN_EMBEDDING_DIMENSIONS);
    const several = await client.embeddings.create({ model: MODEL, input: ['hello', 'world'], encoding_format: 'float' });
    expect(several.data.map((d) => [d.object, d.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ]);
    const [hello, world] = several.data.map((d) => d.embedding);
    expect(Math.hypot(...(hello ?? []))).toBeCloseTo(1, 5);
    expect(hello).not.toEqual(world);
    one.data[0]?.embedding.forEach((v, i) => expect(v).toBeCloseTo(hello?.[i] ?? NaN, 5));
    expect(several.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });

    const raw = await (await post(server, '/embeddings', JSON.stringify({ model: MODEL, input: 'hello', dimensions: 4 }))).json();
    expect(raw).toMatchObject({ object: 'list', model: MODEL, data: [{ object: 'embedding', index: 0 }] });
    expect((raw as { data: { embedding: number[] }[] }).data[0]?.embedding).toHaveLength(4);
  });

  it('refuses a body that is not JSON and an embedding input of the wrong kind with 400', async () => {
    const { server } = await standin();
    const notJson = await post(server, '/chat/completions', '{');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
    const badInput = await post(server, '/embeddings', JSON.stringify({ model: MODEL, input: 42 }));
    expect(badInput.status).toBe(400);
    expect(((await badInput.json()) as { error: { message: string } }).error.message).toContain('"input" must be a string');
  });

  it('answers 503 to model requests while failing, and again once set back', async () => {
    const { server } = await standin();
    server.setFailing(true);
    expect((await post(server, '/embeddings', JSON.stringify({ model: MODEL, input: 'x' }))).status).toBe(503);
    server.setFailing(false);
    expect((await post(server, '/embeddings', JSON.stringify({ model: MODEL, input: 'x' }))).status).toBe(200);
  });

  it('with a random answer delay, still answers every kind of request', async () => {
    const { client } = await standin({ answerDelayMs: { min: 1, max: 5 }, chunkIntervalMs: 1 });
    const answers = await Promise.all([
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }] }),
      client.completions.create({ model: MODEL, prompt: 'Hello' }),
      client.embeddings.create({ model: MODEL, input: 'Hello' }),
    ]);
    expect(answers.map((a) => a.object)).toEqual(['chat.completion', 'text_completion', 'list']);
  });

  it('a client that goes away mid-stream leaves the server serving others', async () => {
    const { server } = await standin({ chunkIntervalMs: 50 });
    const aborted = new AbortController();
    const response = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, stream: true }), signal: aborted.signal });
    const reader = response.body?.getReader();
    await reader?.read();
    aborted.abort();
    const next = await post(server, '/chat/completions', JSON.stringify({ model: MODEL }));
    expect(next.status).toBe(200);
  });
});
