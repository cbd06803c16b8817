import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePlan, OFFLINE_POLICY_REASON, planExitCode, type FieldChange, type Finding, type Plan } from '../../schema/plan.js';
import type { Resource } from '../../schema/resources.js';
import { declare, fleet, llm, pool, type FileContent, type Fleet } from '../builders.js';

const BASE_LABEL = 'reconciler revision rev1';

/** The plan of `desired` files against the fleet's declared revision and its live views. */
function planOf(base: Fleet, desired: Record<string, FileContent>, options: { offline?: boolean } = {}): Plan {
  return computePlan({
    desired: declare(desired),
    base: { ...base.declared(), revision: 'rev1', label: BASE_LABEL },
    live: options.offline === true ? null : base.views(),
  });
}

/** A fleet with no live state, declaring `files`. */
function declaredOnly(files: Record<string, Resource[]>): Fleet {
  const f = fleet();
  for (const [file, resources] of Object.entries(files)) f.declare(file, ...resources);
  return f;
}

function fieldsOf(plan: Plan, name: string): Pick<FieldChange, 'path' | 'before' | 'after'>[] {
  const change = plan.changes.find((c) => c.name === name);
  return (change?.fields ?? []).map(({ path, before, after }) => ({ path, before, after }));
}

function reasons(plan: Plan): string[] {
  return plan.findings.map((f) => `${f.name} ${f.reason}`);
}

// Line numbers below are those of this text (1-based).
const POOL_YAML = `apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: qwen
spec:
  minActive: 2
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: gpu1
  labels:
    team: research
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: gpu2
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen
`;

