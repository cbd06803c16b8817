// The plan engine (DESIGN §5, §7): desired resources against the declared base and the live
// state, as one plain Plan value. That value is `mcpctl plan -o json`, the reconciler's
// `GET /api/v1/plan`, the input of every renderer, the TUI and the exit code. Pure and
// synchronous: no clock, no fs; the live views already carry their ages in words.
import type { Located, LocatedLlm, LocatedPool } from './codec.js';
import { driftOf } from './effective.js';
import { compareNames, poolKeyOf, policiesByKey } from './pools.js';
import { canonicalizeLlm, canonicalizePool, llmEnabledOf, llmSourceOf, type Llm, type Resource } from './resources.js';
import type { Drift, LlmView } from './views.js';

export const PLAN_FORMAT_VERSION = 1;

export interface DeclaredSet {
  llms: LocatedLlm[];
  pools: LocatedPool[];
}

export interface PlanInput {
  /** The working tree (CLI) or the served revision (reconciler). `label` defaults to "working tree". */
  desired: DeclaredSet & { label?: string };
  /** What is declared now: the reconciler's revision or the `--against` ref. */
  base: DeclaredSet & { revision: string | null; label: string };
  /** The reconciler's current effective views; null when offline. */
  live: LlmView[] | null;
}

export type PlanAction = 'create' | 'update' | 'delete';
/** A leaf value of a canonical resource; null when the field is absent on that side. */
export type PlanValue = string | number | boolean | null;

export interface FieldChange {
  /** Leaf dotted path on the canonical resource: `spec.poolName`, `metadata.labels.team`. */
  path: string;
  /** An absent field that has a default (`spec.enabled`, `spec.source`, `spec.minActive`) shows the default. */
  before: PlanValue;
  after: PlanValue;
  /**
   * In words, where or why (DESIGN §7): `declared in llms/pool.yaml:14`; `removed from llms/a.yaml:5`
   * (its nearest declared parent); `declared in llms/a.yaml:6 in reconciler revision 1a2b3c4` for a deletion.
   */
  reason: string;
  /** Where the desired side declares the field (its nearest declared parent when removed); the base side for deletions. */
  file: string;
  line: number;
}

export interface LlmChange {
  action: PlanAction;
  name: string;
  /** `added in llms/a.yaml:3`, `changed in llms/a.yaml:3`, `removed: declared in llms/a.yaml:3 in reconciler revision 1a2b3c4`. */
  reason: string;
  /** The desired document; the base document for a deletion. */
  file: string;
  line: number;
  fields: FieldChange[];
  /** Pool key before and after; null on the side where the Llm does not exist. */
  poolBefore: string | null;
  poolAfter: string | null;
}

/** An LlmPool resource added, changed or removed (counted apart from Llms). */
export interface LlmPoolChange {
  action: PlanAction;
  name: string;
  /** Worded as an Llm change's reason. */
  reason: string;
  file: string;
  line: number;
  fields: FieldChange[];
}

/** A pool whose member set changes: declared Llms plus undeclared (virtual) live ones. */
export interface PoolSizeChange {
  key: string;
  sizeBefore: number;
  sizeAfter: number;
  added: string[];
  removed: string[];
  /**
   * What moves the members, added ones first, at most MEMBER_CAUSES of them:
   * `w3 added (llms/p.yaml:12)`, `w2 moved to pool other (llms/p.yaml:9)`, `w1 deleted (llms/p.yaml:1)`.
   */
  reason: string;
  /** Where the first of those causes is declared (the base side for a deleted Llm); null when unknown. */
  file: string | null;
  line: number | null;
}

export const FINDING_TYPES = ['pending', 'stale', 'unhealthy', 'unmanaged', 'drift'] as const;
export type FindingType = (typeof FINDING_TYPES)[number];

