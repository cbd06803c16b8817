// Argo CD's most common complaint is an application "OutOfSync" with an empty diff: the tool
// says something differs and cannot say what. These properties show that ours cannot happen,
// over generated repositories written the way people write YAML (comments, several documents
// per file, any key order, flow and block maps, every quoting style, explicit defaults,
// `status:` blocks pasted back from `get -o yaml`) and generated live registrations:
//
//   1. canonical YAML parses back as exactly the resources it was made of, and a file's
//      formatting is never a change;
//   2. `apply -f` of `get -o yaml` output writes nothing, and the plan of the files against the
//      reconciler's views of those same files is empty;
//   3. after `apply` of random changes (edited Llms, new Llms, LlmPools, adopted live Llms) the
//      files hold exactly what was applied, applying it again writes nothing, and the plan of the
//      new files against the reconciler serving them is empty: no field the CLI writes is served
//      back differently.
//
// MCPCTL_PROPERTY_RUNS=2000 runs each property that many times when hunting a rare case.
import fc from 'fast-check';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderViewsYaml, resourceOfView } from '../../cli/commands/get.js';
import { prepareChange, type Workspace } from '../../cli/workspace.js';
import { loadResources, parseResourceFile, toCanonicalYaml, type SourceFile } from '../../schema/codec.js';
import { declaredAnswerOf, declaredAnswerSchema, type DeclaredAnswer } from '../../schema/declared.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import { replaceResourceInText } from '../../schema/edit.js';
import { buildViews, type LiveLlm } from '../../schema/effective.js';
import { computePlan, type DeclaredSet, type Plan } from '../../schema/plan.js';
import { policiesByKey, summarizePools } from '../../schema/pools.js';
import { API_VERSION, canonicalizeResource, LLM_TYPES, type Llm, type LlmPool, type LlmSpec, type Resource } from '../../schema/resources.js';
import type { LlmView, PoolSummary } from '../../schema/views.js';

const RUNS_OVERRIDE = process.env.MCPCTL_PROPERTY_RUNS === undefined ? undefined : Number(process.env.MCPCTL_PROPERTY_RUNS);
const runs = (n: number): number => RUNS_OVERRIDE ?? n;
const TIMEOUT_MS = RUNS_OVERRIDE === undefined ? 30_000 : 600_000;

const NOW_MS = Date.UTC(2025, 0, 1);
const TTL_MS = 30_000;
const REVISION = '0123456789abcdef0123456789abcdef01234567';

// --- values people put in these files -------------------------------------------------------

// Valid names that YAML reads as something else when left plain (007, true, 1e3, null) are here
// on purpose: a file must quote them, and so must every edit.
const LLM_NAMES = ['qwen3', 'vllm-gpu1-qwen3', 'vllm-gpu2-qwen3', 'gpu3.llama', 'hosted_openai', 'a', '007', 'true', '1e3'];
const POOL_NAMES = ['user-vllm-qwen3-thinking', 'qwen3', 'p', 'null', 'gpu3.llama'];
const TRICKY = ['x', 'yes', 'true', '1', '1.5', '0x1F', '~', 'null', 'a b', "it's", 'say "hi"', 'a: b', 'a #b', '#x', ' lead', 'trail ', '-x', '[x]', '{x}', 'x,y', 'é 漢字 🚀', '*', '&a', '!t', '%', '@', '`', '', '---'];
const MULTILINE = ['line one\nline two', 'first\n\nthird\n', 'Qwen3 workers\n  on the lab GPUs\n'];
const MODELS = ['Qwen/Qwen3-8B', 'qwen3:8b', 'gpt-4o', 'meta-llama/Llama-3.3-70B-Instruct', ...TRICKY.filter((s) => s !== ''), MULTILINE[0] as string];
const LABEL_KEYS = ['team', 'tier', 'app.kubernetes.io/name', 'x y', '1', 'yes', 'a:b'];
const URLS = ['http://gpu1.lan:8000/v1', 'https://api.openai.com/v1', 'http://h:1/v1?a=b#frag', 'http://[::1]:8000/v1'];
const ENVS = ['OPENAI_API_KEY', 'K', '_x1'];
const DESCRIPTIONS = ['Qwen3 thinking workers on the lab GPUs', ...TRICKY, ...MULTILINE];
const FILE_PATHS = ['llms/pool.yaml', 'llms/qwen3.yaml', 'llms/team/workers.yaml', 'llms/a.yaml'];

const stringMapArb = fc.dictionary(fc.constantFrom(...LABEL_KEYS), fc.constantFrom(...TRICKY, ...MULTILINE), { maxKeys: 3 });