describe('computePlan: Llm changes', () => {
  it('is empty when the desired files equal the declared revision', () => {
    const base = fleet().declare('llms/pool.yaml', POOL_YAML).agent('gpu1').llm('gpu1', { poolName: 'qwen' });
    const plan = planOf(base, { 'llms/pool.yaml': POOL_YAML });
    expect(plan).toMatchObject({ empty: true, summary: { add: 0, change: 0, remove: 0 }, changes: [], poolChanges: [], pools: [] });
    expect(plan.base).toEqual({ label: BASE_LABEL, revision: 'rev1' });
    expect(plan.desired).toEqual({ label: 'working tree' });
  });

  it('names where the desired side declares each changed field', () => {
    const base = fleet().declare('llms/pool.yaml', POOL_YAML);
    const desired = POOL_YAML.replace('    team: research\n', '    team: platform\n').replace('  poolName: qwen\n---', '  poolName: other\n---');
    const plan = planOf(base, { 'llms/pool.yaml': desired });
    expect(plan.changes).toEqual([
      {
        action: 'update',
        name: 'gpu1',
        reason: 'changed in llms/pool.yaml:8',
        file: 'llms/pool.yaml',
        line: 8,
        poolBefore: 'qwen',
        poolAfter: 'other',
        fields: [
          { path: 'metadata.labels.team', before: 'research', after: 'platform', reason: 'declared in llms/pool.yaml:13', file: 'llms/pool.yaml', line: 13 },
          { path: 'spec.poolName', before: 'qwen', after: 'other', reason: 'declared in llms/pool.yaml:17', file: 'llms/pool.yaml', line: 17 },
        ],
      },
    ]);
  });

  it('places a removed field on its nearest declared parent in the desired document', () => {
    const base = fleet().declare('llms/pool.yaml', POOL_YAML);
    const desired = POOL_YAML.replace('  labels:\n    team: research\n', '');
    const plan = planOf(base, { 'llms/pool.yaml': desired });
    expect(plan.changes[0]?.fields).toEqual([
      { path: 'metadata.labels.team', before: 'research', after: null, reason: 'removed from llms/pool.yaml:10', file: 'llms/pool.yaml', line: 10 },
    ]);
  });

  it('says which default a removed field falls back to, and places an explicit default where it is written', () => {
    const plan = planOf(declaredOnly({ 'llms/a.yaml': [llm('a', { enabled: false })] }), { 'llms/a.yaml': [llm('a')] });
    const desired = declare({ 'llms/a.yaml': [llm('a')] }).llms[0];
    expect(plan.changes[0]?.fields).toEqual([
      { path: 'spec.enabled', before: false, after: true, reason: `removed from llms/a.yaml:${desired?.fieldLines.spec}, default true`, file: 'llms/a.yaml', line: desired?.fieldLines.spec },
    ]);
    const explicit = 'apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n  enabled: true\n';
    const undrained = planOf(declaredOnly({ 'llms/a.yaml': [llm('a', { enabled: false })] }), { 'llms/a.yaml': explicit });
    expect(undrained.changes[0]?.fields).toEqual([
      { path: 'spec.enabled', before: false, after: true, reason: 'declared in llms/a.yaml:8', file: 'llms/a.yaml', line: 8 },
    ]);
  });

  it.each<[string, Parameters<typeof llm>[1], Parameters<typeof llm>[1], Pick<FieldChange, 'path' | 'before' | 'after'>[]]>([
    ['type', {}, { type: 'tgi' }, [{ path: 'spec.type', before: 'vllm', after: 'tgi' }]],
    ['model', {}, { model: 'Qwen/Qwen3-32B' }, [{ path: 'spec.model', before: 'Qwen/Qwen3-8B', after: 'Qwen/Qwen3-32B' }]],
    ['url added', {}, { url: 'http://gpu1:8000/v1' }, [{ path: 'spec.url', before: null, after: 'http://gpu1:8000/v1' }]],
    ['url changed', { url: 'http://a:1/v1' }, { url: 'http://b:1/v1' }, [{ path: 'spec.url', before: 'http://a:1/v1', after: 'http://b:1/v1' }]],
    ['poolName set', {}, { poolName: 'p' }, [{ path: 'spec.poolName', before: null, after: 'p' }]],
    ['poolName removed', { poolName: 'p' }, {}, [{ path: 'spec.poolName', before: 'p', after: null }]],
    ['source static', {}, { source: 'static', url: 'http://x:1/v1' }, [
      { path: 'spec.url', before: null, after: 'http://x:1/v1' },
      { path: 'spec.source', before: 'agent', after: 'static' },
    ]],
    ['drain', {}, { enabled: false }, [{ path: 'spec.enabled', before: true, after: false }]],
    ['undrain by removing the field', { enabled: false }, {}, [{ path: 'spec.enabled', before: false, after: true }]],
    ['apiKeyRef', { apiKeyRef: { env: 'A' } }, { apiKeyRef: { env: 'B' } }, [{ path: 'spec.apiKeyRef.env', before: 'A', after: 'B' }]],
    ['label added', {}, { labels: { team: 'x' } }, [{ path: 'metadata.labels.team', before: null, after: 'x' }]],
    ['label removed', { labels: { team: 'x', tier: 'gpu' } }, { labels: { tier: 'gpu' } }, [{ path: 'metadata.labels.team', before: 'x', after: null }]],
    ['label changed', { labels: { team: 'x' } }, { labels: { team: 'y' } }, [{ path: 'metadata.labels.team', before: 'x', after: 'y' }]],
    ['annotation added', {}, { annotations: { owner: 'me@example.com' } }, [{ path: 'metadata.annotations.owner', before: null, after: 'me@example.com' }]],
    ['several fields, in canonical order', { labels: { b: '1' } }, { enabled: false, model: 'm2', labels: { a: '1' } }, [
      { path: 'metadata.labels.a', before: null, after: '1' },
      { path: 'metadata.labels.b', before: '1', after: null },
      { path: 'spec.model', before: 'Qwen/Qwen3-8B', after: 'm2' },
      { path: 'spec.enabled', before: true, after: false },
    ]],
  ])('an update of %s lists the leaf fields that differ', (_case, before, after, fields) => {
    const plan = planOf(declaredOnly({ 'llms/a.yaml': [llm('a', before)] }), { 'llms/a.yaml': [llm('a', after)] });
    expect(plan.summary).toEqual({ add: 0, change: 1, remove: 0 });
    expect(plan.changes[0]?.action).toBe('update');
    expect(fieldsOf(plan, 'a')).toEqual(fields);
  });

  it('a created Llm lists its canonical fields at their desired lines, and no pool before', () => {
    const plan = planOf(declaredOnly({}), { 'llms/new.yaml': [llm('new', { poolName: 'p', labels: { team: 'x' }, enabled: true })] });
    const desired = declare({ 'llms/new.yaml': [llm('new', { poolName: 'p', labels: { team: 'x' } })] }).llms[0];
    expect(plan.changes).toEqual([
      {
        action: 'create',
        name: 'new',
        reason: 'added in llms/new.yaml:1',
        file: 'llms/new.yaml',
        line: 1,
        poolBefore: null,
        poolAfter: 'p',
        fields: (['metadata.labels.team', 'spec.type', 'spec.model', 'spec.poolName'] as const).map((path, i) => ({
          path,
          before: null,
          after: ['x', 'vllm', 'Qwen/Qwen3-8B', 'p'][i],
          reason: `declared in llms/new.yaml:${desired?.fieldLines[path]}`,
          file: 'llms/new.yaml',
          line: desired?.fieldLines[path],
        })),
      },
    ]);
    expect(plan.summary).toEqual({ add: 1, change: 0, remove: 0 });
  });

  it('a deleted Llm is placed in the base file, with its fields at their base lines', () => {
    const base = fleet().declare('llms/pool.yaml', POOL_YAML);
    const desired = POOL_YAML.slice(0, POOL_YAML.lastIndexOf('---\n'));
    const plan = planOf(base, { 'llms/pool.yaml': desired });
    expect(plan.changes).toEqual([
      {
        action: 'delete',
        name: 'gpu2',
        reason: `removed: declared in llms/pool.yaml:19 in ${BASE_LABEL}`,
        file: 'llms/pool.yaml',
        line: 19,
        poolBefore: 'qwen',
        poolAfter: null,
        fields: [
          { path: 'spec.type', before: 'vllm', after: null, reason: `declared in llms/pool.yaml:24 in ${BASE_LABEL}`, file: 'llms/pool.yaml', line: 24 },
          { path: 'spec.model', before: 'Qwen/Qwen3-8B', after: null, reason: `declared in llms/pool.yaml:25 in ${BASE_LABEL}`, file: 'llms/pool.yaml', line: 25 },
          { path: 'spec.poolName', before: 'qwen', after: null, reason: `declared in llms/pool.yaml:26 in ${BASE_LABEL}`, file: 'llms/pool.yaml', line: 26 },
        ],
      },
    ]);
    expect(plan.summary).toEqual({ add: 0, change: 0, remove: 1 });
  });

  it('moving a document to another file with identical content is not a change', () => {
    const base = declaredOnly({ 'llms/a.yaml': [llm('a', { poolName: 'p' }), llm('b')] });
    const plan = planOf(base, { 'llms/a.yaml': [llm('b')], 'llms/moved/a.yaml': [llm('a', { poolName: 'p' })] });
    expect(plan.empty).toBe(true);
    expect(plan.changes).toEqual([]);
  });

  it('a moved and edited document is an update placed in its new file', () => {
    const base = declaredOnly({ 'llms/a.yaml': [llm('b'), llm('a')] });
    const plan = planOf(base, { 'llms/a.yaml': [llm('b')], 'llms/z.yaml': [llm('a', { model: 'm2' })] });
    expect(plan.changes).toMatchObject([{ action: 'update', name: 'a', file: 'llms/z.yaml', line: 1, fields: [{ path: 'spec.model', file: 'llms/z.yaml' }] }]);
  });

  it.each([
    ['enabled: true', '  enabled: true\n'],
    ['source: agent', '  source: agent\n'],
    ['empty labels', ''],
    ['a status block from get -o yaml', ''],
    ['comments and flow style', ''],
  ])('an explicit default (%s) equals its absence', (which, specExtra) => {
    const canonical = `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n`;
    let text = `apiVersion: mcpctl/v1\nkind: Llm\nmetadata:\n  name: a\nspec:\n  type: vllm\n  model: Qwen/Qwen3-8B\n${specExtra}`;
    if (which === 'empty labels') text = text.replace('  name: a\n', '  name: a\n  labels: {}\n  annotations: {}\n');
    if (which === 'a status block from get -o yaml') text += 'status:\n  kind: managed\n  phase: active\n';
    if (which === 'comments and flow style') text = `# a comment\napiVersion: mcpctl/v1\nkind: Llm\nmetadata: { name: a }\nspec: { model: Qwen/Qwen3-8B, type: vllm }  # reordered\n`;
    const forward = planOf(fleet().declare('llms/a.yaml', canonical), { 'llms/a.yaml': text });
    const backward = planOf(fleet().declare('llms/a.yaml', text), { 'llms/a.yaml': canonical });
    expect(forward.empty).toBe(true);
    expect(backward.empty).toBe(true);
  });

  it('sorts changes by name whatever the file order', () => {
    const plan = planOf(declaredOnly({ 'llms/a.yaml': [llm('m')] }), { 'llms/z.yaml': [llm('z'), llm('b')], 'llms/a.yaml': [llm('c')] });
    expect(plan.changes.map((c) => `${c.action} ${c.name}`)).toEqual(['create b', 'create c', 'delete m', 'create z']);
  });

  it('is the inverse when desired and base swap (property)', () => {
    const nameArb = fc.constantFrom('a', 'b', 'c', 'd');
    const llmArb = fc.record({
      name: nameArb,
      poolName: fc.option(fc.constantFrom('p', 'q', 'a'), { nil: undefined }),
      enabled: fc.option(fc.boolean(), { nil: undefined }),
      model: fc.constantFrom('m1', 'm2'),
      team: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
    });
    const setArb = fc.uniqueArray(llmArb, { selector: (l) => l.name, maxLength: 4 });
    const toResources = (set: { name: string; poolName?: string | undefined; enabled?: boolean | undefined; model: string; team?: string | undefined }[]): Resource[] =>
      set.map((l) => {
        const options: Parameters<typeof llm>[1] = { model: l.model };
        if (l.poolName !== undefined) options.poolName = l.poolName;
        if (l.enabled !== undefined) options.enabled = l.enabled;
        if (l.team !== undefined) options.labels = { team: l.team };
        return llm(l.name, options);
      });
    fc.assert(
      fc.property(setArb, setArb, (a, b) => {
        const forward = planOf(declaredOnly({ 'llms/x.yaml': toResources(a) }), { 'llms/x.yaml': toResources(b) }, { offline: true });
        const backward = planOf(declaredOnly({ 'llms/x.yaml': toResources(b) }), { 'llms/x.yaml': toResources(a) }, { offline: true });
        expect(forward.summary.add).toBe(backward.summary.remove);
        expect(forward.summary.change).toBe(backward.summary.change);
        expect(forward.changes.map((c) => c.name)).toEqual(backward.changes.map((c) => c.name));
        for (const change of forward.changes.filter((c) => c.action === 'update')) {
          const flipped = fieldsOf(backward, change.name).map(({ path, before, after }) => ({ path, before: after, after: before }));
          expect(fieldsOf(forward, change.name)).toEqual(flipped);
        }
        expect(forward.pools.map((p) => [p.key, p.sizeBefore, p.sizeAfter])).toEqual(backward.pools.map((p) => [p.key, p.sizeAfter, p.sizeBefore]));
        const self = planOf(declaredOnly({ 'llms/x.yaml': toResources(a) }), { 'llms/y.yaml': toResources(a) }, { offline: true });
        expect(self.empty).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('computePlan: LlmPool changes', () => {
  it.each<[string, Resource[], Resource[], { action: string; fields: Pick<FieldChange, 'path' | 'before' | 'after'>[] }[]]>([
    ['created', [], [pool('p', 2, 'the p pool')], [{ action: 'create', fields: [{ path: 'spec.minActive', before: null, after: 2 }, { path: 'spec.description', before: null, after: 'the p pool' }] }]],
    ['floor raised', [pool('p', 1)], [pool('p', 3)], [{ action: 'update', fields: [{ path: 'spec.minActive', before: 1, after: 3 }] }]],
    ['floor removed shows its default', [pool('p', 1)], [pool('p')], [{ action: 'update', fields: [{ path: 'spec.minActive', before: 1, after: 0 }] }]],
    ['description changed', [pool('p', 1, 'a')], [pool('p', 1, 'b')], [{ action: 'update', fields: [{ path: 'spec.description', before: 'a', after: 'b' }] }]],
    ['deleted', [pool('p', 1)], [], [{ action: 'delete', fields: [{ path: 'spec.minActive', before: 1, after: null }] }]],
    ['minActive: 0 equals absent', [pool('p', 0)], [pool('p')], []],
  ])('an LlmPool %s is listed apart and counted in the summary', (_case, before, after, expected) => {
    const plan = planOf(declaredOnly({ 'llms/p.yaml': before }), { 'llms/p.yaml': after });
    expect(plan.poolChanges.map((c) => ({ action: c.action, fields: c.fields.map(({ path, before: b, after: a }) => ({ path, before: b, after: a })) }))).toEqual(expected);
    const count = (action: string): number => expected.filter((c) => c.action === action).length;
    expect(plan.summary).toEqual({ add: count('create'), change: count('update'), remove: count('delete') });
    expect(plan.empty).toBe(expected.length === 0);
    expect(plan.poolChanges.every((c) => c.name === 'p' && c.file === 'llms/p.yaml')).toBe(true);
  });

  it.each<[string, Resource[], Resource[], string]>([
    ['created', [], [pool('p', 2)], 'added in llms/p.yaml:1'],
    ['changed', [llm('a'), pool('p', 1)], [llm('a'), pool('p', 3)], 'changed in llms/p.yaml:9'],
    ['deleted', [llm('a'), pool('p', 1)], [llm('a')], `removed: declared in llms/p.yaml:9 in ${BASE_LABEL}`],
  ])('an LlmPool %s says so and where', (_case, before, after, reason) => {
    expect(planOf(declaredOnly({ 'llms/p.yaml': before }), { 'llms/p.yaml': after }).poolChanges.map((c) => c.reason)).toEqual([reason]);
  });
});

describe('computePlan: pool size changes', () => {
  const workers = (...names: string[]): Resource[] => names.map((n) => llm(n, { poolName: 'qwen' }));

  it.each<[string, Record<string, Resource[]>, Record<string, Resource[]>, Plan['pools']]>([
    ['grows', { 'llms/p.yaml': workers('w1', 'w2') }, { 'llms/p.yaml': workers('w1', 'w2', 'w3') }, [
      { key: 'qwen', sizeBefore: 2, sizeAfter: 3, added: ['w3'], removed: [], reason: 'w3 added (llms/p.yaml:19)', file: 'llms/p.yaml', line: 19 },
    ]],
    ['shrinks', { 'llms/p.yaml': workers('w1', 'w2') }, { 'llms/p.yaml': workers('w2') }, [
      { key: 'qwen', sizeBefore: 2, sizeAfter: 1, added: [], removed: ['w1'], reason: 'w1 deleted (llms/p.yaml:1)', file: 'llms/p.yaml', line: 1 },
    ]],
    ['a member moves to another pool', { 'llms/p.yaml': workers('w1', 'w2') }, { 'llms/p.yaml': [...workers('w1'), llm('w2', { poolName: 'other' })] }, [
      { key: 'other', sizeBefore: 0, sizeAfter: 1, added: ['w2'], removed: [], reason: 'w2 moved from pool qwen (llms/p.yaml:17)', file: 'llms/p.yaml', line: 17 },
      { key: 'qwen', sizeBefore: 2, sizeAfter: 1, added: [], removed: ['w2'], reason: 'w2 moved to pool other (llms/p.yaml:17)', file: 'llms/p.yaml', line: 17 },
    ]],
    ['a member is swapped for another', { 'llms/p.yaml': workers('w1', 'w2') }, { 'llms/p.yaml': workers('w1', 'w3') }, [
      { key: 'qwen', sizeBefore: 2, sizeAfter: 2, added: ['w3'], removed: ['w2'], reason: 'w3 added (llms/p.yaml:10), w2 deleted (llms/p.yaml:10)', file: 'llms/p.yaml', line: 10 },
    ]],
    ['a legacy solo Llm is joined by a declared worker', { 'llms/a.yaml': [llm('qwen')] }, { 'llms/a.yaml': [llm('qwen'), llm('w1', { poolName: 'qwen' })] }, [
      { key: 'qwen', sizeBefore: 1, sizeAfter: 2, added: ['w1'], removed: [], reason: 'w1 added (llms/a.yaml:9)', file: 'llms/a.yaml', line: 9 },
    ]],
    ['a pool name collides with another Llm\'s name', { 'llms/a.yaml': [llm('alpha'), llm('beta')] }, { 'llms/a.yaml': [llm('alpha', { poolName: 'beta' }), llm('beta')] }, [
      { key: 'alpha', sizeBefore: 1, sizeAfter: 0, added: [], removed: ['alpha'], reason: 'alpha moved to pool beta (llms/a.yaml:8)', file: 'llms/a.yaml', line: 8 },
      { key: 'beta', sizeBefore: 1, sizeAfter: 2, added: ['alpha'], removed: [], reason: 'alpha moved from pool alpha (llms/a.yaml:8)', file: 'llms/a.yaml', line: 8 },
    ]],
    ['a field edit keeps the member set', { 'llms/p.yaml': workers('w1') }, { 'llms/p.yaml': [llm('w1', { poolName: 'qwen', model: 'm2', enabled: false })] }, []],
  ])('a pool %s', (_case, before, after, expected) => {
    expect(planOf(declaredOnly(before), after).pools).toEqual(expected);
  });

  it('a legacy solo Llm joined by a virtual worker counts it on both sides, so a new worker grows the implicit pool 2 → 3', () => {
    const base = fleet().declare('llms/a.yaml', llm('qwen3')).agent('gpu5').llm('qwen3-gpu5', { poolName: 'qwen3' });
    expect(planOf(base, { 'llms/a.yaml': [llm('qwen3')] }).pools).toEqual([]);
    const grown = planOf(base, { 'llms/a.yaml': [llm('qwen3'), llm('qwen3-gpu6', { poolName: 'qwen3' })] });
    expect(grown.pools).toEqual([
      { key: 'qwen3', sizeBefore: 2, sizeAfter: 3, added: ['qwen3-gpu6'], removed: [], reason: 'qwen3-gpu6 added (llms/a.yaml:9)', file: 'llms/a.yaml', line: 9 },
    ]);
  });

  it('declaring a virtual worker with its own pool is a create that leaves the member set alone', () => {
    const base = fleet().declare('llms/a.yaml', llm('qwen3')).agent('gpu5').llm('qwen3-gpu5', { poolName: 'qwen3' });
    const plan = planOf(base, { 'llms/a.yaml': [llm('qwen3'), llm('qwen3-gpu5', { poolName: 'qwen3' })] });
    expect(plan.changes.map((c) => `${c.action} ${c.name}`)).toEqual(['create qwen3-gpu5']);
    expect(plan.pools).toEqual([]);
  });

  it('declaring a virtual worker in another pool moves it', () => {
    const base = fleet().agent('gpu5').llm('w', { poolName: 'a' });
    expect(planOf(base, { 'llms/w.yaml': [llm('w', { poolName: 'b' })] }).pools).toEqual([
      { key: 'a', sizeBefore: 1, sizeAfter: 0, added: [], removed: ['w'], reason: 'w moved to pool b (llms/w.yaml:8)', file: 'llms/w.yaml', line: 8 },
      { key: 'b', sizeBefore: 0, sizeAfter: 1, added: ['w'], removed: [], reason: 'w moved from pool a (llms/w.yaml:8)', file: 'llms/w.yaml', line: 8 },
    ]);
  });

  it('an offline plan counts declared Llms only', () => {
    const base = fleet().declare('llms/a.yaml', llm('qwen3')).agent('gpu5').llm('qwen3-gpu5', { poolName: 'qwen3' });
    const plan = planOf(base, { 'llms/a.yaml': [llm('qwen3'), llm('qwen3-gpu6', { poolName: 'qwen3' })] }, { offline: true });
    expect(plan.pools).toEqual([
      { key: 'qwen3', sizeBefore: 1, sizeAfter: 2, added: ['qwen3-gpu6'], removed: [], reason: 'qwen3-gpu6 added (llms/a.yaml:9)', file: 'llms/a.yaml', line: 9 },
    ]);
    expect(plan.offline).toBe(true);
  });

  it('names the first few member causes and counts the rest', () => {
    const plan = planOf(declaredOnly({}), { 'llms/p.yaml': workers('w1', 'w2', 'w3', 'w4', 'w5') }, { offline: true });
    expect(plan.pools).toEqual([
      {
        key: 'qwen',
        sizeBefore: 0,
        sizeAfter: 5,
        added: ['w1', 'w2', 'w3', 'w4', 'w5'],
        removed: [],
        reason: 'w1 added (llms/p.yaml:1), w2 added (llms/p.yaml:10), w3 added (llms/p.yaml:19), and 2 more',
        file: 'llms/p.yaml',
        line: 1,
      },
    ]);
  });

  it('a base that does not know its files still gives each change and pool a reason, with no place', () => {
    const located = declare({ 'llms/p.yaml': workers('w1', 'w2') });
    const unplaced = { llms: located.llms.map((l) => ({ ...l, file: '', line: 0, fieldLines: {} })), pools: [] };
    const plan = computePlan({ desired: declare({ 'llms/p.yaml': workers('w2') }), base: { ...unplaced, revision: 'rev1', label: BASE_LABEL }, live: null });
    expect(plan.changes).toMatchObject([{ action: 'delete', name: 'w1', reason: `removed: declared in ${BASE_LABEL}`, file: '', line: 0 }]);
    expect(plan.changes[0]?.fields.map((f) => f.reason)).toEqual([`declared in ${BASE_LABEL}`, `declared in ${BASE_LABEL}`, `declared in ${BASE_LABEL}`]);
    expect(plan.pools).toEqual([{ key: 'qwen', sizeBefore: 2, sizeAfter: 1, added: [], removed: ['w1'], reason: 'w1 deleted', file: null, line: null }]);
  });
});

describe('computePlan: live findings', () => {
  const hosted = [
    llm('hosted', { type: 'openai', model: 'gpt-4o', source: 'static', url: 'https://api.example.com/v1' }),
    llm('down', { type: 'openai', model: 'gpt-4o', source: 'static', url: 'https://down.example.com/v1' }),
  ];
  const base = fleet()
    .declare('llms/pool.yaml', POOL_YAML)
    .declare('llms/hosted.yaml', ...hosted)
    .declare('llms/solo.yaml', llm('solo'), llm('parked', { enabled: false }))
    .probe('hosted', { ok: true })
    .probe('down', { ok: false, message: 'ECONNREFUSED' })
    .agent('gpu1')
    .llm('gpu1', { poolName: 'qwen', heartbeatAgoMs: 92_000 })
    .agent('gpu2')
    .llm('gpu2', { poolName: 'qwen-old', model: 'Qwen/Qwen3-8B-AWQ', health: 'failing', healthMessage: 'ECONNREFUSED' })
    .agent('gpu7')
    .llm('stray', { poolName: 'qwen' })
    .llm('stray-stale', { heartbeatAgoMs: 3_600_000 })
    .agent('gpu8')
    .llm('restored', { poolName: 'qwen', restored: true });
  const files: Record<string, FileContent> = { 'llms/pool.yaml': POOL_YAML, 'llms/hosted.yaml': hosted, 'llms/solo.yaml': [llm('solo'), llm('parked', { enabled: false })] };

  it('lists every finding with its reason in words, sorted by name then type', () => {
    expect(reasons(planOf(base, files))).toEqual([
      'down unhealthy: endpoint failing: ECONNREFUSED',
      'gpu1 stale: no heartbeat for 92s',
      'gpu2 unhealthy: endpoint failing: ECONNREFUSED',
      'gpu2 drift: agent sends model Qwen/Qwen3-8B-AWQ, Git says Qwen/Qwen3-8B',
      'gpu2 drift: agent sends poolName qwen-old, Git says qwen',
      'restored unmanaged: published by agent gpu8, not declared',
      'restored stale: restored after a reconciler restart, no heartbeat since (last 5s ago)',
      'solo pending: declared in llms/solo.yaml, no agent yet',
      'stray unmanaged: published by agent gpu7, not declared',
      'stray-stale unmanaged: published by agent gpu7, not declared',
      'stray-stale stale: no heartbeat for 60m',
    ]);
  });

  it('places declared findings in the desired file, at the drifting field, and leaves unmanaged ones unplaced', () => {
    const byKey = new Map(planOf(base, files).findings.map((f) => [`${f.name} ${f.type} ${f.path ?? ''}`, f]));
    expect(byKey.get('gpu1 stale ')).toMatchObject<Partial<Finding>>({ file: 'llms/pool.yaml', line: 8, pool: 'qwen' });
    expect(byKey.get('gpu2 drift spec.poolName')).toMatchObject<Partial<Finding>>({ file: 'llms/pool.yaml', line: 26, path: 'spec.poolName' });
    expect(byKey.get('gpu2 drift spec.model')).toMatchObject<Partial<Finding>>({ line: 25 });
    expect(byKey.get('stray unmanaged ')).toEqual<Finding>({ type: 'unmanaged', name: 'stray', pool: 'qwen', reason: 'unmanaged: published by agent gpu7, not declared', file: null, line: null });
    expect(byKey.get('solo pending ')).toMatchObject<Partial<Finding>>({ file: 'llms/solo.yaml', line: 1, pool: 'solo' });
  });

  it('measures drift against the desired spec: a change that matches the agent clears it, one that departs from it shows', () => {
    const gpu2Doc = POOL_YAML.slice(POOL_YAML.lastIndexOf('---\n'));
    const head = POOL_YAML.slice(0, POOL_YAML.lastIndexOf('---\n'));
    const fixed = head.replace('  model: Qwen/Qwen3-8B\n', '  model: m2\n') + gpu2Doc.replace('Qwen/Qwen3-8B', 'Qwen/Qwen3-8B-AWQ').replace('poolName: qwen', 'poolName: qwen-old');
    const plan = planOf(base, { ...files, 'llms/pool.yaml': fixed });
    expect(plan.findings.filter((f) => f.name === 'gpu2').map((f) => f.reason)).toEqual(['unhealthy: endpoint failing: ECONNREFUSED']);
    expect(plan.findings.filter((f) => f.name === 'gpu1').map((f) => f.reason)).toEqual([
      'stale: no heartbeat for 92s',
      'drift: agent sends model Qwen/Qwen3-8B, Git says m2',
    ]);
  });

  it('reports a missing poolName on either side in words', () => {
    const f = fleet().declare('llms/a.yaml', llm('a'), llm('b', { poolName: 'p' })).agent('gpu1').llm('a', { poolName: 'p' }).llm('b');
    expect(reasons(planOf(f, { 'llms/a.yaml': [llm('a'), llm('b', { poolName: 'p' })] }))).toEqual([
      'a drift: agent sends poolName p, Git sets none',
      'b drift: agent sends no poolName, Git says p',
    ]);
  });

  it('an Llm added in the desired files and never seen live is pending; a static or drained one is not', () => {
    const plan = planOf(fleet(), {
      'llms/new.yaml': [llm('new'), llm('fixed', { source: 'static', url: 'http://x:1/v1' }), llm('off', { enabled: false })],
    });
    expect(reasons(plan)).toEqual(['new pending: declared in llms/new.yaml, no agent yet']);
  });

  it('a virtual Llm that the desired files declare is not unmanaged', () => {
    const f = fleet().agent('gpu7').llm('stray', { poolName: 'qwen' });
    expect(planOf(f, {}).findings.map((x) => x.type)).toEqual(['unmanaged']);
    expect(planOf(f, { 'llms/stray.yaml': [llm('stray', { poolName: 'qwen' })] }).findings).toEqual([]);
    expect(reasons(planOf(f, { 'llms/stray.yaml': [llm('stray', { poolName: 'other' })] }))).toEqual(['stray drift: agent sends poolName qwen, Git says other']);
  });

  it('a deleted Llm leaves no finding behind, and an offline plan has none at all', () => {
    expect(planOf(base, { ...files, 'llms/solo.yaml': [] }).findings.some((f) => f.name === 'solo')).toBe(false);
    expect(planOf(base, files, { offline: true }).findings).toEqual([]);
  });
});

describe('computePlan: policy', () => {
  /** Pool qwen (minActive 2 unless given) with members w1..w3; all active unless listed. */
  function poolFleet(options: { minActive?: number | null; stale?: string[]; drained?: string[] } = {}): Fleet {
    const f = fleet();
    if (options.minActive !== null) f.declare('llms/pool.yaml', pool('qwen', options.minActive ?? 2));
    for (const name of ['w1', 'w2', 'w3']) f.declare('llms/pool.yaml', llm(name, { poolName: 'qwen', ...(options.drained?.includes(name) ? { enabled: false } : {}) }));
    for (const name of ['w1', 'w2', 'w3']) f.agent(`gpu-${name}`).llm(name, { poolName: 'qwen', ...(options.stale?.includes(name) ? { heartbeatAgoMs: 60_000 } : {}) });
    return f;
  }
  const desired = (minActive: number | null, members: Resource[]): Record<string, FileContent> => ({
    'llms/pool.yaml': [...(minActive === null ? [] : [pool('qwen', minActive)]), ...members],
  });
  const w = (name: string, options: Parameters<typeof llm>[1] = {}): Resource => llm(name, { poolName: 'qwen', ...options });

  it.each<[string, Fleet, Record<string, FileContent>, { activeBefore: number; activeAfter: number; minActive: number; causes: string[] } | null]>([
    ['draining one of three, floor 2', poolFleet(), desired(2, [w('w1', { enabled: false }), w('w2'), w('w3')]), null],
    ['draining two of three, floor 2', poolFleet(), desired(2, [w('w1', { enabled: false }), w('w2', { enabled: false }), w('w3')]), { activeBefore: 3, activeAfter: 1, minActive: 2, causes: ['w1', 'w2'] }],
    ['deleting two of three', poolFleet(), desired(2, [w('w3')]), { activeBefore: 3, activeAfter: 1, minActive: 2, causes: ['w1', 'w2'] }],
    ['moving two members to another pool', poolFleet(), desired(2, [w('w1', { poolName: 'x' }), w('w2', { poolName: 'x' }), w('w3')]), { activeBefore: 3, activeAfter: 1, minActive: 2, causes: ['w1', 'w2'] }],
    ['raising the floor above the active count', poolFleet(), desired(4, [w('w1'), w('w2'), w('w3')]), { activeBefore: 3, activeAfter: 3, minActive: 4, causes: [] }],
    ['raising the floor to the active count', poolFleet(), desired(3, [w('w1'), w('w2'), w('w3')]), null],
    ['a pool without an LlmPool, fully drained', poolFleet({ minActive: null }), desired(null, [w('w1', { enabled: false }), w('w2', { enabled: false }), w('w3', { enabled: false })]), null],
    ['deleting the LlmPool along with the members', poolFleet(), desired(null, [w('w3')]), null],
    ['an already Degraded pool that the change does not make worse', poolFleet({ minActive: 3, stale: ['w1'] }), desired(3, [w('w1', { labels: { team: 'x' } }), w('w2'), w('w3')]), null],
    ['an already Degraded pool losing another active member', poolFleet({ minActive: 3, stale: ['w1'] }), desired(3, [w('w1'), w('w2', { enabled: false }), w('w3')]), { activeBefore: 2, activeAfter: 1, minActive: 3, causes: ['w2'] }],
    ['draining a stale member (it was not active)', poolFleet({ stale: ['w1', 'w2'] }), desired(2, [w('w1', { enabled: false }), w('w2', { enabled: false }), w('w3')]), null],
    ['undraining a member of a Degraded pool', poolFleet({ drained: ['w1', 'w2'] }), desired(2, [w('w1'), w('w2'), w('w3')]), null],
    ['raising the floor of a Degraded pool', poolFleet({ minActive: 3, stale: ['w1'] }), desired(4, [w('w1'), w('w2'), w('w3')]), { activeBefore: 2, activeAfter: 2, minActive: 4, causes: [] }],
  ])('%s', (_case, base, desiredFiles, expected) => {
    const plan = planOf(base, desiredFiles);
    expect(plan.policy.checked).toBe(true);
    if (expected === null) {
      expect(plan.policy.violations).toEqual([]);
    } else {
      expect(plan.policy.violations).toHaveLength(1);
      expect(plan.policy.violations[0]).toMatchObject({ pool: 'qwen', ...expected });
    }
  });

  it('says in words what breaks the floor and where', () => {
    const base = poolFleet();
    const plan = planOf(base, {
      'llms/pool.yaml': `apiVersion: mcpctl/v1
kind: LlmPool
metadata:
  name: qwen
spec:
  minActive: 3
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: w1
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen
  enabled: false
---
apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: w3
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: other
`,
    });
    expect(plan.policy.violations).toEqual([
      {
        pool: 'qwen',
        activeBefore: 3,
        activeAfter: 0,
        minActiveBefore: 2,
        minActive: 3,
        causes: ['w1', 'w2', 'w3'],
        reason:
          '0 active after the change (3 now), below minActive 3: w1 drained (llms/pool.yaml:16), w2 deleted (llms/pool.yaml:17), w3 moved to pool other (llms/pool.yaml:25)',
        file: 'llms/pool.yaml',
        line: 1,
      },
    ]);
    expect(planOf(base, desired(4, [w('w1'), w('w2'), w('w3')])).policy.violations[0]?.reason).toMatch(
      /^3 active after the change \(3 now\), below minActive 4: minActive raised from 2 to 4 \(llms\/pool\.yaml:\d+\)$/,
    );
  });

  it('a virtual member counts as active after the change; adopting it into another pool moves it out', () => {
    const base = fleet().declare('llms/pool.yaml', pool('qwen', 1)).agent('gpu7').llm('stray', { poolName: 'qwen' });
    expect(planOf(base, { 'llms/pool.yaml': [pool('qwen', 1)] }).policy.violations).toEqual([]);
    expect(planOf(base, { 'llms/pool.yaml': [pool('qwen', 1), llm('stray', { poolName: 'elsewhere' })] }).policy.violations).toMatchObject([
      { pool: 'qwen', activeAfter: 0, causes: ['stray'] },
    ]);
  });

  it('active members moving in count toward the target pool', () => {
    const base = fleet().declare('llms/pool.yaml', pool('b', 2), llm('a1', { poolName: 'a' }), llm('a2', { poolName: 'a' }), llm('b1', { poolName: 'b' }));
    base.agent('g').llm('a1', { poolName: 'a' }).llm('a2', { poolName: 'a' }).llm('b1', { poolName: 'b' });
    // b is Degraded (1 of 2); a1 moving in and b1 draining keeps it at 1: not worse.
    const plan = planOf(base, { 'llms/pool.yaml': [pool('b', 2), llm('a1', { poolName: 'b' }), llm('a2', { poolName: 'a' }), llm('b1', { poolName: 'b', enabled: false })] });
    expect(plan.policy.violations).toEqual([]);
  });

  it('a brand-new pool with a floor and no member yet is not a violation', () => {
    const plan = planOf(poolFleet(), { ...desired(2, [w('w1'), w('w2'), w('w3')]), 'llms/new.yaml': [pool('fresh', 2), llm('f1', { poolName: 'fresh' }), llm('f2', { poolName: 'fresh' })] });
    expect(plan.policy).toEqual({ checked: true, violations: [] });
  });

  it('an offline plan skips the check and says so', () => {
    const plan = planOf(poolFleet(), desired(2, [w('w3')]), { offline: true });
    expect(plan.policy).toEqual({ checked: false, skippedReason: OFFLINE_POLICY_REASON, violations: [] });
    expect(OFFLINE_POLICY_REASON).toBe('no live state: offline plan (--against without a reachable reconciler)');
  });
});

describe('planExitCode', () => {
  const base = fleet().declare('llms/pool.yaml', pool('qwen', 1), llm('w1', { poolName: 'qwen' })).agent('g').llm('w1', { poolName: 'qwen' }).llm('stray');
  const same = { 'llms/pool.yaml': [pool('qwen', 1), llm('w1', { poolName: 'qwen' })] };
  it.each<[string, number, boolean, Record<string, FileContent>]>([
    ['no changes (live findings only)', 0, true, same],
    ['no changes, not detailed', 0, false, same],
    ['an Llm added', 2, true, { 'llms/pool.yaml': [...same['llms/pool.yaml'], llm('w2', { poolName: 'qwen' })] }],
    ['an Llm added, not detailed', 0, false, { 'llms/pool.yaml': [...same['llms/pool.yaml'], llm('w2', { poolName: 'qwen' })] }],
    ['an Llm changed', 2, true, { 'llms/pool.yaml': [pool('qwen', 1), llm('w1', { poolName: 'qwen', model: 'm2' })] }],
    ['an Llm removed', 2, true, { 'llms/pool.yaml': [pool('qwen')] }],
    ['an LlmPool edit alone', 2, true, { 'llms/pool.yaml': [pool('qwen', 1, 'described'), llm('w1', { poolName: 'qwen' })] }],
    ['a raised floor alone violates', 4, true, { 'llms/pool.yaml': [pool('qwen', 2), llm('w1', { poolName: 'qwen' })] }],
    ['a violation wins over changes', 4, true, { 'llms/pool.yaml': [pool('qwen', 1), llm('w1', { poolName: 'qwen', enabled: false })] }],
    ['a violation, not detailed', 0, false, { 'llms/pool.yaml': [pool('qwen', 1), llm('w1', { poolName: 'qwen', enabled: false })] }],
  ])('%s → %i (detailed: %s)', (_case, code, detailed, desiredFiles) => {
    expect(planExitCode(planOf(base, desiredFiles), detailed)).toBe(code);
  });

  it('an offline plan with changes exits 2, never 4', () => {
    const plan = planOf(base, { 'llms/pool.yaml': [pool('qwen', 1), llm('w1', { poolName: 'qwen', enabled: false })] }, { offline: true });
    expect(planExitCode(plan, true)).toBe(2);
  });
});

describe('the Plan value', () => {
  it('is plain JSON: a round trip through JSON gives it back unchanged', () => {
    const base = fleet().declare('llms/pool.yaml', POOL_YAML).agent('gpu1').llm('gpu1', { poolName: 'qwen-old', heartbeatAgoMs: 92_000 }).llm('stray');
    const plan = planOf(base, { 'llms/pool.yaml': POOL_YAML.replace('minActive: 2', 'minActive: 3').replace('name: gpu2', 'name: gpu3') });
    expect(plan.formatVersion).toBe(1);
    expect(JSON.parse(JSON.stringify(plan))).toStrictEqual(plan);
  });

  it('takes the desired label when given', () => {
    const plan = computePlan({ desired: { ...declare({}), label: 'reconciler revision abc' }, base: { ...declare({}), revision: 'abc', label: 'reconciler revision abc' }, live: [] });
    expect(plan.desired.label).toBe('reconciler revision abc');
    expect(plan.policy).toEqual({ checked: true, violations: [] });
  });
});