export interface Finding {
  type: FindingType;
  name: string;
  /** The Llm's pool key once the desired state applies. */
  pool: string;
  /** In words, starting with the type: `stale: no heartbeat for 92s`. */
  reason: string;
  /** Where the desired side declares it (the drifting field for drift); null for an unmanaged Llm. */
  file: string | null;
  line: number | null;
  /** The drifting field, for drift only. */
  path?: string;
}

export interface PolicyViolation {
  pool: string;
  /** Active members now. */
  activeBefore: number;
  /** Members active now that are still in this pool and enabled after the change. */
  activeAfter: number;
  minActiveBefore: number;
  /** The floor after the change (desired LlmPool; 0 without one). */
  minActive: number;
  reason: string;
  /** Llms active now that the change takes out of this pool, sorted. */
  causes: string[];
  /** The desired LlmPool document. */
  file: string | null;
  line: number | null;
}

export interface PolicyCheck {
  checked: boolean;
  skippedReason?: string;
  violations: PolicyViolation[];
}

export interface Plan {
  formatVersion: typeof PLAN_FORMAT_VERSION;
  desired: { label: string };
  base: { label: string; revision: string | null };
  /** True when no live state was available (findings empty, policy skipped). */
  offline: boolean;
  /** Llms only. */
  summary: { add: number; change: number; remove: number };
  /** No Llm and no LlmPool changes (live findings do not count). */
  empty: boolean;
  changes: LlmChange[];
  poolChanges: LlmPoolChange[];
  pools: PoolSizeChange[];
  findings: Finding[];
  policy: PolicyCheck;
}

export const DEFAULT_DESIRED_LABEL = 'working tree';
export const OFFLINE_POLICY_REASON = 'no live state: offline plan (--against without a reachable reconciler)';

export function computePlan(input: PlanInput): Plan {
  const baseLabel = input.base.label;
  const changes = diffResources(input.base.llms, input.desired.llms, canonicalizeLlm, baseLabel).map(
    (c): LlmChange => ({
      action: c.action,
      name: c.name,
      reason: c.reason,
      file: c.file,
      line: c.line,
      fields: c.fields,
      poolBefore: c.before === undefined ? null : llmPoolKey(c.before.resource),
      poolAfter: c.after === undefined ? null : llmPoolKey(c.after.resource),
    }),
  );
  const poolChanges = diffResources(input.base.pools, input.desired.pools, canonicalizePool, baseLabel).map(
    (c): LlmPoolChange => ({ action: c.action, name: c.name, reason: c.reason, file: c.file, line: c.line, fields: c.fields }),
  );
  // Every resource counts, Llms and LlmPool documents alike (Terraform counts every resource).
  const summary = { add: 0, change: 0, remove: 0 };
  for (const c of [...changes, ...poolChanges]) {
    if (c.action === 'create') summary.add++;
    else if (c.action === 'update') summary.change++;
    else summary.remove++;
  }
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    desired: { label: input.desired.label ?? DEFAULT_DESIRED_LABEL },
    base: { label: input.base.label, revision: input.base.revision },
    offline: input.live === null,
    summary,
    empty: changes.length === 0 && poolChanges.length === 0,
    changes,
    poolChanges,
    pools: diffPoolMembers(input),
    findings: input.live === null ? [] : findLive(input.desired, input.live),
    policy: input.live === null ? { checked: false, skippedReason: OFFLINE_POLICY_REASON, violations: [] } : checkPolicy(input, input.live),
  };
}

/**
 * With --detailed-exitcode, 4 when a pool's minActive is violated (it wins), 2 when resources
 * (Llms or LlmPool documents) are added, changed or removed; live findings alone never count.
 */
export function planExitCode(plan: Plan, detailed: boolean): 0 | 2 | 4 {
  if (!detailed) return 0;
  if (plan.policy.violations.length > 0) return 4;
  const { add, change, remove } = plan.summary;
  return add + change + remove > 0 ? 2 : 0;
}

// ---------------------------------------------------------------------------------------------
// Resource changes

