import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveAgentId, loadAgentConfig, parseAgentConfig } from '../../agent/config.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';

function errorsOf(text: string): string[] {
  const parsed = parseAgentConfig('agent.yaml', text);
  if (parsed.ok) throw new Error('expected errors');
  return parsed.diagnostics.map(formatDiagnostic);
}

const GOOD = `server: http://reconciler.lan:7420
token: s3cret
agentId: gpu1
providers:
  - name: vllm-gpu1-qwen3
    poolName: user-vllm-qwen3-thinking
    type: vllm
    model: Qwen/Qwen3-8B
    url: http://gpu1.lan:8000/v1
  - name: llama-solo
    type: llamacpp
    model: llama-3.1-8b
    url: http://gpu1.lan:8080/v1
    healthPath: /health
`;

describe('parseAgentConfig', () => {
  it('accepts the documented config and keeps an entry without poolName solo', () => {
    const parsed = parseAgentConfig('agent.yaml', GOOD);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.config.providers.map((p) => p.name)).toEqual(['vllm-gpu1-qwen3', 'llama-solo']);
    expect(parsed.config.providers[1]).not.toHaveProperty('poolName');
  });

  it.each([
    ['an unknown top-level field, at its key', 'server: http://r:7420\nheartbeat: 5s\n', ['agent.yaml:2:1: heartbeat: unknown field "heartbeat" (expected one of server, servers, token, tokenFile, agentId, providers)']],
    ['a missing server, at the mapping', 'providers: []\n', ['agent.yaml:1:1: server: required field is missing: expected server: URL or servers: [URL, …]']],
    [
      'a missing server along with another mistake',
      'agentId: Gpu1\n',
      [
        'agent.yaml:1:1: server: required field is missing: expected server: URL or servers: [URL, …]',
        "agent.yaml:1:10: agentId: invalid name: capital letters are not allowed: \"Gpu1\"; a name is 1-63 characters of a-z, 0-9, '.', '_' or '-', starting and ending with a letter or digit",
      ],
    ],
    ['server and servers together, at servers', 'server: http://r:7420\nservers: [http://s:7420]\n', ['agent.yaml:2:10: servers: give server or servers, not both']],
    ['an empty servers list', 'servers: []\n', ['agent.yaml:1:10: servers: expected at least one reconciler URL, found an empty list']],
    ['servers given as one URL rather than a list', 'servers: http://r:7420\n', ['agent.yaml:1:10: servers: expected a list of http(s) URLs, found "http://r:7420"']],
    ['an empty servers', 'servers:\n', ['agent.yaml:1:1: servers: expected a list of http(s) URLs, found an empty value']],
    [
      'each servers entry that is not an http(s) URL, at the entry',
      'servers:\n  - http://r1:7420\n  - reconciler2.lan:7420\n  - ftp://r3\n',
      ['agent.yaml:3:5: servers[1]: expected an http(s) URL, found "reconciler2.lan:7420" (no http:// or https://)', 'agent.yaml:4:5: servers[2]: expected an http(s) URL, found scheme "ftp:"'],
    ],
    ['a servers entry given twice, at the second', 'servers: [http://r1:7420, http://r1:7420/]\n', ['agent.yaml:1:27: servers[1]: duplicate reconciler URL "http://r1:7420/"']],
    ['a servers entry with a password, without echoing it', 'servers: [http://u:pw@r1:7420]\n', ['agent.yaml:1:11: servers[0]: inline secrets are not allowed: the URL carries a password']],
    [
      'an invalid provider name, at the value',
      'server: http://r:7420\nproviders:\n  - name: GPU1_Qwen\n    type: vllm\n    model: m\n    url: http://g:8000/v1\n',
      ["agent.yaml:3:11: providers[0].name: invalid name: capital letters are not allowed: \"GPU1_Qwen\"; a name is 1-63 characters of a-z, 0-9, '.', '_' or '-', starting and ending with a letter or digit"],
    ],
    [
      'a missing model, at the list entry',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    url: http://g:8000/v1\n',
      ['agent.yaml:3:5: providers[0].model: required field is missing (expected a string)'],
    ],
    [
      'an unknown type, at the value',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: sglang\n    model: m\n    url: http://g:8000/v1\n',
      ['agent.yaml:4:11: providers[0].type: expected one of vllm, openai, ollama, llamacpp, tgi, anthropic, other, found "sglang"'],
    ],
    [
      'an unknown provider field, with the known ones',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    model: m\n    url: http://g:8000/v1\n    pool: p\n',
      ['agent.yaml:7:5: providers[0].pool: unknown field "pool" (expected one of name, poolName, type, model, url, healthPath, apiKeyRef)'],
    ],
    [
      'a healthPath without a leading slash',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    model: m\n    url: http://g:8000/v1\n    healthPath: health\n',
      ['agent.yaml:7:17: providers[0].healthPath: expected a path starting with \'/\', found "health"'],
    ],
    [
      'an inline key as apiKeyRef, without echoing it',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    model: m\n    url: http://g:8000/v1\n    apiKeyRef: sk-live-0123456789\n',
      ['agent.yaml:7:16: providers[0].apiKeyRef: expected { env: VAR_NAME } or { file: PATH } (inline secrets are not allowed), found a string'],
    ],
    [
      'an apiKeyRef with both env and file',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    model: m\n    url: http://g:8000/v1\n    apiKeyRef: { env: KEY, file: key.txt }\n',
      ['agent.yaml:7:16: providers[0].apiKeyRef: apiKeyRef takes one of env: VAR_NAME or file: PATH'],
    ],
    [
      'an apiKeyRef holding the key under another name, without echoing it',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    model: m\n    url: http://g:8000/v1\n    apiKeyRef: { value: sk-live-0123456789 }\n',
      [
        'agent.yaml:7:16: providers[0].apiKeyRef: apiKeyRef takes one of env: VAR_NAME or file: PATH',
        'agent.yaml:7:18: providers[0].apiKeyRef.value: unknown field "value" (expected one of env, file)',
      ],
    ],
    [
      'an inline apiKey, at its key, without echoing it',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    model: m\n    url: http://g:8000/v1\n    apiKey: sk-live-0123456789\n',
      ['agent.yaml:7:5: providers[0].apiKey: unknown field "apiKey" (expected one of name, poolName, type, model, url, healthPath, apiKeyRef)'],
    ],
    ['a server that is not a URL', 'server: reconciler.lan\n', ['agent.yaml:1:9: server: expected an http(s) URL, found "reconciler.lan"']],
    ['token and tokenFile together', 'server: http://r:7420\ntoken: a\ntokenFile: /t\n', ['agent.yaml:3:12: tokenFile: give token or tokenFile, not both']],
    [
      'a duplicate provider name, at the second',
      'server: http://r:7420\nproviders:\n  - { name: a, type: vllm, model: m, url: "http://g:1/v1" }\n  - { name: a, type: vllm, model: m, url: "http://g:2/v1" }\n',
      ['agent.yaml:4:13: providers[1].name: duplicate provider name "a"'],
    ],
    ['a YAML syntax error, at the opening bracket', 'server: http://r:7420\nproviders: [\n', ['agent.yaml:2:12: invalid YAML: flow sequence opened with [ is never closed (expected ])']],
    ['a duplicate key, naming it', 'server: http://r:7420\nserver: http://s:7420\n', ['agent.yaml:2:1: invalid YAML: duplicate key "server": a key may appear only once in a mapping']],
    ['a list instead of a mapping', '- server\n', ['agent.yaml:1:1: expected a mapping with server and providers, found a list']],
    ['an empty file', '', ['agent.yaml:1:1: expected a mapping with server and providers, found an empty file']],
    ['a misspelt top-level key once, with a did-you-mean', 'sever: http://r:7420\n', ['agent.yaml:1:1: sever: unknown field "sever" (did you mean "server"?)']],
    [
      'a misspelt provider field once, with a did-you-mean',
      'server: http://r:7420\nproviders:\n  - name: a\n    type: vllm\n    modle: m\n    url: http://g:8000/v1\n',
      ['agent.yaml:5:5: providers[0].modle: unknown field "modle" (did you mean "model"?)'],
    ],
    ['an empty server, at its key', 'server:\n', ['agent.yaml:1:1: server: expected a string, found an empty value']],
    ['a number where a name is expected, with a quote hint', 'server: http://r:7420\nagentId: 7\n', ['agent.yaml:2:10: agentId: expected a string, found number 7 (put it in quotes: "7")']],
    ['a token that is not a string, without echoing it', 'server: http://r:7420\ntoken: 918273645\n', ['agent.yaml:2:8: token: expected a string, found a number']],
    [
      'an alias without an anchor, as a located error',
      'server: http://r:7420\nproviders: *nope\n',
      ['agent.yaml:2:12: invalid YAML: alias *nope has no anchor &nope before it in this document (anchors do not cross ---)'],
    ],
  ])('reports %s with file:line:col', (_case, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });
});