interface LlmFields {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  type: LlmSpec['type'];
  model: string;
  url?: string;
  poolName?: string;
  source?: 'agent' | 'static';
  enabled?: boolean;
  env?: string;
}

function buildLlm(f: LlmFields): Llm {
  const metadata: Llm['metadata'] = { name: f.name };
  if (f.labels !== undefined) metadata.labels = f.labels;
  if (f.annotations !== undefined) metadata.annotations = f.annotations;
  const spec: LlmSpec = { type: f.type, model: f.model };
  if (f.url !== undefined) spec.url = f.url;
  if (f.poolName !== undefined) spec.poolName = f.poolName;
  // A static Llm needs its url: without one, it is an agent-served Llm.
  if (f.source !== undefined && (f.source === 'agent' || f.url !== undefined)) spec.source = f.source;
  // Explicit defaults (`enabled: true`, `source: agent`) are generated on purpose.
  if (f.enabled !== undefined) spec.enabled = f.enabled;
  if (f.env !== undefined) spec.apiKeyRef = { env: f.env };
  return { apiVersion: API_VERSION, kind: 'Llm', metadata, spec };
}

const llmFieldsArb = (names: readonly string[]): fc.Arbitrary<LlmFields> =>
  fc.record(
    {
      name: fc.constantFrom(...names),
      labels: stringMapArb,
      annotations: stringMapArb,
      type: fc.constantFrom(...LLM_TYPES),
      model: fc.constantFrom(...MODELS),
      url: fc.constantFrom(...URLS),
      poolName: fc.constantFrom(...POOL_NAMES, ...LLM_NAMES.slice(0, 2)),
      source: fc.constantFrom('agent' as const, 'static' as const),
      enabled: fc.boolean(),
      env: fc.constantFrom(...ENVS),
    },
    { requiredKeys: ['name', 'type', 'model'] },
  );

const llmArb = (names: readonly string[]): fc.Arbitrary<Llm> => llmFieldsArb(names).map(buildLlm);

/** A pool document; `spec` may be left out altogether when it would be empty (the codec reads it as {}). */
const poolArb = (names: readonly string[]): fc.Arbitrary<LlmPool> =>
  fc
    .record(
      {
        name: fc.constantFrom(...names),
        labels: stringMapArb,
        annotations: stringMapArb,
        minActive: fc.nat(3),
        description: fc.constantFrom(...DESCRIPTIONS),
        omitSpec: fc.boolean(),
      },
      { requiredKeys: ['name', 'omitSpec'] },
    )
    .map((g) => {
      const metadata: LlmPool['metadata'] = { name: g.name };
      if (g.labels !== undefined) metadata.labels = g.labels;
      if (g.annotations !== undefined) metadata.annotations = g.annotations;
      const spec: LlmPool['spec'] = {};
      if (g.minActive !== undefined) spec.minActive = g.minActive;
      if (g.description !== undefined) spec.description = g.description;
      const pool: LlmPool = { apiVersion: API_VERSION, kind: 'LlmPool', metadata, spec };
      return Object.keys(spec).length === 0 && g.omitSpec ? ({ ...pool, spec: undefined } as unknown as LlmPool) : pool;
    });

const keyOf = (r: Resource): string => `${r.kind}/${r.metadata.name}`;

const resourcesArb = (maxLength: number): fc.Arbitrary<Resource[]> =>
  fc.uniqueArray(fc.oneof({ arbitrary: llmArb(LLM_NAMES), weight: 3 }, { arbitrary: poolArb(POOL_NAMES), weight: 1 }), {
    selector: keyOf,
    minLength: 1,
    maxLength,
  });

// --- writing YAML the way people do ---------------------------------------------------------

/**
 * Style choices, drawn once and consumed in order (cycling). All zeros is the plainest file:
 * canonical key order, block maps, plain scalars, no comments; shrinking heads there.
 */
class Style {
  private cursor = 0;
  constructor(
    private readonly choices: readonly number[],
    readonly indent: number,
  ) {}

  pick(n: number): number {
    const value = this.choices.length === 0 ? 0 : (this.choices[this.cursor % this.choices.length] ?? 0);
    this.cursor++;
    return value % n;
  }
}

type Leaf = string | number | boolean;
type Tree = { [key: string]: Tree | Leaf };

const readsBackCache = new Map<string, boolean>();