interface ResourceDiff<T extends Resource> {
  action: PlanAction;
  name: string;
  reason: string;
  file: string;
  line: number;
  fields: FieldChange[];
  before: Located<T> | undefined;
  after: Located<T> | undefined;
}

// Fields that canonical output omits when they hold their default; an update shows the default
// rather than "absent", so `enabled: false → true` reads as it behaves.
const FIELD_DEFAULTS: Readonly<Record<string, PlanValue>> = { 'spec.enabled': true, 'spec.source': 'agent', 'spec.minActive': 0 };

const FIELD_ORDER = [
  'metadata.labels.',
  'metadata.annotations.',
  'spec.type',
  'spec.model',
  'spec.url',
  'spec.poolName',
  'spec.source',
  'spec.enabled',
  'spec.apiKeyRef.',
  'spec.minActive',
  'spec.description',
];

/** Compares canonical resources by name; moving a document between files is not a change. */
function diffResources<T extends Resource>(
  base: readonly Located<T>[],
  desired: readonly Located<T>[],
  canonicalize: (r: T) => T,
  baseLabel: string,
): ResourceDiff<T>[] {
  const baseByName = new Map(base.map((l) => [l.resource.metadata.name, l]));
  const desiredByName = new Map(desired.map((l) => [l.resource.metadata.name, l]));
  const names = [...new Set([...baseByName.keys(), ...desiredByName.keys()])].sort(compareNames);
  const out: ResourceDiff<T>[] = [];
  for (const name of names) {
    const before = baseByName.get(name);
    const after = desiredByName.get(name);
    const beforeLeaves = before === undefined ? new Map<string, PlanValue>() : leavesOf(canonicalize(before.resource));
    const afterLeaves = after === undefined ? new Map<string, PlanValue>() : leavesOf(canonicalize(after.resource));
    // Most resources of a large revision are unchanged: say so without sorting their fields.
    if (before !== undefined && after !== undefined && sameLeaves(beforeLeaves, afterLeaves)) continue;
    const paths = [...new Set([...beforeLeaves.keys(), ...afterLeaves.keys()])].sort(compareFieldPaths);
    const fields: FieldChange[] = [];
    for (const path of paths) {
      const b = beforeLeaves.get(path);
      const a = afterLeaves.get(path);
      if (b === a) continue;
      const defaulted = before !== undefined && after !== undefined ? FIELD_DEFAULTS[path] : undefined;
      // Deleted fields are placed on the base side; everything else where the desired side has it.
      const where = after ?? before;
      if (where === undefined) continue;
      const line = lineOf(where, path);
      const at = locationOf(where.file, line);
      let reason: string;
      if (after === undefined) reason = declaredInBase(at, baseLabel);
      // An explicit default (`enabled: true`) is declared though canonical output drops it.
      else if (a !== undefined || where.fieldLines[path] !== undefined) reason = `declared in ${at}`;
      // Gone from the desired document: the line is its nearest declared parent.
      else reason = defaulted === undefined ? `removed from ${at}` : `removed from ${at}, default ${String(defaulted)}`;
      fields.push({ path, before: b ?? defaulted ?? null, after: a ?? defaulted ?? null, reason, file: where.file, line });
    }
    if (before !== undefined && after !== undefined && fields.length === 0) continue;
    const action: PlanAction = before === undefined ? 'create' : after === undefined ? 'delete' : 'update';
    const doc = (after ?? before) as Located<T>;
    const at = locationOf(doc.file, doc.line);
    const reason = action === 'create' ? `added in ${at}` : action === 'update' ? `changed in ${at}` : `removed: ${declaredInBase(at, baseLabel)}`;
    out.push({ action, name, reason, file: doc.file, line: doc.line, fields, before, after });
  }
  return out;
}

/** `file:line`, the file alone without a line, or '' when a base rebuilt from served views does not know it. */
function locationOf(file: string, line: number): string {
  if (file === '') return '';
  return line === 0 ? file : `${file}:${line}`;
}

