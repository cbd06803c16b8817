// GET /api/v1/declared over real HTTP: the served revision's Llm and LlmPool documents with their
// places, and that revision, from one snapshot; read-only, behind view:llms like the other reads.
import { afterEach, describe, expect, it } from 'vitest';
import { parseAuthFile, sha256Hex, type AuthConfig } from '../../service/auth.js';
import { declaredAnswerSchema } from '../../schema/declared.js';
import { closeHarnesses, FLEET_FILES, startHarness } from './support/harness.js';

afterEach(closeHarnesses);

function viewerAuth(): AuthConfig {
  const parsed = parseAuthFile('auth.yaml', `tokens:\n  - name: viewer\n    sha256: ${sha256Hex('view-token')}\n    roles: [view:llms]\n`);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.config;
}

const VIEWER = { authorization: 'Bearer view-token' };

async function getDeclared(base: string, headers: Record<string, string> = VIEWER): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}/api/v1/declared`, { headers });
  return { status: response.status, body: await response.json() };
}

describe('GET /api/v1/declared', () => {
  it('serves the served revision and its declared Llms and LlmPools with file and line', async () => {
    const h = await startHarness({ auth: viewerAuth() });
    const base = await h.listen();
    const { status, body } = await getDeclared(base);
    expect(status).toBe(200);
    const answer = declaredAnswerSchema.parse(body);
    expect(answer.revision).toBe('rev-1');
    expect(answer.llms.map((l) => `${l.resource.metadata.name} ${l.file}:${l.line}`).sort()).toEqual([
      'openai-gpt4o llms/hosted.yaml:1',
      'qwen3 llms/legacy.yaml:1',
      'vllm-gpu1-qwen3 llms/pool.yaml:9',
      'vllm-gpu2-qwen3 llms/pool.yaml:19',
    ]);
    expect(answer.pools).toHaveLength(1);
    expect(answer.pools[0]).toMatchObject({
      file: 'llms/pool.yaml',
      line: 1,
      resource: { kind: 'LlmPool', metadata: { name: 'user-vllm-qwen3-thinking' }, spec: { minActive: 2, description: 'Qwen3 thinking workers' } },
    });
    // Exactly as declared: an explicit default and a label stay, with the lines of their keys.
    const gpu2 = answer.llms.find((l) => l.resource.metadata.name === 'vllm-gpu2-qwen3');
    expect(gpu2?.resource.spec.enabled).toBe(false);
    expect(gpu2?.fieldLines['spec.enabled']).toBe(27);
    expect(answer.llms.find((l) => l.resource.metadata.name === 'vllm-gpu1-qwen3')?.resource.metadata.labels).toEqual({ team: 'research' });
  });

  it('follows a new revision whole: the revision and the resources come from the same snapshot', async () => {
    const h = await startHarness({ auth: viewerAuth() });
    const base = await h.listen();
    const { 'llms/hosted.yaml': _hosted, ...rest } = FLEET_FILES;
    h.desired.serve(rest, 'rev-2');
    const answer = declaredAnswerSchema.parse((await getDeclared(base)).body);
    expect(answer.revision).toBe('rev-2');
    expect(answer.llms.map((l) => l.resource.metadata.name).sort()).toEqual(['qwen3', 'vllm-gpu1-qwen3', 'vllm-gpu2-qwen3']);
  });

  it('answers a null revision and nothing declared before the first good revision', async () => {
    const h = await startHarness({ files: null, auth: viewerAuth() });
    const base = await h.listen();
    expect((await getDeclared(base)).body).toEqual({ revision: null, llms: [], pools: [] });
  });

  it('needs a view:llms token and is read-only', async () => {
    const h = await startHarness({ auth: viewerAuth() });
    const base = await h.listen();
    expect(await getDeclared(base, {})).toMatchObject({ status: 401, body: { error: { code: 'Unauthorized' } } });
    const post = await fetch(`${base}/api/v1/declared`, { method: 'POST', headers: { ...VIEWER, 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(404);
  });
});