describe('a realistic broken config', () => {
  it('refuses a provider URL that carries a secret, at its value', () => {
    expect(errorsOf(GOOD.replace('http://gpu1.lan:8000/v1', 'http://u:pw@gpu1.lan:8000/v1'))).toEqual([
      'agent.yaml:9:10: providers[0].url: inline secrets are not allowed: the URL carries a password',
    ]);
    expect(errorsOf(GOOD.replace('http://gpu1.lan:8080/v1', 'http://gpu1.lan:8080/v1?api_key=abc'))).toEqual([
      "agent.yaml:13:10: providers[1].url: inline secrets are not allowed: the URL's query carries a credential (api_key=)",
    ]);
  });

  it('reports every mistake on its own file:line:col line', async () => {
    const text = [
      'server: reconciler.lan:7420',
      'agentId: GPU1',
      'providers:',
      '  - name: vllm-gpu1-qwen3',
      '    poolName: user-vllm-qwen3-thinking',
      '    type: vllm',
      '    model: Qwen/Qwen3-8B',
      '    url: http://gpu1.lan:8000/v1',
      '    healthpath: /health',
      '  - name: vllm-gpu1-llama',
      '    type: sglang',
      '    url: ftp://gpu1.lan:8001/v1',
      '',
    ].join('\n');
    await expect(`${errorsOf(text).join('\n')}\n`).toMatchFileSnapshot('../golden/agent/config-errors.txt');
  });
});