/** Whether `source` (a key or a value) reads back as exactly `value` in that context. */
function readsBack(source: string, value: Leaf, context: 'block' | 'flow', as: 'key' | 'value'): boolean {
  const text = as === 'key' ? (context === 'block' ? `${source}: x\n` : `{${source}: x}\n`) : context === 'block' ? `k: ${source}\n` : `{k: ${source}}\n`;
  const cacheKey = `${text}\u0000${typeof value}:${String(value)}`;
  const cached = readsBackCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const doc = parseDocument(text, { uniqueKeys: true });
  let data: Map<unknown, unknown> | null;
  try {
    data = doc.toJS({ mapAsMap: true }) as Map<unknown, unknown> | null;
  } catch {
    data = null; // an alias (`*a`) with no anchor
  }
  const entries = data instanceof Map ? [...data.entries()] : [];
  const [readKey, readValue] = entries[0] ?? [];
  // The codec reads mappings as objects: a plain key `1` or `true` is the label "1" or "true".
  const keyAsText = typeof readKey === 'string' || typeof readKey === 'number' || typeof readKey === 'boolean' ? String(readKey) : undefined;
  const ok =
    doc.errors.length === 0 &&
    doc.warnings.length === 0 &&
    entries.length === 1 &&
    (as === 'key' ? keyAsText === String(value) && readValue === 'x' : keyAsText === 'k' && readValue === value);
  readsBackCache.set(cacheKey, ok);
  return ok;
}

