// The lease rules (DESIGN §3) as pure transitions: register, heartbeat, expire, GC and
// takeover each take the current record(s), the input and the time, and return the next record
// and what changed. No store, no clock, no I/O: leases.ts reads records from its cache, calls
// these, and hands what they return to the store, which decides conflicts by compare-and-set.
import { isSameLoad, type DesiredForAgent, type Gpu, type Heartbeat, type Registration, type RegisteredLlm } from '../schema/agent-protocol.js';
import { formatAge } from '../schema/effective.js';
import { llmEnabledOf, llmSourceOf } from '../schema/resources.js';
import type { DeclaredSnapshot } from './declared-index.js';
import type { LeaseRecord, LoadUpdate, StoredLlm } from './lease-store.js';

export type UnmanagedMode = 'admit' | 'reject';

export interface Rejection {
  name: string;
  reason: string;
}

/** A record as the cache holds it: with its store revision and whether it was restored. */
export interface HeldLease {
  record: LeaseRecord;
  modRevision: number;
  /** Loaded when this reconciler started and not heard from since: stale whatever the clock says. */
  restored: boolean;
}

/** What the rules read besides the records themselves. */
export interface RuleContext {
  nowMs: number;
  ttlMs: number;
  unmanaged: UnmanagedMode;
  snapshot: DeclaredSnapshot;
  /** The lease that holds `name` now, if any. */
  holderOf: (name: string) => HeldLease | undefined;
}

/** A lease whose names another agent asks for, and which of them. */
export interface Takeover {
  holder: HeldLease;
  names: string[];
}

export interface RegisterOutcome {
  record: LeaseRecord;
  rejected: Rejection[];
  /** Names to take from other leases before `record` is written (see takeover). */
  takeovers: Takeover[];
}

/** How a heartbeat reaches the store: `touch` the time only, a batched `put`, or a `durable` put. */
export type HeartbeatWrite = 'touch' | 'put' | 'durable';

export interface HeartbeatOutcome {
  /** The next record; for a `touch` the current one, unchanged (the store moves the time). */
  record: LeaseRecord;
  write: HeartbeatWrite;
  /** The beat's GPUs when they differ from the record's (a `touch` carries them); else undefined. */
  gpus: Gpu[] | undefined;
  /** For a `touch`: the entries whose load alone moved (telemetry, like GPU usage); else undefined. */
  loads: LoadUpdate[] | undefined;
  rejected: Rejection[];
  takeovers: Takeover[];
}

export type LeaseFate = 'live' | 'stale' | 'collect';

const NO_TAKEOVERS: Takeover[] = [];

/** Whether a lease no longer counts: restored and not heard from, or past the TTL. */
export function isLeaseStale(held: HeldLease, nowMs: number, ttlMs: number): boolean {
  return held.restored || nowMs - held.record.lastHeartbeatAt > ttlMs;
}

/** Expire and GC: what the clock alone makes of a lease. */
export function fateOf(held: HeldLease, nowMs: number, ttlMs: number, gcMs: number): LeaseFate {
  if (nowMs - held.record.lastHeartbeatAt > gcMs) return 'collect';
  return isLeaseStale(held, nowMs, ttlMs) ? 'stale' : 'live';
}

/** When fateOf can next change for this lease (the earliest time a sweep has work). */
export function nextFateAt(held: HeldLease, nowMs: number, ttlMs: number, gcMs: number): number {
  const at = held.record.lastHeartbeatAt;
  return at + (isLeaseStale(held, nowMs, ttlMs) ? gcMs : ttlMs) + 1;
}

/**
 * A new lease for the registering agent, replacing its previous one. Names held by another
 * agent under a live lease are refused; names held under a stale one are taken over.
 */