describe('deriveAgentId', () => {
  it.each([
    ['gpu1', 'gpu1'],
    ['GPU1.Lab.Example.COM', 'gpu1.lab.example.com'],
    ['My Mac_Book (2)', 'my-mac_book-2'],
    ['--x--', 'x'],
    ['ÄÖÜ', 'agent'],
    ['a'.repeat(70), 'a'.repeat(63)],
  ])('turns host name %j into %j', (host, id) => {
    expect(deriveAgentId(host)).toBe(id);
  });
});

describe('loadAgentConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpctl-agent-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const deps = { readFile: (path: string) => readFile(path, 'utf8'), hostname: () => 'GPU7.lab' };

  it('reads a tokenFile relative to the config, trimmed, and defaults agentId to the host name', async () => {
    await writeFile(join(dir, 'agent.token'), '  tok-123\n');
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'server: http://r:7420\ntokenFile: agent.token\n');
    expect(await loadAgentConfig(file, deps)).toEqual({ ok: true, config: { server: 'http://r:7420', token: 'tok-123', agentId: 'gpu7.lab', providers: [] } });
  });

  it('keeps servers as a list in its order, and server as one', async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'servers:\n  - http://r1:7420\n  - https://r2.lan:7420\nagentId: gpu1\n');
    expect(await loadAgentConfig(file, deps)).toEqual({ ok: true, config: { servers: ['http://r1:7420', 'https://r2.lan:7420'], token: undefined, agentId: 'gpu1', providers: [] } });
    await writeFile(file, 'server: http://r1:7420\nagentId: gpu1\n');
    expect(await loadAgentConfig(file, deps)).toEqual({ ok: true, config: { server: 'http://r1:7420', token: undefined, agentId: 'gpu1', providers: [] } });
  });

  it('reports an unreadable tokenFile at its value', async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'server: http://r:7420\ntokenFile: missing.token\n');
    const result = await loadAgentConfig(file, deps);
    expect(result).toEqual({ ok: false, errors: [`${file}:2:12: tokenFile: cannot read ${join(dir, 'missing.token')}: ENOENT (no such file)`] });
  });

  it('reports an empty tokenFile', async () => {
    await writeFile(join(dir, 'empty.token'), '\n');
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'server: http://r:7420\ntokenFile: empty.token\n');
    expect(await loadAgentConfig(file, deps)).toEqual({ ok: false, errors: [`${file}:2:12: tokenFile: ${join(dir, 'empty.token')} is empty`] });
  });

  const withKey = (ref: string): string => `server: http://r:7420\nproviders:\n  - name: vllm-a\n    type: vllm\n    model: m\n    url: http://g:8000/v1\n    apiKeyRef: ${ref}\n`;

  it('resolves an apiKeyRef file against the config folder and checks that the variable or file holds a key', async () => {
    await writeFile(join(dir, 'vllm.key'), 'sk-abc\n');
    const file = join(dir, 'agent.yaml');
    await writeFile(file, withKey('{ file: vllm.key }'));
    const loaded = await loadAgentConfig(file, { ...deps, env: {} });
    expect(loaded.ok && loaded.config.providers[0]?.apiKeyRef).toEqual({ file: join(dir, 'vllm.key') });
    await writeFile(file, withKey('{ env: VLLM_KEY }'));
    const fromEnv = await loadAgentConfig(file, { ...deps, env: { VLLM_KEY: 'sk-abc' } });
    expect(fromEnv.ok && fromEnv.config.providers[0]?.apiKeyRef).toEqual({ env: 'VLLM_KEY' });
  });

  it('reports an unset apiKeyRef variable, an unreadable or empty key file, naming the provider and never a key', async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, withKey('{ env: VLLM_KEY }'));
    expect(await loadAgentConfig(file, { ...deps, env: { VLLM_KEY: ' ' } })).toEqual({ ok: false, errors: [`${file}:7:16: providers[0].apiKeyRef: provider vllm-a: apiKeyRef env VLLM_KEY is not set`] });
    await writeFile(file, withKey('{ file: missing.key }'));
    expect(await loadAgentConfig(file, { ...deps, env: {} })).toEqual({
      ok: false,
      errors: [`${file}:7:16: providers[0].apiKeyRef: provider vllm-a: apiKeyRef file ${join(dir, 'missing.key')}: ENOENT (no such file)`],
    });
    await writeFile(join(dir, 'empty.key'), '\n');
    await writeFile(file, withKey('{ file: empty.key }'));
    expect(await loadAgentConfig(file, { ...deps, env: {} })).toEqual({ ok: false, errors: [`${file}:7:16: providers[0].apiKeyRef: provider vllm-a: apiKeyRef file ${join(dir, 'empty.key')} is empty`] });
  });

  it('reports a config file that does not exist', async () => {
    const file = join(dir, 'nope.yaml');
    expect(await loadAgentConfig(file, deps)).toEqual({ ok: false, errors: [`${file}: cannot read the agent config: ENOENT (no such file)`] });
  });
});