function writeKey(key: string, style: Style, context: 'block' | 'flow'): string {
  const plain = readsBack(key, key, context, 'key');
  if (plain && style.pick(6) !== 1) return key;
  return style.pick(2) === 0 || !/^[^'\n]*$/.test(key) ? JSON.stringify(key) : `'${key}'`;
}

function writeScalar(value: Leaf, style: Style, context: 'block' | 'flow'): string {
  if (typeof value !== 'string') return String(value);
  const options: string[] = [];
  if (value !== '' && !/[\r\n]/.test(value) && readsBack(value, value, context, 'value')) options.push(value);
  if (!/[\r\n]/.test(value)) options.push(`'${value.replace(/'/g, "''")}'`);
  options.push(JSON.stringify(value));
  return options[style.pick(options.length)] as string;
}

/** A literal block (`|`, `|-`) for a value over several lines, when its text allows one. */
function canWriteLiteral(value: Leaf): value is string {
  return typeof value === 'string' && value.includes('\n') && !/\r/.test(value) && /^[^\s]/.test(value) && !/\n\n$/.test(value) && !/\n[ \t]+(\n|$)/.test(value);
}

function writeLiteral(value: string, pad: string): string[] {
  const body = value.replace(/\n$/, '');
  return [value.endsWith('\n') ? '|' : '|-', ...body.split('\n').map((line) => (line === '' ? '' : pad + line))];
}

function shuffleKeys(keys: string[], style: Style): string[] {
  const shift = style.pick(keys.length || 1);
  const rotated = [...keys.slice(shift), ...keys.slice(0, shift)];
  return style.pick(2) === 0 ? rotated : rotated.reverse();
}

function writeBlockMap(tree: Tree, style: Style, depth: number, extra: { status?: boolean } = {}): string[] {
  const pad = ' '.repeat(style.indent * depth);
  const keys = shuffleKeys(Object.keys(tree), style);
  // A status block pasted from `get -o yaml --show-status`, anywhere among the top keys.
  if (extra.status === true) keys.splice(style.pick(keys.length + 1), 0, 'status');
  const lines: string[] = [];
  for (const key of keys) {
    if (key === 'status' && extra.status === true) {
      lines.push(...writeStatusBlock(pad + ' '.repeat(style.indent)));
      continue;
    }
    const value = tree[key] as Tree | Leaf;
    if (style.pick(5) === 1) lines.push(`${pad}# about ${key}`);
    const k = writeKey(key, style, 'block');
    if (typeof value === 'object') {
      const form = Object.keys(value).length === 0 ? 1 : style.pick(4);
      if (form === 1) lines.push(`${pad}${k}: ${writeFlowMap(value, style)}${style.pick(4) === 1 ? '  # flow' : ''}`);
      else if (form === 2) lines.push(`${pad}${k}: {`, ...writeMultilineFlow(value, style, pad + ' '.repeat(style.indent)), `${pad}${' '.repeat(style.indent)}}`);
      else lines.push(`${pad}${k}:${style.pick(5) === 1 ? '   # block' : ''}`, ...writeBlockMap(value, style, depth + 1));
    } else if (canWriteLiteral(value) && style.pick(2) === 0) {
      const [header, ...body] = writeLiteral(value, pad + ' '.repeat(style.indent));
      lines.push(`${pad}${k}: ${header as string}`, ...body);
    } else {
      lines.push(`${pad}${k}: ${writeScalar(value, style, 'block')}${style.pick(4) === 1 ? '   # note' : ''}`);
    }
  }
  return lines;
}

function writeFlowMap(tree: Tree, style: Style): string {
  const entries = shuffleKeys(Object.keys(tree), style).map((key) => {
    const value = tree[key] as Tree | Leaf;
    return `${writeKey(key, style, 'flow')}: ${typeof value === 'object' ? writeFlowMap(value, style) : writeScalar(value, style, 'flow')}`;
  });
  if (entries.length === 0) return '{}';
  return style.pick(2) === 0 ? `{ ${entries.join(', ')} }` : `{${entries.join(', ')}}`;
}

/** `key: {` / one entry per line, maybe with comments / `}`. */
function writeMultilineFlow(tree: Tree, style: Style, pad: string): string[] {
  const keys = shuffleKeys(Object.keys(tree), style);
  return keys.map((key, i) => {
    const value = tree[key] as Tree | Leaf;
    const rendered = `${writeKey(key, style, 'flow')}: ${typeof value === 'object' ? writeFlowMap(value, style) : writeScalar(value, style, 'flow')}`;
    const comma = i < keys.length - 1 || style.pick(3) === 1 ? ',' : '';
    return `${pad}${' '.repeat(style.indent)}${rendered}${comma}${comma !== '' && style.pick(4) === 1 ? '  # entry' : ''}`;
  });
}

function writeStatusBlock(pad: string): string[] {
  return [
    'status:',
    `${pad}kind: managed`,
    `${pad}phase: active`,
    `${pad}pool: { key: user-vllm-qwen3-thinking, explicit: true }`,
    `${pad}sync: OutOfSync`,
    `${pad}drift:`,
    `${pad}  - { path: spec.model, declared: a, live: b }`,
    `${pad}reason: "heartbeat 5s ago from agent gpu1"`,
  ];
}

interface FileLayout {
  modeline: boolean;
  leadingMarker: boolean;
  crlf: boolean;
  trailingNewline: boolean;
  indent: number;
  choices: number[];
}

const layoutArb: fc.Arbitrary<FileLayout> = fc.record({
  modeline: fc.boolean(),
  leadingMarker: fc.boolean(),
  crlf: fc.boolean(),
  trailingNewline: fc.boolean().map((b) => !b),
  indent: fc.constantFrom(2, 4),
  choices: fc.array(fc.nat(59), { maxLength: 40 }),
});

const SEPARATORS = ['---\n', '\n---\n', '# between\n---\n', '\n# above the marker\n---\n', '--- # a marker comment\n', '---\n\n', '...\n---\n', '---\n# retired: gpu9, kept for the record\n---\n'];

function toTree(resource: Resource): Tree {
  return JSON.parse(JSON.stringify(resource)) as Tree;
}

/** One file of several documents, written with the layout's choices. */
function writeFile(resources: readonly Resource[], layout: FileLayout): string {
  const style = new Style(layout.choices, layout.indent);
  const eol = layout.crlf ? '\r\n' : '\n';
  let text = layout.modeline ? '# yaml-language-server: $schema=../schema/llm.schema.json\n' : '';
  resources.forEach((resource, i) => {
    text += i === 0 ? (layout.leadingMarker ? '---\n' : '') : (SEPARATORS[style.pick(SEPARATORS.length)] as string);
    if (style.pick(4) === 1) text += `# ${resource.kind} ${resource.metadata.name}: reviewed by pull request\n`;
    text += `${writeBlockMap(toTree(resource), style, 0, { status: style.pick(5) === 1 }).join('\n')}\n`;
  });
  text = text.replace(/\n/g, eol);
  return layout.trailingNewline ? text : text.replace(/\r?\n$/, '');
}

// --- repositories ----------------------------------------------------------------------------

interface Repository {
  files: SourceFile[];
  /** Every resource as generated (explicit defaults and all), in file and document order. */
  resources: Resource[];
}

const repositoryArb: fc.Arbitrary<Repository> = fc
  .record({
    resources: resourcesArb(8),
    placement: fc.array(fc.nat(FILE_PATHS.length - 1), { minLength: 8, maxLength: 8 }),
    layouts: fc.array(layoutArb, { minLength: FILE_PATHS.length, maxLength: FILE_PATHS.length }),
    notes: fc.boolean(),
  })
  .map(({ resources, placement, layouts, notes }) => {
    const files: SourceFile[] = [];
    const ordered: Resource[] = [];
    // In path order, as the codec lists them.
    const paths = FILE_PATHS.map((path, f) => ({ path, f })).sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const { path, f } of paths) {
      const inFile = resources.filter((_, i) => placement[i] === f);
      if (inFile.length === 0) continue;
      files.push({ path, text: writeFile(inFile, layouts[f] as FileLayout) });
      ordered.push(...inFile);
    }
    // A file with only comments declares nothing; apply may append to it.
    if (notes) files.push({ path: 'llms/notes.yaml', text: '# Retired workers are listed in the wiki.\n' });
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { files, resources: ordered };
  });