/** `declared in llms/a.yaml:3 in reconciler revision 1a2b3c4`, or `declared in reconciler revision 1a2b3c4` when the place is unknown. */
function declaredInBase(at: string, baseLabel: string): string {
  return at === '' ? `declared in ${baseLabel}` : `declared in ${at} in ${baseLabel}`;
}

/** Leaf values of a canonical resource by dotted path; the name is the identity, not a field. */
function leavesOf(resource: Resource): Map<string, PlanValue> {
  const out = new Map<string, PlanValue>();
  const walk = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out.set(path, value);
    } else {
      out.set(path, value === undefined ? null : JSON.stringify(value));
    }
  };
  walk(resource.metadata, 'metadata');
  walk(resource.spec, 'spec');
  out.delete('metadata.name');
  return out;
}

function sameLeaves(a: ReadonlyMap<string, PlanValue>, b: ReadonlyMap<string, PlanValue>): boolean {
  if (a.size !== b.size) return false;
  for (const [path, value] of a) if (b.get(path) !== value) return false;
  return true;
}

function compareFieldPaths(a: string, b: string): number {
  return rankOfField(a) - rankOfField(b) || compareNames(a, b);
}

function rankOfField(path: string): number {
  const i = FIELD_ORDER.findIndex((prefix) => (prefix.endsWith('.') ? path.startsWith(prefix) : path === prefix));
  return i === -1 ? FIELD_ORDER.length : i;
}

/** The line declaring `path`, else its nearest declared parent, else the document. */
function lineOf(located: Located<Resource>, path: string): number {
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const line = located.fieldLines[parts.slice(0, n).join('.')];
    if (line !== undefined) return line;
  }
  return located.line;
}

function llmPoolKey(llm: Llm): string {
  return poolKeyOf({ name: llm.metadata.name, poolName: llm.spec.poolName });
}

// ---------------------------------------------------------------------------------------------
// Pool membership

function isVirtual(view: LlmView): boolean {
  return view.status.kind === 'virtual';
}

interface Membership {
  /** Pool key → member names. */
  byKey: Map<string, Set<string>>;
  /** Member name → its pool key. */
  keyOf: Map<string, string>;
}

/** The declared Llms plus the live-only ones they do not declare, by pool. */
function membershipOf(declared: readonly LocatedLlm[], live: readonly LlmView[] | null): Membership {
  const byKey = new Map<string, Set<string>>();
  const keyOf = new Map<string, string>();
  const add = (key: string, name: string): void => {
    let set = byKey.get(key);
    if (set === undefined) byKey.set(key, (set = new Set()));
    set.add(name);
    keyOf.set(name, key);
  };
  for (const l of declared) add(llmPoolKey(l.resource), l.resource.metadata.name);
  for (const view of live ?? []) if (isVirtual(view) && !keyOf.has(view.metadata.name)) add(view.status.pool.key, view.metadata.name);
  return { byKey, keyOf };
}

/** How many member causes a pool's reason names before `and N more`. */
const MEMBER_CAUSES = 3;

interface MemberCause {
  text: string;
  file: string | null;
  line: number | null;
}

