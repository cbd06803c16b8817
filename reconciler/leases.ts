// The lease rules in one module (DESIGN §3): register, heartbeat, deregister, TTL → stale,
// garbage collection, takeover, restore after a restart, --unmanaged, and the desired answer
// (Git wins). Storage is a LeaseStore, so etcd can replace the state-dir file later.
import { randomUUID } from 'node:crypto';
import type { DesiredForAgent, Gpu, Heartbeat, Registration, RegistrationAnswer, RegisteredLlm } from '../schema/agent-protocol.js';
import { formatAge, isStale, type LiveLlm } from '../schema/effective.js';
import { llmEnabledOf, llmSourceOf } from '../schema/resources.js';
import type { DeclaredIndex, DeclaredSnapshot } from './declared-index.js';
import type { AgentRecord, LeaseStore, StoredLlm } from './lease-store.js';

export type UnmanagedMode = 'admit' | 'reject';

export interface LeasesOptions {
  store: LeaseStore;
  declared: DeclaredIndex;
  now: () => number;
  ttlMs: number;
  gcMs: number;
  heartbeatIntervalMs: number;
  unmanaged: UnmanagedMode;
  /** Reports a failed background write (GC, batched heartbeats). */
  onError?: (error: Error) => void;
}

type LiveEntry = StoredLlm;

interface AgentLease {
  agentId: string;
  leaseId: string;
  host: string;
  version: string;
  gpus: Gpu[];
  lastHeartbeatAt: number;
  /** Restored from the store and not heard from since. */
  restored: boolean;
  /** Whether the last sweep saw this lease stale; a flip is a change of every name it holds. */
  staleAtLastSweep: boolean;
  llms: Map<string, LiveEntry>;
}

export interface Rejection {
  name: string;
  reason: string;
}

/** Called with the names whose live state really changed (phase, pool, agent, spec, health). */
export type LeaseChangeListener = (names: readonly string[]) => void;

export class Leases {
  private readonly agents = new Map<string, AgentLease>();
  private readonly owners = new Map<string, AgentLease>();
  private readonly versions = new Map<string, number>();
  private readonly listeners = new Set<LeaseChangeListener>();
  /** No lease can turn stale or be collected before this time; sweeps before it do nothing. */
  private nextSweepAt = Number.POSITIVE_INFINITY;

  constructor(private readonly options: LeasesOptions) {}

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  get agentCount(): number {
    return this.agents.size;
  }

  get nameCount(): number {
    return this.owners.size;
  }