interface LiveSeed {
  name: string;
  /** Send exactly what the declaration says (no drift), when the name is declared. */
  mirror: boolean;
  type: LlmSpec['type'];
  model: string;
  url: string;
  poolName?: string;
  health: LiveLlm['health'];
  ageMs: number;
  restored: boolean;
  agent: string;
}

const liveArb: fc.Arbitrary<LiveSeed[]> = fc.uniqueArray(
  fc.record(
    {
      name: fc.constantFrom(...LLM_NAMES, 'gpu9-stray'),
      mirror: fc.boolean(),
      type: fc.constantFrom(...LLM_TYPES),
      model: fc.constantFrom(...MODELS),
      url: fc.constantFrom(...URLS),
      poolName: fc.constantFrom(...POOL_NAMES),
      health: fc.constantFrom('ok' as const, 'failing' as const, 'unknown' as const),
      ageMs: fc.constantFrom(5_000, 92_000),
      restored: fc.boolean(),
      agent: fc.constantFrom('gpu1', 'gpu7'),
    },
    { requiredKeys: ['name', 'mirror', 'type', 'model', 'url', 'health', 'ageMs', 'restored', 'agent'] },
  ),
  { selector: (l) => l.name, maxLength: 6 },
);

/** The registrations the reconciler holds: agents for declared names (drifting or not) and strays. */
function materializeLive(seeds: readonly LiveSeed[], declared: DeclaredSet): LiveLlm[] {
  const byName = new Map(declared.llms.map((l) => [l.resource.metadata.name, l.resource]));
  return seeds.map((seed) => {
    const mirrored = seed.mirror ? byName.get(seed.name) : undefined;
    const live: LiveLlm = {
      name: seed.name,
      type: mirrored?.spec.type ?? seed.type,
      model: mirrored?.spec.model ?? seed.model,
      url: mirrored?.spec.url ?? seed.url,
      health: seed.health,
      agentId: seed.agent,
      host: `${seed.agent}.lan`,
      lastHeartbeatAt: NOW_MS - seed.ageMs,
      gpus: [],
    };
    const poolName = mirrored === undefined ? seed.poolName : mirrored.spec.poolName;
    if (poolName !== undefined) live.poolName = poolName;
    if (seed.restored) live.restored = true;
    return live;
  });
}

// --- the reconciler and the CLI, without processes --------------------------------------------

function loadOk(files: SourceFile[]): DeclaredSet {
  const loaded = loadResources(files);
  if (!loaded.ok) throw new Error(`expected the files to load:\n${loaded.diagnostics.map(formatDiagnostic).join('\n')}\n${dump(files)}`);
  return { llms: loaded.llms, pools: loaded.pools };
}

function dump(files: readonly SourceFile[]): string {
  return files.map((f) => `=== ${f.path}\n${f.text}`).join('\n');
}

interface Served {
  views: LlmView[];
  pools: PoolSummary[];
  declared: DeclaredAnswer;
}

/** What the reconciler serves for a declared revision and live registrations, as it travels (JSON). */
function serve(declared: DeclaredSet, live: readonly LiveLlm[]): Served {
  const views = buildViews({ declared: declared.llms, revision: REVISION, live, nowMs: NOW_MS, ttlMs: TTL_MS });
  const pools = summarizePools(views, policiesByKey(declared.pools.map((p) => p.resource)));
  const answer = declaredAnswerOf(REVISION, declared.llms, declared.pools);
  const travelled = JSON.parse(JSON.stringify({ views, pools, answer })) as { views: LlmView[]; pools: PoolSummary[]; answer: unknown };
  return { views: travelled.views, pools: travelled.pools, declared: declaredAnswerSchema.parse(travelled.answer) };
}

/** `mcpctl plan` with no --against: the files against what the reconciler serves (/declared and /llms). */
function planAgainstReconciler(desired: DeclaredSet, served: Served): Plan {
  const base = { llms: served.declared.llms, pools: served.declared.pools, revision: REVISION, label: 'reconciler revision 0123456' };
  return computePlan({ desired, base, live: served.views });
}

function makeWorkspace(files: SourceFile[], declared: DeclaredSet): Workspace {
  return { repo: { root: '/nonexistent', path: 'llms', git: null as never }, files, declared };
}