function diffPoolMembers(input: PlanInput): PoolSizeChange[] {
  const before = membershipOf(input.base.llms, input.live);
  const after = membershipOf(input.desired.llms, input.live);
  const baseByName = new Map(input.base.llms.map((l) => [l.resource.metadata.name, l]));
  const desiredByName = new Map(input.desired.llms.map((l) => [l.resource.metadata.name, l]));
  const keys = [...new Set([...before.byKey.keys(), ...after.byKey.keys()])].sort(compareNames);
  const out: PoolSizeChange[] = [];
  for (const key of keys) {
    const b = before.byKey.get(key) ?? new Set<string>();
    const a = after.byKey.get(key) ?? new Set<string>();
    const added = [...a].filter((n) => !b.has(n)).sort(compareNames);
    const removed = [...b].filter((n) => !a.has(n)).sort(compareNames);
    if (added.length === 0 && removed.length === 0) continue;
    const causes = [...added, ...removed].slice(0, MEMBER_CAUSES).map((name) =>
      a.has(name)
        ? describeJoining(name, desiredByName.get(name), baseByName.get(name), before.keyOf.get(name))
        : describeLeavingPool(name, desiredByName.get(name), baseByName.get(name), after.keyOf.get(name)),
    );
    const more = added.length + removed.length - causes.length;
    const reason = causes.map((c) => c.text).join(', ') + (more > 0 ? `, and ${more} more` : '');
    const first = causes[0] as MemberCause;
    out.push({ key, sizeBefore: b.size, sizeAfter: a.size, added, removed, reason, file: first.file, line: first.line });
  }
  return out;
}

/** Why `name` joins a pool: created, moved from another pool, or undeclared but still published there. */
function describeJoining(name: string, desired: LocatedLlm | undefined, base: LocatedLlm | undefined, keyBefore: string | undefined): MemberCause {
  if (desired === undefined) return causeAt(`${name} deleted`, base, undefined, ', still published by its agent');
  if (keyBefore === undefined) return causeAt(`${name} added`, desired);
  return causeAt(`${name} moved from pool ${keyBefore}`, desired, 'spec.poolName');
}

/** Why `name` leaves a pool: deleted, or moved to another pool. */
function describeLeavingPool(name: string, desired: LocatedLlm | undefined, base: LocatedLlm | undefined, keyAfter: string | undefined): MemberCause {
  if (desired !== undefined) return causeAt(`${name} moved to pool ${keyAfter ?? llmPoolKey(desired.resource)}`, desired, 'spec.poolName');
  // Undeclared but still published elsewhere: its agent names another pool.
  const still = keyAfter === undefined ? '' : `, still published by its agent in pool ${keyAfter}`;
  return causeAt(`${name} deleted`, base, undefined, still);
}

/** `w2 moved to pool b (llms/w.yaml:7)`: the place of `path` (the document without one) on `located`. */
function causeAt(what: string, located: LocatedLlm | undefined, path?: string, after = ''): MemberCause {
  if (located === undefined) return { text: `${what}${after}`, file: null, line: null };
  const line = path === undefined ? located.line : lineOf(located, path);
  const at = locationOf(located.file, line);
  if (at === '') return { text: `${what}${after}`, file: null, line: null };
  return { text: `${what} (${at})${after}`, file: located.file, line };
}

// ---------------------------------------------------------------------------------------------
// Live findings

// What an Llm is comes before how it fares: unmanaged or pending, then its phase, then drift.
const FINDING_RANK: Record<FindingType, number> = { unmanaged: 0, pending: 1, stale: 2, unhealthy: 3, drift: 4 };

/** Findings for the desired Llms and the virtual ones, as they will stand once the desired state applies. */
function findLive(desired: DeclaredSet, live: readonly LlmView[]): Finding[] {
  const liveByName = new Map(live.map((v) => [v.metadata.name, v]));
  const desiredNames = new Set(desired.llms.map((l) => l.resource.metadata.name));
  const out: Finding[] = [];
  for (const declared of desired.llms) {
    const { resource } = declared;
    const name = resource.metadata.name;
    const pool = llmPoolKey(resource);
    const view = liveByName.get(name);
    const at = { file: declared.file, line: declared.line };
    const isStatic = llmSourceOf(resource.spec) === 'static';
    if (view === undefined || view.status.kind === 'declared') {
      // A drained Llm without an agent is not waiting for anything.
      if (!isStatic && llmEnabledOf(resource.spec)) {
        out.push({ type: 'pending', name, pool, reason: `pending: declared in ${declared.file}, no agent yet`, ...at });
      }
      continue;
    }
    out.push(...phaseFindings(view, pool, at));
    if (isStatic || view.status.agent === null) continue;
    for (const drift of driftOf(resource.spec, liveSpecOf(view, resource))) {
      out.push({
        type: 'drift',
        name,
        pool,
        reason: describeDrift(drift),
        file: declared.file,
        line: lineOf(declared, drift.path),
        path: drift.path,
      });
    }
  }
  for (const view of live) {
    if (!isVirtual(view) || desiredNames.has(view.metadata.name)) continue;
    const name = view.metadata.name;
    const pool = view.status.pool.key;
    const agent = view.status.agent?.id ?? 'unknown';
    out.push({ type: 'unmanaged', name, pool, reason: `unmanaged: published by agent ${agent}, not declared`, file: null, line: null });
    out.push(...phaseFindings(view, pool, { file: null, line: null }));
  }
  return out.sort(
    (a, b) => compareNames(a.name, b.name) || FINDING_RANK[a.type] - FINDING_RANK[b.type] || compareNames(a.path ?? '', b.path ?? ''),
  );
}

