// The README is part of the contract: its first lines, its error table and its CI example stay true.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseAgentConfig } from '../agent/config.js';
import { parseAuthFile } from '../service/auth.js';
import { renderErrorTable } from '../reconciler/errors.js';
import { loadResources } from '../schema/codec.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');

describe('README', () => {
  it('starts with the two set-up command lines', () => {
    const block = readme.split('```sh\n')[1]?.split('```')[0] ?? '';
    const commands = block.trim().split('\n').map((l) => l.split('#')[0]?.trim());
    expect(commands).toEqual(['npm ci && npm start', 'npm ci && npm test']);
  });

  it('CI runs the README test command', () => {
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
  });

  it('documents every error code of the registry, as the registry renders it', () => {
    const table = readme.split('<!-- error-codes:start -->\n')[1]?.split('<!-- error-codes:end -->')[0];
    expect(table).toBe(renderErrorTable());
  });

  it('ships a CI workflow that is valid YAML and posts the markdown plan against the base branch', () => {
    const workflow = readFileSync(new URL('../examples/ci/mcpctl-plan.yml', import.meta.url), 'utf8');
    const parsed = parse(workflow) as { on: { pull_request: { paths: string[] } } };
    expect(parsed.on.pull_request.paths).toEqual(['llms/**']);
    expect(workflow).toContain('mcpctl plan --against "origin/${{ github.base_ref }}" -o markdown --detailed-exitcode');
  });

  it('shows an Llm file, an auth file and an agent config that load as the product reads them', () => {
    const blocks = readme.split('```yaml\n').slice(1).map((b) => b.split('```')[0] ?? '');
    const llm = blocks.find((b) => b.includes('kind: Llm'));
    const auth = blocks.find((b) => b.startsWith('tokens:'));
    const agent = blocks.find((b) => b.includes('providers:'));
    expect(loadResources([{ path: 'llms/example.yaml', text: llm ?? '' }])).toMatchObject({ ok: true, llms: [{ resource: { metadata: { name: 'vllm-gpu1-qwen3' } } }] });
    expect(parseAuthFile('auth.yaml', auth ?? '')).toMatchObject({ ok: true });
    // Its tokenFile is a path on the host; the config itself must parse.
    const parsed = parseAgentConfig('agent.yaml', agent ?? '');
    expect(parsed.ok ? parsed.config.providers.map((p) => p.name) : parsed.diagnostics).toEqual(['vllm-gpu1-qwen3']);
  });
});