/** `mcpctl apply -f -` with `text` on stdin, up to the write: the resulting files and what was written. */
function applyText(ws: Workspace, text: string): { files: SourceFile[]; written: string[]; desired: DeclaredSet } {
  const input = loadResources([{ path: '<stdin>', text }]);
  if (!input.ok) throw new Error(`apply input does not load:\n${input.diagnostics.map(formatDiagnostic).join('\n')}\n${text}`);
  const upserts = [...input.llms.map((l) => l.resource), ...input.pools.map((p) => p.resource)];
  const change = prepareChange(ws, { upserts, deletes: [] });
  const byPath = new Map(ws.files.map((f) => [f.path, f.text]));
  for (const write of change.writes) {
    if (write.text === null) byPath.delete(write.path);
    else byPath.set(write.path, write.text);
  }
  const files = [...byPath.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, t]) => ({ path, text: t }));
  return { files, written: change.writes.map((w) => w.path), desired: change.desired };
}

/** The part of a plan that makes it non-empty, for readable failures. */
function pickChanges(plan: Plan): Pick<Plan, 'changes' | 'poolChanges' | 'pools'> {
  return { changes: plan.changes, poolChanges: plan.poolChanges, pools: plan.pools };
}

function expectEmpty(plan: Plan): void {
  expect(pickChanges(plan)).toEqual({ changes: [], poolChanges: [], pools: [] });
  expect(plan.empty).toBe(true);
  expect(plan.summary).toEqual({ add: 0, change: 0, remove: 0 });
}

function mapCanonicalByKey(set: DeclaredSet): Map<string, string> {
  return new Map([...set.llms, ...set.pools].map((l) => [keyOf(l.resource), toCanonicalYaml([l.resource])]));
}

function toCanonical(resource: Resource): Resource {
  return canonicalizeResource(resource.kind === 'LlmPool' ? { ...resource, spec: resource.spec ?? {} } : resource);
}

/** The repository loads as generated: the generators say what they mean to. */
function expectLoadsAsGenerated(repo: Repository): DeclaredSet {
  const declared = loadOk(repo.files);
  const loaded = [...declared.llms, ...declared.pools]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.docIndex - b.docIndex))
    .map((l) => toCanonical(l.resource));
  expect(loaded).toEqual(repo.resources.map(toCanonical));
  return declared;
}

// --- 1. canonical output ---------------------------------------------------------------------

describe('canonical YAML', () => {
  it('canonical → parse is the identity, and canonical of that is the same bytes', () => {
    fc.assert(
      fc.property(resourcesArb(6), (generated) => {
        // As the codec hands them out: a pool's spec is always there, if empty.
        const resources = generated.map((r) => (r.kind === 'LlmPool' ? { ...r, spec: r.spec ?? {} } : r));
        const text = toCanonicalYaml(resources);
        const parse = parseResourceFile('llms/canonical.yaml', text);
        expect(parse.diagnostics.map(formatDiagnostic)).toEqual([]);
        const back = [...parse.llms, ...parse.pools].sort((a, b) => a.docIndex - b.docIndex).map((l) => l.resource);
        expect(back).toEqual(resources.map(toCanonical));
        expect(toCanonicalYaml(back)).toBe(text);
      }),
      { numRuns: runs(200) },
    );
  }, TIMEOUT_MS);

  it('a file and its canonical form load as the same resources: formatting is never a change', () => {
    fc.assert(
      fc.property(repositoryArb, (repo) => {
        const declared = expectLoadsAsGenerated(repo);
        const canonicalFiles = repo.files.map((f) => {
          const parse = parseResourceFile(f.path, f.text);
          const inOrder = [...parse.llms, ...parse.pools].sort((a, b) => a.docIndex - b.docIndex).map((l) => l.resource);
          return { path: f.path, text: toCanonicalYaml(inOrder) };
        });
        const canonical = loadOk(canonicalFiles);
        expect(mapCanonicalByKey(canonical)).toEqual(mapCanonicalByKey(declared));
        expectEmpty(computePlan({ desired: canonical, base: { ...declared, revision: null, label: 'styled' }, live: null }));
        expectEmpty(computePlan({ desired: declared, base: { ...canonical, revision: null, label: 'canonical' }, live: null }));
      }),
      { numRuns: runs(100) },
    );
  }, TIMEOUT_MS);
});

// --- 2. apply -f of get -o yaml --------------------------------------------------------------