function phaseFindings(view: LlmView, pool: string, at: { file: string | null; line: number | null }): Finding[] {
  const { phase, reason } = view.status;
  if (phase !== 'stale' && phase !== 'unhealthy') return [];
  return [{ type: phase, name: view.metadata.name, pool, reason: `${phase}: ${reason}`, ...at }];
}

/**
 * What the agent sends, recovered from the view: a managed view carries the declared (base)
 * spec plus the drift entries where the agent differs, so drift can be measured against the
 * desired spec instead (a change that fixes drift shows none). A virtual view is what the agent sends.
 */
function liveSpecOf(view: LlmView, desired: Llm): { type: Llm['spec']['type']; model: string; url: string; poolName: string | undefined } {
  const sent = (path: string, declared: string | undefined): string | undefined => {
    const d = view.status.drift.find((x) => x.path === path);
    if (d === undefined) return declared;
    return typeof d.live === 'string' ? d.live : undefined;
  };
  const type = sent('spec.type', view.spec.type);
  // driftOf compares the url only when the base declares one; when the agent's url is unknown, no drift can be claimed.
  const url = sent('spec.url', view.spec.url) ?? desired.spec.url ?? '';
  return {
    type: isLlmType(type) ? type : view.spec.type,
    model: sent('spec.model', view.spec.model) ?? view.spec.model,
    url,
    poolName: sent('spec.poolName', view.spec.poolName),
  };
}

function isLlmType(value: string | undefined): value is Llm['spec']['type'] {
  return value === 'vllm' || value === 'openai' || value === 'ollama' || value === 'llamacpp' || value === 'tgi' || value === 'anthropic' || value === 'other';
}

/** `drift: agent sends poolName x, Git says y`. */
function describeDrift(drift: Drift): string {
  const field = drift.path.replace(/^spec\./, '');
  const sends = drift.live === null ? `agent sends no ${field}` : `agent sends ${field} ${String(drift.live)}`;
  const says = drift.declared === null ? 'Git sets none' : `Git says ${String(drift.declared)}`;
  return `drift: ${sends}, ${says}`;
}

// ---------------------------------------------------------------------------------------------
// Policy (PodDisruptionBudget-style, DESIGN §7)

/**
 * A pool violates its policy when, after the change, fewer of its members that are active now
 * remain in it (declared and enabled, or virtual) than its minActive, and the change is what
 * makes it so: it takes active members out, or raises minActive above the active count. A pool
 * already Degraded that the change does not make worse passes. A brand-new pool (no member and
 * no LlmPool before) passes too: nothing serves from it yet, so its floor disrupts nothing.
 */