export function register(previous: HeldLease | undefined, registration: Registration, leaseId: string, ctx: RuleContext): RegisterOutcome {
  const llms: StoredLlm[] = [];
  const taken = new Set<string>();
  const rejected: Rejection[] = [];
  const takeovers = new Map<string, Takeover>();
  for (const entry of registration.llms) {
    if (taken.has(entry.name)) {
      rejected.push({ name: entry.name, reason: 'listed more than once in this registration' });
      continue;
    }
    const refusal = refusalOf(entry.name, registration.agentId, ctx);
    if (refusal !== null) {
      rejected.push({ name: entry.name, reason: refusal });
      continue;
    }
    const holder = ctx.holderOf(entry.name);
    if (holder !== undefined && holder.record.agentId !== registration.agentId) addTakeover(takeovers, holder, entry.name);
    llms.push(storedOf(entry));
    taken.add(entry.name);
  }
  const record: LeaseRecord = {
    agentId: registration.agentId,
    leaseId,
    host: registration.host,
    version: registration.version,
    gpus: registration.gpus,
    lastHeartbeatAt: ctx.nowMs,
    llms,
  };
  return { record, rejected, takeovers: [...takeovers.values()] };
}

/**
 * A heartbeat under the current lease (the caller has checked the leaseId). A beat that changes
 * nothing allocates little beyond its outcome: it is a `touch`, and the record stays as it is.
 */
export function heartbeat(held: HeldLease, beat: Heartbeat, ctx: RuleContext): HeartbeatOutcome {
  const current = held.record;
  // Usage figures change on every beat: telemetry, kept, but no reason for a put.
  const gpus = beat.gpus !== undefined && !isSameGpus(current.gpus, beat.gpus) ? beat.gpus : undefined;
  const rejected: Rejection[] = [];
  // Copied on the first change only: a beat that changes nothing allocates no entries.
  let llms: StoredLlm[] | null = null;
  let takeovers: Map<string, Takeover> | null = null;
  // Entries whose load alone moved: telemetry for a touch, or folded into the put below.
  let loads: LoadUpdate[] | null = null;
  for (const entry of beat.llms) {
    const entries: StoredLlm[] = llms ?? current.llms;
    let at = -1;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]?.name === entry.name) {
        at = i;
        break;
      }
    }
    const before = at < 0 ? undefined : entries[at];
    let next: StoredLlm;
    if (isFullEntry(entry)) {
      next = storedOf(entry);
      if (before !== undefined) {
        if (isSameEntry(before, next) && isSameLoad(before.load, next.load)) continue;
      } else {
        const refusal = refusalOf(entry.name, current.agentId, ctx);
        if (refusal !== null) {
          rejected.push({ name: entry.name, reason: refusal });
          continue;
        }
        const holder = ctx.holderOf(entry.name);
        if (holder !== undefined && holder.record.agentId !== current.agentId) addTakeover((takeovers ??= new Map()), holder, entry.name);
      }
    } else {
      if (before === undefined) {
        rejected.push({ name: entry.name, reason: 'not registered under this lease: send the full entry or register again' });
        continue;
      }
      const load = entry.load;
      const sameLoad = load === undefined || isSameLoad(before.load, load ?? undefined);
      if (before.health === entry.health && before.healthMessage === entry.healthMessage) {
        if (!sameLoad) (loads ??= []).push({ name: entry.name, load: load ?? undefined });
        continue;
      }
      next = { ...before, health: entry.health };
      if (entry.healthMessage === undefined) delete next.healthMessage;
      else next.healthMessage = entry.healthMessage;
      if (load === null) delete next.load;
      else if (load !== undefined) next.load = load;
    }
    const copy: StoredLlm[] = (llms ??= current.llms.slice());
    if (at < 0) copy.push(next);
    else copy[at] = next;
  }
  const outTakeovers = takeovers === null ? NO_TAKEOVERS : [...(takeovers as Map<string, Takeover>).values()];
  if (llms === null) {
    // Only time and telemetry: the store keeps them without a write of the whole record.
    return { record: current, write: 'touch', gpus, loads: loads ?? undefined, rejected, takeovers: outTakeovers };
  }
  if (loads !== null) {
    const copy = llms as StoredLlm[];
    for (const update of loads) {
      const at = copy.findIndex((e) => e.name === update.name);
      const before = copy[at];
      if (before === undefined) continue;
      const next: StoredLlm = { ...before };
      if (update.load === undefined) delete next.load;
      else next.load = update.load;
      copy[at] = next;
    }
  }
  const record: LeaseRecord = { ...current, gpus: gpus ?? current.gpus, lastHeartbeatAt: ctx.nowMs, llms };
  // Taking a name is a registration: durable before the answer.
  const acquired = (llms as StoredLlm[]).length > current.llms.length;
  return { record, write: acquired ? 'durable' : 'put', gpus, loads: undefined, rejected, takeovers: outTakeovers };
}