  onChange(listener: LeaseChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Loads the store; restored entries are stale until their agent's next heartbeat. */
  async restore(): Promise<number> {
    const records = await this.options.store.loadAll();
    const changed: string[] = [];
    for (const record of records) {
      const lease: AgentLease = {
        agentId: record.agentId,
        leaseId: record.leaseId,
        host: record.host,
        version: record.version,
        gpus: record.gpus,
        lastHeartbeatAt: record.lastHeartbeatAt,
        restored: true,
        staleAtLastSweep: true,
        llms: new Map(),
      };
      for (const llm of record.llms) {
        const holder = this.owners.get(llm.name);
        // Two records naming one name cannot come from this module; keep the fresher one.
        if (holder !== undefined && holder.lastHeartbeatAt >= lease.lastHeartbeatAt) continue;
        if (holder !== undefined) holder.llms.delete(llm.name);
        lease.llms.set(llm.name, { ...llm });
        this.owners.set(llm.name, lease);
        changed.push(llm.name);
      }
      this.agents.set(lease.agentId, lease);
      this.nextSweepAt = Math.min(this.nextSweepAt, lease.lastHeartbeatAt + this.options.gcMs + 1);
    }
    this.bump(changed);
    return records.length;
  }

  async register(registration: Registration): Promise<RegistrationAnswer> {
    const now = this.options.now();
    const snapshot = this.options.declared.current();
    const previous = this.agents.get(registration.agentId);
    const wasStale = previous !== undefined && this.isLeaseStale(previous, now);
    const lease: AgentLease = {
      agentId: registration.agentId,
      leaseId: randomUUID(),
      host: registration.host,
      version: registration.version,
      gpus: registration.gpus,
      lastHeartbeatAt: now,
      restored: false,
      staleAtLastSweep: false,
      llms: new Map(),
    };
    const rejected: Rejection[] = [];
    const changed = new Set<string>();
    const losers = new Set<AgentLease>();
    for (const entry of registration.llms) {
      if (lease.llms.has(entry.name)) {
        rejected.push({ name: entry.name, reason: 'listed more than once in this registration' });
        continue;
      }
      const refusal = this.refusalOf(entry.name, lease.agentId, now, snapshot);
      if (refusal !== null) {
        rejected.push({ name: entry.name, reason: refusal });
        continue;
      }
      const holder = this.owners.get(entry.name);
      const before = holder?.llms.get(entry.name);
      if (holder !== undefined && holder !== previous) {
        holder.llms.delete(entry.name);
        losers.add(holder);
      }
      const next = storedOf(entry);
      lease.llms.set(entry.name, next);
      this.owners.set(entry.name, lease);
      const sameAgent = holder === previous && previous !== undefined;
      if (!sameAgent || wasStale || before === undefined || !isSameEntry(before, next) || previous.host !== lease.host || !isSameGpuInventory(previous.gpus, lease.gpus)) {
        changed.add(entry.name);
      }
    }
    if (previous !== undefined) {
      for (const name of previous.llms.keys()) {
        if (!lease.llms.has(name) && this.owners.get(name) === previous) {
          this.owners.delete(name);
          changed.add(name);
        }
      }
    }
    this.agents.set(lease.agentId, lease);
    this.nextSweepAt = Math.min(this.nextSweepAt, now + this.options.ttlMs + 1);
    this.bump([...changed]);
    await Promise.all([this.options.store.put(recordOf(lease)), ...[...losers].map((loser) => this.options.store.put(recordOf(loser)))]);
    return this.answerFor(lease, rejected, snapshot);
  }

  /**
   * Null when the agent has no lease or `leaseId` is not its current one (LeaseNotFound). A beat
   * that changes nothing (the common case) allocates little beyond its answer: no change sets,
   * no listener call, no record, only the store's timestamp touch.
   */
  async heartbeat(agentId: string, heartbeat: Heartbeat): Promise<RegistrationAnswer | null> {
    const lease = this.agents.get(agentId);
    if (lease === undefined || lease.leaseId !== heartbeat.leaseId) return null;
    const now = this.options.now();
    const snapshot = this.options.declared.current();
    let changed: Set<string> | null = null;
    const change = (name: string): void => {
      (changed ??= new Set()).add(name);
    };
    if (this.isLeaseStale(lease, now)) for (const name of lease.llms.keys()) change(name);
    lease.lastHeartbeatAt = now;
    lease.restored = false;
    lease.staleAtLastSweep = false;
    let entriesChanged = false;
    if (heartbeat.gpus !== undefined) {
      if (!isSameGpuInventory(lease.gpus, heartbeat.gpus)) for (const name of lease.llms.keys()) change(name);
      // Usage figures change on every beat; they are telemetry, kept but not a change.
      if (!isSameGpus(lease.gpus, heartbeat.gpus)) entriesChanged = true;
      lease.gpus = heartbeat.gpus;
    }
    const rejected: Rejection[] = [];
    let losers: Set<AgentLease> | null = null;
    let acquired = false;
    for (const entry of heartbeat.llms) {
      const current = lease.llms.get(entry.name);
      if (isFullEntry(entry)) {
        const next = storedOf(entry);
        if (current !== undefined) {
          if (!isSameEntry(current, next)) {
            lease.llms.set(entry.name, next);
            change(entry.name);
            entriesChanged = true;
          }
          continue;
        }
        const refusal = this.refusalOf(entry.name, agentId, now, snapshot);
        if (refusal !== null) {
          rejected.push({ name: entry.name, reason: refusal });
          continue;
        }
        const holder = this.owners.get(entry.name);
        if (holder !== undefined) {
          holder.llms.delete(entry.name);
          (losers ??= new Set()).add(holder);
        }
        lease.llms.set(entry.name, next);
        this.owners.set(entry.name, lease);
        change(entry.name);
        acquired = true;
        continue;
      }
      if (current === undefined) {
        rejected.push({ name: entry.name, reason: 'not registered under this lease: send the full entry or register again' });
        continue;
      }
      if (current.health !== entry.health || current.healthMessage !== entry.healthMessage) {
        const next: LiveEntry = { ...current, health: entry.health };
        if (entry.healthMessage === undefined) delete next.healthMessage;
        else next.healthMessage = entry.healthMessage;
        lease.llms.set(entry.name, next);
        change(entry.name);
        entriesChanged = true;
      }
    }
    this.nextSweepAt = Math.min(this.nextSweepAt, now + this.options.ttlMs + 1);
    if (changed !== null) this.bump([...(changed as Set<string>)]);
    const store = this.options.store;
    if (acquired) {
      // Taking a name is a registration: durable before the answer.
      const losing: AgentLease[] = losers === null ? [] : [...(losers as Set<AgentLease>)];
      await Promise.all([store.put(recordOf(lease)), ...losing.map((loser) => store.put(recordOf(loser)))]);
    } else if (entriesChanged) {
      store.putLater(recordOf(lease));
    } else {
      store.touch(agentId, now);
    }
    return this.answerFor(lease, rejected, snapshot);
  }

  /** Drops the agent's lease and every name it holds; null when there is no such lease. */
  async deregister(agentId: string, leaseId?: string): Promise<string[] | null> {
    const lease = this.agents.get(agentId);
    if (lease === undefined || (leaseId !== undefined && lease.leaseId !== leaseId)) return null;
    const released = this.drop(lease);
    await this.options.store.delete(agentId);
    return released;
  }

  /**
   * Applies the clock: leases past the TTL turn stale (a change of each name they hold), leases
   * past --gc are removed. Cheap to call often: it does nothing before the next possible expiry.
   */
  sweep(): void {
    const now = this.options.now();
    if (now < this.nextSweepAt) return;
    let next = Number.POSITIVE_INFINITY;
    const changed: string[] = [];
    for (const lease of [...this.agents.values()]) {
      if (now - lease.lastHeartbeatAt > this.options.gcMs) {
        changed.push(...this.drop(lease, false));
        this.options.store.delete(lease.agentId).catch((error: unknown) => this.options.onError?.(error as Error));
        continue;
      }
      const stale = this.isLeaseStale(lease, now);
      if (stale !== lease.staleAtLastSweep) {
        lease.staleAtLastSweep = stale;
        changed.push(...lease.llms.keys());
      }
      next = Math.min(next, lease.lastHeartbeatAt + (stale ? this.options.gcMs : this.options.ttlMs) + 1);
    }
    this.nextSweepAt = next;
    this.bump(changed);
  }

  /** The live registration of `name`, as the effective state reads it. */
  live(name: string): LiveLlm | undefined {
    const lease = this.owners.get(name);
    if (lease === undefined) return undefined;
    const entry = lease.llms.get(name);
    return entry === undefined ? undefined : liveOf(lease, entry);
  }

  liveNames(): IterableIterator<string> {
    return this.owners.keys();
  }

  allLive(): LiveLlm[] {
    const out: LiveLlm[] = [];
    for (const lease of this.agents.values()) for (const entry of lease.llms.values()) out.push(liveOf(lease, entry));
    return out;
  }

  /** Names currently held by the agent; null when it has no lease. */
  namesOf(agentId: string): string[] | null {
    const lease = this.agents.get(agentId);
    return lease === undefined ? null : [...lease.llms.keys()];
  }

  /** Bumped on every real change of the name's live state; 0 when never seen. */
  versionOf(name: string): number {
    return this.versions.get(name) ?? 0;
  }

  /** The desired answer for names an agent holds (Git wins for declared names). */
  desiredFor(names: Iterable<string>, snapshot: DeclaredSnapshot = this.options.declared.current()): DesiredForAgent[] {
    return Array.from(names).sort().map((name) => {
      const declared = snapshot.byName.get(name);
      if (declared !== undefined) {
        const spec = declared.resource.spec;
        return { name, poolName: spec.poolName ?? null, enabled: llmEnabledOf(spec), declared: true };
      }
      return { name, poolName: this.owners.get(name)?.llms.get(name)?.poolName ?? null, enabled: true, declared: false };
    });
  }

  async flush(): Promise<void> {
    await this.options.store.flush();
  }

  /**
   * Drops the names the served revision no longer lets an agent hold: names declared
   * `source: static`, and under `--unmanaged reject` names it does not declare. Called when the
   * revision changes; the agent then sees the name gone from its answer's `desired`, sends the
   * full entry again and gets the refusal's reason in `rejected`. Nothing is dropped while no
   * revision is loaded.
   */
  enforceRevision(): string[] {
    const snapshot = this.options.declared.current();
    if (snapshot.revision === null) return [];
    const dropped: string[] = [];
    for (const lease of this.agents.values()) {
      let touched = false;
      for (const name of lease.llms.keys()) {
        if (this.revisionRefusalOf(name, snapshot) === null) continue;
        lease.llms.delete(name);
        if (this.owners.get(name) === lease) this.owners.delete(name);
        dropped.push(name);
        touched = true;
      }
      if (touched) this.options.store.putLater(recordOf(lease));
    }
    this.bump(dropped);
    return dropped;
  }

  private refusalOf(name: string, agentId: string, now: number, snapshot: DeclaredSnapshot): string | null {
    const declaredRefusal = this.revisionRefusalOf(name, snapshot);
    if (declaredRefusal !== null) return declaredRefusal;
    const holder = this.owners.get(name);
    if (holder !== undefined && holder.agentId !== agentId && !this.isLeaseStale(holder, now)) {
      return `held by agent ${holder.agentId} under a live lease (last heartbeat ${formatAge(now - holder.lastHeartbeatAt)} ago)`;
    }
    if (this.options.unmanaged === 'reject' && snapshot.revision === null) return 'no revision is loaded yet and the reconciler runs with --unmanaged reject';
    return null;
  }

  /** Why the served revision itself keeps an agent off `name`; null when it does not. */
  private revisionRefusalOf(name: string, snapshot: DeclaredSnapshot): string | null {
    const declared = snapshot.byName.get(name);
    if (declared !== undefined) {
      if (llmSourceOf(declared.resource.spec) !== 'static') return null;
      return `declared with source: static in ${declared.file}:${declared.line}; a static endpoint is not served by an agent`;
    }
    if (this.options.unmanaged === 'reject' && snapshot.revision !== null) {
      return `not declared in revision ${snapshot.revision} and the reconciler runs with --unmanaged reject`;
    }
    return null;
  }

  private isLeaseStale(lease: AgentLease, now: number): boolean {
    return isStale(lease, now, this.options.ttlMs);
  }

  private drop(lease: AgentLease, notify = true): string[] {
    const released: string[] = [];
    for (const name of lease.llms.keys()) {
      if (this.owners.get(name) === lease) {
        this.owners.delete(name);
        released.push(name);
      }
    }
    this.agents.delete(lease.agentId);
    if (notify) this.bump(released);
    return released;
  }

  private bump(names: readonly string[]): void {
    if (names.length === 0) return;
    for (const name of names) this.versions.set(name, (this.versions.get(name) ?? 0) + 1);
    for (const listener of this.listeners) listener(names);
  }

  private answerFor(lease: AgentLease, rejected: Rejection[], snapshot: DeclaredSnapshot): RegistrationAnswer {
    return {
      leaseId: lease.leaseId,
      ttlSeconds: this.options.ttlMs / 1000,
      heartbeatIntervalSeconds: this.options.heartbeatIntervalMs / 1000,
      revision: snapshot.revision,
      desired: this.desiredFor(lease.llms.keys(), snapshot),
      rejected,
    };
  }
}

function isFullEntry(entry: Heartbeat['llms'][number]): entry is RegisteredLlm {
  return 'type' in entry;
}

function storedOf(entry: RegisteredLlm): LiveEntry {
  const out: LiveEntry = { name: entry.name, type: entry.type, model: entry.model, url: entry.url, health: entry.health };
  if (entry.poolName !== undefined) out.poolName = entry.poolName;
  if (entry.healthMessage !== undefined) out.healthMessage = entry.healthMessage;
  return out;
}

function isSameEntry(a: LiveEntry, b: LiveEntry): boolean {
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
function isSameGpuInventory(a: readonly Gpu[], b: readonly Gpu[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((gpu, i) => {
    const other = b[i];
    return other !== undefined && gpu.index === other.index && gpu.name === other.name && gpu.memoryTotalMiB === other.memoryTotalMiB;
  });
}

function isSameGpus(a: readonly Gpu[], b: readonly Gpu[]): boolean {
  return (
    isSameGpuInventory(a, b) &&
    a.every((gpu, i) => gpu.memoryUsedMiB === b[i]?.memoryUsedMiB && gpu.utilizationPct === b[i]?.utilizationPct)
  );
}

function liveOf(lease: AgentLease, entry: LiveEntry): LiveLlm {
  const live: LiveLlm = {
    name: entry.name,
    poolName: entry.poolName,
    type: entry.type,
    model: entry.model,
    url: entry.url,
    health: entry.health,
    healthMessage: entry.healthMessage,
    agentId: lease.agentId,
    host: lease.host,
    lastHeartbeatAt: lease.lastHeartbeatAt,
    gpus: lease.gpus,
  };
  if (lease.restored) live.restored = true;
  return live;
}


function recordOf(lease: AgentLease): AgentRecord {
  return {
    agentId: lease.agentId,
    leaseId: lease.leaseId,
    host: lease.host,
    version: lease.version,
    gpus: lease.gpus,
    lastHeartbeatAt: lease.lastHeartbeatAt,
    llms: [...lease.llms.values()].map((entry) => ({ ...entry })),
  };
}