export function checkPolicy(input: Omit<PlanInput, 'live'>, live: readonly LlmView[]): PolicyCheck {
  const floorsBefore = policiesByKey(input.base.pools.map((p) => p.resource));
  const poolsAfter = new Map(input.desired.pools.map((p) => [p.resource.metadata.name, p]));
  const floorsAfter = policiesByKey(input.desired.pools.map((p) => p.resource));
  const desiredByName = new Map(input.desired.llms.map((l) => [l.resource.metadata.name, l]));
  const baseByName = new Map(input.base.llms.map((l) => [l.resource.metadata.name, l]));
  const membersBefore = membershipOf(input.base.llms, live).byKey;

  // Where each live Llm will be once the desired state applies: its pool key, or null when it
  // leaves every pool's active count (deleted or drained).
  const keyAfter = (view: LlmView): string | null => {
    const declared = desiredByName.get(view.metadata.name);
    if (declared !== undefined) return llmEnabledOf(declared.resource.spec) ? llmPoolKey(declared.resource) : null;
    return isVirtual(view) ? view.status.pool.key : null;
  };

  // Active members now and after, grouped by pool key in one pass over the live views: a
  // filter per pool would cost pools × views (minutes for 10,000 Llms in 1,500 pools).
  const activeNowByKey = new Map<string, LlmView[]>();
  const activeAfterByKey = new Map<string, number>();
  const keyAfterOf = new Map<LlmView, string | null>();
  for (const view of live) {
    if (view.status.phase !== 'active') continue;
    const now = activeNowByKey.get(view.status.pool.key);
    if (now === undefined) activeNowByKey.set(view.status.pool.key, [view]);
    else now.push(view);
    const after = keyAfter(view);
    keyAfterOf.set(view, after);
    if (after !== null) activeAfterByKey.set(after, (activeAfterByKey.get(after) ?? 0) + 1);
  }

  const violations: PolicyViolation[] = [];
  for (const [key, floor] of [...floorsAfter].sort(([a], [b]) => compareNames(a, b))) {
    const minActive = floor.minActive;
    if (minActive === 0) continue;
    const minActiveBefore = floorsBefore.get(key)?.minActive ?? 0;
    const activeNow = activeNowByKey.get(key) ?? [];
    const activeBefore = activeNow.length;
    const activeAfter = activeAfterByKey.get(key) ?? 0;
    if (activeAfter >= minActive) continue;
    const isNewPool = !floorsBefore.has(key) && (membersBefore.get(key)?.size ?? 0) === 0;
    const raised = minActive > minActiveBefore && minActive > activeBefore && !isNewPool;
    if (!(activeAfter < activeBefore || raised)) continue;

    const leaving = activeNow.filter((v) => keyAfterOf.get(v) !== key).sort((a, b) => compareNames(a.metadata.name, b.metadata.name));
    const parts = leaving.map((v) => describeLeaving(v.metadata.name, desiredByName.get(v.metadata.name), baseByName.get(v.metadata.name)));
    const poolDoc = poolsAfter.get(key);
    if (raised) {
      const where = poolDoc === undefined ? '' : ` (${poolDoc.file}:${lineOf(poolDoc, 'spec.minActive')})`;
      parts.push(`minActive raised from ${minActiveBefore} to ${minActive}${where}`);
    }
    violations.push({
      pool: key,
      activeBefore,
      activeAfter,
      minActiveBefore,
      minActive,
      reason: `${activeAfter} active after the change (${activeBefore} now), below minActive ${minActive}: ${parts.join(', ')}`,
      causes: leaving.map((v) => v.metadata.name),
      file: poolDoc?.file ?? null,
      line: poolDoc?.line ?? null,
    });
  }
  return { checked: true, violations };
}

function describeLeaving(name: string, desired: LocatedLlm | undefined, base: LocatedLlm | undefined): string {
  if (desired === undefined) {
    return base === undefined ? `${name} no longer declared` : causeAt(`${name} deleted`, base).text;
  }
  if (!llmEnabledOf(desired.resource.spec)) return causeAt(`${name} drained`, desired, 'spec.enabled').text;
  return causeAt(`${name} moved to pool ${llmPoolKey(desired.resource)}`, desired, 'spec.poolName').text;
}