/**
 * What changed between two states of one agent's lease, as the names whose live state moved:
 * all of them when the lease appears, disappears, turns stale or live, or changes host or GPU
 * inventory; else those gained, lost or changed in content. A new leaseId, a later heartbeat
 * time and GPU usage figures are no change.
 */
export function changedNames(before: HeldLease | undefined, after: HeldLease | undefined, nowMs: number, ttlMs: number): string[] {
  if (before === undefined) return after === undefined ? [] : namesOf(after.record);
  if (after === undefined) return namesOf(before.record);
  const a = before.record;
  const b = after.record;
  if (
    isLeaseStale(before, nowMs, ttlMs) !== isLeaseStale(after, nowMs, ttlMs) ||
    a.host !== b.host ||
    (a.gpus !== b.gpus && !isSameGpuInventory(a.gpus, b.gpus))
  ) {
    return [...new Set([...namesOf(a), ...namesOf(b)])];
  }
  if (a.llms === b.llms) return [];
  const left = new Map(a.llms.map((entry) => [entry.name, entry]));
  const out: string[] = [];
  for (const entry of b.llms) {
    const old = left.get(entry.name);
    if (old === undefined || !isSameEntry(old, entry)) out.push(entry.name);
    left.delete(entry.name);
  }
  out.push(...left.keys());
  return out;
}

/**
 * Takeover: `names` leave the holder's lease for another agent. Refused while the holder's
 * lease is live, with the reason the agent sees; the holder keeps every other name.
 */
export function takeover(holder: HeldLease, names: readonly string[], nowMs: number, ttlMs: number): { ok: true; record: LeaseRecord } | { ok: false; reason: string } {
  if (!isLeaseStale(holder, nowMs, ttlMs)) return { ok: false, reason: liveHolderReason(holder.record, nowMs) };
  const leaving = new Set(names);
  return { ok: true, record: { ...holder.record, llms: holder.record.llms.filter((entry) => !leaving.has(entry.name)) } };
}

/**
 * A new revision's effect on a lease: the names it may no longer hold (declared `source:
 * static`, or undeclared under --unmanaged reject). Null when it keeps them all.
 */
export function enforceRevision(record: LeaseRecord, snapshot: DeclaredSnapshot, unmanaged: UnmanagedMode): { record: LeaseRecord; dropped: string[] } | null {
  if (snapshot.revision === null) return null;
  const dropped: string[] = [];
  const kept: StoredLlm[] = [];
  for (const entry of record.llms) {
    if (revisionRefusalOf(entry.name, snapshot, unmanaged) === null) kept.push(entry);
    else dropped.push(entry.name);
  }
  return dropped.length === 0 ? null : { record: { ...record, llms: kept }, dropped };
}

/** The desired answer for the names a lease holds, by name: Git wins for declared names. */
export function desiredOf(record: LeaseRecord, snapshot: DeclaredSnapshot): DesiredForAgent[] {
  const entries = record.llms.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return entries.map((entry) => {
    const declared = snapshot.byName.get(entry.name);
    if (declared !== undefined) {
      const spec = declared.resource.spec;
      return { name: entry.name, poolName: spec.poolName ?? null, enabled: llmEnabledOf(spec), declared: true };
    }
    return { name: entry.name, poolName: entry.poolName ?? null, enabled: true, declared: false };
  });
}