describe('apply -f of get -o yaml output', () => {
  it(
    'writes nothing, with or without status, whatever the agents send; the plan against the reconciler is empty',
    async () => {
      await fc.assert(
        fc.asyncProperty(repositoryArb, liveArb, fc.boolean(), async (repo, seeds, withStatus) => {
          const declared = expectLoadsAsGenerated(repo);
          const served = serve(declared, materializeLive(seeds, declared));
          const ws = makeWorkspace(repo.files, declared);

          // Right after a sync, `mcpctl plan` shows nothing, drift and strays notwithstanding.
          expectEmpty(planAgainstReconciler(declared, served));

          const declaredViews = served.views.filter((v) => v.status.source !== null);
          expect(declaredViews.length).toBe(declared.llms.length);
          if (declaredViews.length === 0) return;
          const yaml = await renderViewsYaml(declaredViews, withStatus);
          const applied = applyText(ws, yaml);
          expect(applied.written).toEqual([]);
          expect(applied.files).toEqual(repo.files.map((f) => ({ path: f.path, text: f.text })));
          expectEmpty(computePlan({ desired: applied.desired, base: { ...declared, revision: REVISION, label: 'the working tree' }, live: served.views }));

          // The same, one resource at a time, straight through the editor.
          for (const view of declaredViews) {
            const file = repo.files.find((f) => f.path === view.status.source?.file) as SourceFile;
            const result = replaceResourceInText(file.text, 'Llm', view.metadata.name, resourceOfView(view));
            expect(result).toEqual({ ok: true, text: file.text, changed: false });
          }
        }),
        { numRuns: runs(80) },
      );
    },
    TIMEOUT_MS,
  );

  it(
    '`get llm X -o yaml > llms/X.yaml` over its own file leaves a plan without X',
    async () => {
      await fc.assert(
        fc.asyncProperty(repositoryArb, liveArb, fc.nat(), async (repo, seeds, pickIndex) => {
          const declared = expectLoadsAsGenerated(repo);
          const served = serve(declared, materializeLive(seeds, declared));
          // Only a file that declares X alone can be overwritten with X.
          const alone = declared.llms.filter((l) => declared.llms.filter((o) => o.file === l.file).length === 1 && !declared.pools.some((p) => p.file === l.file));
          fc.pre(alone.length > 0);
          const target = alone[pickIndex % alone.length] as (typeof alone)[number];
          const view = served.views.find((v) => v.metadata.name === target.resource.metadata.name) as LlmView;
          const yaml = await renderViewsYaml([view], false);
          const files = repo.files.map((f) => (f.path === target.file ? { path: f.path, text: yaml } : f));
          expectEmpty(planAgainstReconciler(loadOk(files), served));
        }),
        { numRuns: runs(60) },
      );
    },
    TIMEOUT_MS,
  );
});

// --- 3. after apply, plan is empty -----------------------------------------------------------

/** A change to an existing Llm: each field kept, set, or (for optional ones) removed. */
const patchArb = fc.record(
  {
    labels: fc.option(stringMapArb),
    annotations: fc.option(stringMapArb),
    type: fc.constantFrom(...LLM_TYPES),
    model: fc.constantFrom(...MODELS),
    url: fc.option(fc.constantFrom(...URLS)),
    poolName: fc.option(fc.constantFrom(...POOL_NAMES)),
    source: fc.option(fc.constantFrom('agent' as const, 'static' as const)),
    enabled: fc.option(fc.boolean()),
    env: fc.option(fc.constantFrom(...ENVS)),
  },
  { requiredKeys: [] },
);
type Patch = typeof patchArb extends fc.Arbitrary<infer T> ? T : never;

function patchLlm(llm: Llm, patch: Patch): Llm {
  const f: LlmFields = {
    name: llm.metadata.name,
    type: patch.type ?? llm.spec.type,
    model: patch.model ?? llm.spec.model,
  };
  const choose = <T>(current: T | undefined, next: T | null | undefined): T | undefined => (next === undefined ? current : (next ?? undefined));
  const labels = choose(llm.metadata.labels, patch.labels);
  if (labels !== undefined) f.labels = labels;
  const annotations = choose(llm.metadata.annotations, patch.annotations);
  if (annotations !== undefined) f.annotations = annotations;
  const url = choose(llm.spec.url, patch.url);
  if (url !== undefined) f.url = url;
  const poolName = choose(llm.spec.poolName, patch.poolName);
  if (poolName !== undefined) f.poolName = poolName;
  const source = choose(llm.spec.source, patch.source);
  if (source !== undefined) f.source = source;
  const enabled = choose(llm.spec.enabled, patch.enabled);
  if (enabled !== undefined) f.enabled = enabled;
  const env = choose(llm.spec.apiKeyRef?.env, patch.env);
  if (env !== undefined) f.env = env;
  return buildLlm(f);
}

const editsArb = fc.record({
  patches: fc.array(fc.tuple(fc.nat(), patchArb), { maxLength: 3 }),
  added: fc.array(fc.oneof({ arbitrary: llmArb([...LLM_NAMES, 'vllm-gpu4-qwen3', 'new.one']), weight: 2 }, { arbitrary: poolArb([...POOL_NAMES, 'fresh-pool']), weight: 1 }), {
    maxLength: 3,
  }),
  adopt: fc.boolean(),
  input: layoutArb,
});

describe('after apply', () => {
  it(
    'the files hold exactly what was applied, applying again writes nothing, and the plan against the reconciler is empty',
    () => {
      fc.assert(
        fc.property(repositoryArb, liveArb, editsArb, (repo, seeds, edits) => {
          const declared = expectLoadsAsGenerated(repo);
          const live = materializeLive(seeds, declared);
          const before = serve(declared, live);
          const ws = makeWorkspace(repo.files, declared);

          const upserts = new Map<string, Resource>();
          for (const [index, patch] of edits.patches) {
            const target = declared.llms[index % Math.max(1, declared.llms.length)];
            if (target !== undefined) upserts.set(keyOf(target.resource), patchLlm(target.resource, patch));
          }
          for (const resource of edits.added) upserts.set(keyOf(resource), resource);
          // `get llms -o yaml` of a stray, applied: the live Llm is adopted into Git.
          if (edits.adopt) for (const view of before.views) if (view.status.kind === 'virtual') upserts.set(`Llm/${view.metadata.name}`, resourceOfView(view));
          fc.pre(upserts.size > 0);

          const input = writeFile([...upserts.values()], edits.input);
          const applied = applyText(ws, input);
          const after = loadOk(applied.files);

          // Exactly what was applied, and nothing else moved.
          const expected = mapCanonicalByKey(declared);
          for (const [key, resource] of upserts) expected.set(key, toCanonicalYaml([toCanonical(resource)]));
          expect(mapCanonicalByKey(after)).toEqual(expected);
          // Only the files of changed resources are written, and the files new resources go to.
          const changedKeys = [...expected.keys()].filter((key) => mapCanonicalByKey(declared).get(key) !== expected.get(key)).sort();
          const located = new Map([...declared.llms, ...declared.pools].map((l) => [keyOf(l.resource), l.file]));
          const expectedWrites = new Set(changedKeys.map((key) => located.get(key) ?? `llms/${key.slice(key.indexOf('/') + 1)}.yaml`));
          expect(applied.written).toEqual([...expectedWrites].sort());

          // The plan `apply` printed names exactly the resources whose canonical form changed.
          const shown = computePlan({ desired: applied.desired, base: { ...declared, revision: REVISION, label: 'the working tree' }, live: before.views });
          expect([...shown.changes.map((c) => `Llm/${c.name}`), ...shown.poolChanges.map((c) => `LlmPool/${c.name}`)].sort()).toEqual(changedKeys);

          // Idempotent: the same input again writes nothing.
          expect(applyText(makeWorkspace(applied.files, after), input).written).toEqual([]);

          // The reconciler syncs the new revision; `mcpctl plan` then shows nothing.
          expectEmpty(planAgainstReconciler(after, serve(after, live)));
        }),
        { numRuns: runs(80) },
      );
    },
    TIMEOUT_MS,
  );
});

// --- counterexamples these properties found, kept as plain examples ----------------------------

describe('regressions', () => {
  it('an LlmPool with labels or annotations: the plan against the reconciler serving it is empty', () => {
    const files = [
      {
        path: 'llms/pool.yaml',
        text: 'apiVersion: mcpctl/v1\nkind: LlmPool\nmetadata:\n  name: user-vllm-qwen3-thinking\n  labels:\n    team: research\n  annotations:\n    owner: lab\nspec:\n  minActive: 1\n',
      },
    ];
    const declared = loadOk(files);
    expectEmpty(planAgainstReconciler(declared, serve(declared, [])));
  });

  it('apply edits a document whose label key YAML reads as a number, at the end of a file without a final newline', () => {
    // Both removals want the same line break, so the edit goes through yaml's Document API, which
    // matches keys by value: the label `1` is the number 1 there, not the text "1".
    const text = 'apiVersion: mcpctl/v1\nkind: Llm\nspec:\n  type: vllm\n  model: m\nmetadata:\n  name: a\n  labels:\n    1: x\n  annotations:\n    team: x';
    const next: Llm = { apiVersion: API_VERSION, kind: 'Llm', metadata: { name: 'a', labels: { team: 'x' } }, spec: { type: 'vllm', model: 'm' } };
    expect(replaceResourceInText(text, 'Llm', 'a', next)).toEqual({
      ok: true,
      changed: true,
      text: 'apiVersion: mcpctl/v1\nkind: Llm\nspec:\n  type: vllm\n  model: m\nmetadata:\n  name: a\n  labels:\n    team: x',
    });
  });
});