/** Why `agentId` may not take `name` now; null when it may. */
export function refusalOf(name: string, agentId: string, ctx: RuleContext): string | null {
  const declaredRefusal = revisionRefusalOf(name, ctx.snapshot, ctx.unmanaged);
  if (declaredRefusal !== null) return declaredRefusal;
  const holder = ctx.holderOf(name);
  if (holder !== undefined && holder.record.agentId !== agentId && !isLeaseStale(holder, ctx.nowMs, ctx.ttlMs)) return liveHolderReason(holder.record, ctx.nowMs);
  if (ctx.unmanaged === 'reject' && ctx.snapshot.revision === null) return 'no revision is loaded yet and the reconciler runs with --unmanaged reject';
  return null;
}

/** Why the served revision itself keeps an agent off `name`; null when it does not. */
export function revisionRefusalOf(name: string, snapshot: DeclaredSnapshot, unmanaged: UnmanagedMode): string | null {
  const declared = snapshot.byName.get(name);
  if (declared !== undefined) {
    if (llmSourceOf(declared.resource.spec) !== 'static') return null;
    return `declared with source: static in ${declared.file}:${declared.line}; a static endpoint is not served by an agent`;
  }
  if (unmanaged === 'reject' && snapshot.revision !== null) {
    return `not declared in revision ${snapshot.revision} and the reconciler runs with --unmanaged reject`;
  }
  return null;
}

function liveHolderReason(holder: LeaseRecord, nowMs: number): string {
  return `held by agent ${holder.agentId} under a live lease (last heartbeat ${formatAge(nowMs - holder.lastHeartbeatAt)} ago)`;
}

function addTakeover(takeovers: Map<string, Takeover>, holder: HeldLease, name: string): void {
  const found = takeovers.get(holder.record.agentId);
  if (found === undefined) takeovers.set(holder.record.agentId, { holder, names: [name] });
  else found.names.push(name);
}

function namesOf(record: LeaseRecord): string[] {
  return record.llms.map((entry) => entry.name);
}

function isFullEntry(entry: Heartbeat['llms'][number]): entry is RegisteredLlm {
  return 'type' in entry;
}

export function storedOf(entry: RegisteredLlm): StoredLlm {
  const out: StoredLlm = { name: entry.name, type: entry.type, model: entry.model, url: entry.url, health: entry.health };
  if (entry.poolName !== undefined) out.poolName = entry.poolName;
  if (entry.healthMessage !== undefined) out.healthMessage = entry.healthMessage;
  if (entry.load !== undefined && entry.load !== null) out.load = entry.load;
  return out;
}

/**
 * Whether two entries publish the same thing. Load figures are left out: they move on nearly
 * every beat, are kept with the entry (a batched put), and change no name's state for watchers.
 */
export function isSameEntry(a: StoredLlm, b: StoredLlm): boolean {
  return (
    a.poolName === b.poolName &&
    a.type === b.type &&
    a.model === b.model &&
    a.url === b.url &&
    a.health === b.health &&
    a.healthMessage === b.healthMessage
  );
}

/** Which GPUs a host has (not how busy they are): part of the agent's identity in a view. */
export function isSameGpuInventory(a: readonly Gpu[], b: readonly Gpu[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((gpu, i) => {
    const other = b[i];
    return other !== undefined && gpu.index === other.index && gpu.name === other.name && gpu.memoryTotalMiB === other.memoryTotalMiB;
  });
}

export function isSameGpus(a: readonly Gpu[], b: readonly Gpu[]): boolean {
  return (
    isSameGpuInventory(a, b) &&
    a.every((gpu, i) => gpu.memoryUsedMiB === b[i]?.memoryUsedMiB && gpu.utilizationPct === b[i]?.utilizationPct)
  );
}
