// The lease rules as pure transitions: records in, records and changes out, no store or clock.
import { describe, expect, it } from 'vitest';
import type { Heartbeat } from '../../schema/agent-protocol.js';
import { loadResources } from '../../schema/codec.js';
import { policiesByKey } from '../../schema/pools.js';
import type { DeclaredSnapshot } from '../../reconciler/declared-index.js';
import { changedNames, desiredOf, enforceRevision, fateOf, heartbeat, nextFateAt, refusalOf, register, takeover, type HeldLease, type RuleContext, type UnmanagedMode } from '../../reconciler/lease-rules.js';
import type { LeaseRecord } from '../../reconciler/lease-store.js';
import { entry, FLEET_FILES, GPU, registration } from './support/harness.js';

const T0 = Date.UTC(2025, 0, 1);
const TTL = 30_000;
const GC = 600_000;
const NO_REVISION: DeclaredSnapshot = { revision: null, served: null, byName: new Map(), policies: new Map() };

function fleetSnapshot(): DeclaredSnapshot {
  const result = loadResources(Object.entries(FLEET_FILES).map(([path, text]) => ({ path, text })));
  if (!result.ok) throw new Error('fixture does not load');
  return {
    revision: 'rev-1',
    served: { revision: 'rev-1', llms: result.llms, pools: result.pools },
    byName: new Map(result.llms.map((l) => [l.resource.metadata.name, l])),
    policies: policiesByKey(result.pools.map((p) => p.resource)),
  };
}

function held(agentId: string, names: string[], options: { at?: number; restored?: boolean; modRevision?: number } = {}): HeldLease {
  const record: LeaseRecord = {
    agentId,
    leaseId: `lease-${agentId}`,
    host: `${agentId}.lan`,
    version: '0.1.0',
    gpus: [GPU],
    lastHeartbeatAt: options.at ?? T0,
    llms: names.map((name) => {
      const { name: n, type, model, url, health } = entry(name);
      return { name: n, type, model, url, health };
    }),
  };
  return { record, modRevision: options.modRevision ?? 1, restored: options.restored ?? false };
}

/** A context over these leases, at `nowMs`. */
function ctx(leases: HeldLease[], nowMs = T0, options: { snapshot?: DeclaredSnapshot; unmanaged?: UnmanagedMode } = {}): RuleContext {
  const owners = new Map<string, HeldLease>();
  for (const lease of leases) for (const e of lease.record.llms) owners.set(e.name, lease);
  return { nowMs, ttlMs: TTL, unmanaged: options.unmanaged ?? 'admit', snapshot: options.snapshot ?? NO_REVISION, holderOf: (name) => owners.get(name) };
}

describe('register', () => {
  it('builds a fresh record with the new lease id and the time, taking every free name', () => {
    const out = register(undefined, registration('gpu1', [entry('a'), entry('b', { poolName: 'p' })]), 'L1', ctx([], T0 + 5));
    expect(out.record).toMatchObject({ agentId: 'gpu1', leaseId: 'L1', host: 'gpu1.lan', lastHeartbeatAt: T0 + 5 });
    expect(out.record.llms.map((e) => e.name)).toEqual(['a', 'b']);
    expect(out.record.llms[1]?.poolName).toBe('p');
    expect(out.rejected).toEqual([]);
    expect(out.takeovers).toEqual([]);
  });

  it('refuses a name listed twice, keeping the first', () => {
    const out = register(undefined, registration('gpu1', [entry('a'), entry('a', { model: 'other' })]), 'L1', ctx([]));
    expect(out.rejected).toEqual([{ name: 'a', reason: 'listed more than once in this registration' }]);
    expect(out.record.llms).toHaveLength(1);
    expect(out.record.llms[0]?.model).toBe('Qwen/Qwen3-8B');
  });

  it('refuses a name held under a live lease, saying by whom and how long ago', () => {
    const gpu1 = held('gpu1', ['a']);
    const out = register(undefined, registration('gpu7', [entry('a'), entry('b')]), 'L7', ctx([gpu1], T0 + 5_000));
    expect(out.rejected).toEqual([{ name: 'a', reason: 'held by agent gpu1 under a live lease (last heartbeat 5s ago)' }]);
    expect(out.record.llms.map((e) => e.name)).toEqual(['b']);
  });

  it('asks to take over a name held under a stale lease, or a restored one', () => {
    const stale = held('gpu1', ['a', 'keep']);
    const restored = held('gpu2', ['b'], { at: T0 + TTL, restored: true });
    const out = register(undefined, registration('gpu7', [entry('a'), entry('b')]), 'L7', ctx([stale, restored], T0 + TTL + 1));
    expect(out.rejected).toEqual([]);
    expect(out.takeovers.map((t) => [t.holder.record.agentId, t.names])).toEqual([
      ['gpu1', ['a']],
      ['gpu2', ['b']],
    ]);
  });

  it('does not take a name over from its own previous lease', () => {
    const previous = held('gpu1', ['a']);
    const out = register(previous, registration('gpu1', [entry('a')]), 'L2', ctx([previous], T0 + 1));
    expect(out.takeovers).toEqual([]);
    expect(out.record.leaseId).toBe('L2');
  });

  it('refuses names the served revision keeps from agents', () => {
    const snapshot = fleetSnapshot();
    const out = register(undefined, registration('gpu1', [entry('openai-gpt4o'), entry('undeclared'), entry('qwen3')]), 'L1', ctx([], T0, { snapshot, unmanaged: 'reject' }));
    expect(out.rejected).toEqual([
      { name: 'openai-gpt4o', reason: 'declared with source: static in llms/hosted.yaml:1; a static endpoint is not served by an agent' },
      { name: 'undeclared', reason: 'not declared in revision rev-1 and the reconciler runs with --unmanaged reject' },
    ]);
    expect(out.record.llms.map((e) => e.name)).toEqual(['qwen3']);
  });

  it('under --unmanaged reject, refuses everything before a revision is loaded', () => {
    expect(refusalOf('a', 'gpu1', ctx([], T0, { unmanaged: 'reject' }))).toBe('no revision is loaded yet and the reconciler runs with --unmanaged reject');
  });
});

describe('heartbeat', () => {
  const beat = (llms: Heartbeat['llms'], gpus?: Heartbeat['gpus']): Heartbeat => ({ leaseId: 'lease-gpu1', llms, ...(gpus === undefined ? {} : { gpus }) });

  it('a beat that changes nothing is a touch and leaves the record as it is', () => {
    const lease = held('gpu1', ['a']);
    const out = heartbeat(lease, beat([{ name: 'a', health: 'ok' }], [GPU]), ctx([lease], T0 + 9_000));
    expect(out.write).toBe('touch');
    expect(out.record).toBe(lease.record);
    expect(out.gpus).toBeUndefined();
    expect(out.rejected).toEqual([]);
  });

  it('new GPU usage figures are still a touch, carrying the GPUs', () => {
    const lease = held('gpu1', ['a']);
    const busy = [{ ...GPU, utilizationPct: 97 }];
    const out = heartbeat(lease, beat([], busy), ctx([lease]));
    expect(out.write).toBe('touch');
    expect(out.gpus).toBe(busy);
  });

  it('a figure turning unknown (null, not 0) is new GPU usage, carried by the touch', () => {
    const lease = held('gpu1', ['a']);
    const idle = [{ ...GPU, utilizationPct: 0 }];
    const unknown = [{ ...GPU, utilizationPct: null }];
    const first = heartbeat(lease, beat([], idle), ctx([lease]));
    const leaseAfter = { ...lease, record: { ...lease.record, gpus: idle } };
    expect(first.gpus).toBe(idle);
    expect(heartbeat(leaseAfter, beat([], unknown), ctx([leaseAfter])).gpus).toBe(unknown);
    expect(heartbeat(leaseAfter, beat([], [{ ...GPU, utilizationPct: 0 }]), ctx([leaseAfter])).gpus).toBeUndefined();
  });

  it('a health change is a batched put of a new record', () => {
    const lease = held('gpu1', ['a', 'b']);
    const out = heartbeat(lease, beat([{ name: 'a', health: 'failing', healthMessage: 'ECONNREFUSED' }]), ctx([lease], T0 + 3));
    expect(out.write).toBe('put');
    expect(out.record).not.toBe(lease.record);
    expect(out.record.lastHeartbeatAt).toBe(T0 + 3);
    expect(out.record.llms[0]).toMatchObject({ name: 'a', health: 'failing', healthMessage: 'ECONNREFUSED' });
    expect(out.record.llms[1]).toBe(lease.record.llms[1]);
    expect(lease.record.llms[0]?.health).toBe('ok');
  });

  it('a health message that goes away is removed from the entry', () => {
    const lease = held('gpu1', ['a']);
    const failing = heartbeat(lease, beat([{ name: 'a', health: 'failing', healthMessage: 'x' }]), ctx([lease])).record;
    const out = heartbeat({ ...lease, record: failing }, beat([{ name: 'a', health: 'ok' }]), ctx([lease]));
    expect(out.record.llms[0]).not.toHaveProperty('healthMessage');
  });

  it('a full entry for a new name is durable, and a takeover when a stale lease holds it', () => {
    const lease = held('gpu1', ['a'], { at: T0 + TTL });
    const stale = held('gpu2', ['b']);
    const out = heartbeat(lease, beat([entry('b')]), ctx([lease, stale], T0 + TTL + 1));
    expect(out.write).toBe('durable');
    expect(out.record.llms.map((e) => e.name)).toEqual(['a', 'b']);
    expect(out.takeovers.map((t) => [t.holder.record.agentId, t.names])).toEqual([['gpu2', ['b']]]);
  });

  it('a full entry that differs from the held one is a put; the same entry is a touch', () => {
    const lease = held('gpu1', ['a']);
    expect(heartbeat(lease, beat([entry('a')]), ctx([lease])).write).toBe('touch');
    expect(heartbeat(lease, beat([entry('a', { model: 'other' })]), ctx([lease])).write).toBe('put');
  });

  it('rejects a partial entry for a name the lease does not hold, and a live holder\'s name', () => {
    const lease = held('gpu1', ['a']);
    const other = held('gpu2', ['b']);
    const out = heartbeat(lease, beat([{ name: 'zzz', health: 'ok' }, entry('b')]), ctx([lease, other], T0 + 2_000));
    expect(out.rejected).toEqual([
      { name: 'zzz', reason: 'not registered under this lease: send the full entry or register again' },
      { name: 'b', reason: 'held by agent gpu2 under a live lease (last heartbeat 2s ago)' },
    ]);
    expect(out.write).toBe('touch');
  });
});

describe('expire and GC', () => {
  it('a lease is live up to the TTL, stale after it, collected after --gc', () => {
    const lease = held('gpu1', ['a']);
    expect(fateOf(lease, T0 + TTL, TTL, GC)).toBe('live');
    expect(fateOf(lease, T0 + TTL + 1, TTL, GC)).toBe('stale');
    expect(fateOf(lease, T0 + GC, TTL, GC)).toBe('stale');
    expect(fateOf(lease, T0 + GC + 1, TTL, GC)).toBe('collect');
  });

  it('a restored lease is stale whatever its time says, and still collected after --gc', () => {
    const lease = held('gpu1', ['a'], { restored: true });
    expect(fateOf(lease, T0, TTL, GC)).toBe('stale');
    expect(fateOf(lease, T0 + GC + 1, TTL, GC)).toBe('collect');
  });

  it('the next time anything can happen is the end of the TTL, then the end of --gc', () => {
    const lease = held('gpu1', ['a']);
    expect(nextFateAt(lease, T0, TTL, GC)).toBe(T0 + TTL + 1);
    expect(nextFateAt(lease, T0 + TTL + 1, TTL, GC)).toBe(T0 + GC + 1);
  });
});

describe('takeover', () => {
  it('takes the names from a stale holder, which keeps the rest', () => {
    const holder = held('gpu1', ['a', 'b', 'c']);
    const out = takeover(holder, ['a', 'c'], T0 + TTL + 1, TTL);
    expect(out).toEqual({ ok: true, record: { ...holder.record, llms: [holder.record.llms[1]] } });
  });

  it('is refused while the holder is live, with the reason the agent sees', () => {
    expect(takeover(held('gpu1', ['a']), ['a'], T0 + 12_000, TTL)).toEqual({ ok: false, reason: 'held by agent gpu1 under a live lease (last heartbeat 12s ago)' });
  });
});

describe('enforceRevision', () => {
  it('drops names declared static, and undeclared names under --unmanaged reject', () => {
    const lease = held('gpu1', ['openai-gpt4o', 'qwen3', 'mine']);
    expect(enforceRevision(lease.record, fleetSnapshot(), 'admit')?.dropped).toEqual(['openai-gpt4o']);
    const out = enforceRevision(lease.record, fleetSnapshot(), 'reject');
    expect(out?.dropped).toEqual(['openai-gpt4o', 'mine']);
    expect(out?.record.llms.map((e) => e.name)).toEqual(['qwen3']);
  });

  it('keeps everything while no revision is loaded, or when nothing is refused', () => {
    expect(enforceRevision(held('gpu1', ['x']).record, NO_REVISION, 'reject')).toBeNull();
    expect(enforceRevision(held('gpu1', ['qwen3']).record, fleetSnapshot(), 'reject')).toBeNull();
  });
});

describe('changedNames', () => {
  const base = held('gpu1', ['a', 'b']);
  const at = (lease: HeldLease, patch: Partial<LeaseRecord>, restored = lease.restored): HeldLease => ({ record: { ...lease.record, ...patch }, modRevision: lease.modRevision + 1, restored });

  it('a new lease changes all its names, a deleted one too', () => {
    expect(changedNames(undefined, base, T0, TTL)).toEqual(['a', 'b']);
    expect(changedNames(base, undefined, T0, TTL)).toEqual(['a', 'b']);
  });

  it('a later heartbeat time, a new lease id or new GPU usage figures are no change', () => {
    expect(changedNames(base, at(base, { lastHeartbeatAt: T0 + 5_000, leaseId: 'new', gpus: [{ ...GPU, utilizationPct: 99 }] }), T0 + 5_000, TTL)).toEqual([]);
  });

  it('turning stale or live again, a new host or a new GPU inventory changes every name', () => {
    expect(changedNames(base, at(base, { lastHeartbeatAt: T0 + TTL + 5 }), T0 + TTL + 5, TTL)).toEqual(['a', 'b']);
    expect(changedNames(held('gpu1', ['a', 'b'], { restored: true }), at(base, {}, false), T0, TTL)).toEqual(['a', 'b']);
    expect(changedNames(base, at(base, { host: 'elsewhere' }), T0, TTL)).toEqual(['a', 'b']);
    expect(changedNames(base, at(base, { gpus: [] }), T0, TTL)).toEqual(['a', 'b']);
  });

  it('otherwise only the names gained, lost or changed in content', () => {
    const [a] = base.record.llms;
    if (a === undefined) throw new Error('fixture');
    const next = at(base, { llms: [{ ...a, health: 'failing' }, { ...a, name: 'c' }] });
    expect(changedNames(base, next, T0, TTL)).toEqual(['a', 'c', 'b']);
  });
});

describe('desiredOf', () => {
  it('answers each held name sorted, Git winning for declared names', () => {
    const lease = held('gpu1', ['zz-mine', 'vllm-gpu2-qwen3']);
    expect(desiredOf(lease.record, fleetSnapshot())).toEqual([
      { name: 'vllm-gpu2-qwen3', poolName: 'user-vllm-qwen3-thinking', enabled: false, declared: true },
      { name: 'zz-mine', poolName: null, enabled: true, declared: false },
    ]);
  });
});

describe('load figures', () => {
  const load = { running: 3, waiting: 1, kvCacheUsage: 0.42 };

  it('a beat whose only change is the load is a touch carrying it as telemetry, like GPU usage', () => {
    const lease = held('gpu1', ['a', 'b']);
    const beat: Heartbeat = { leaseId: 'lease-gpu1', llms: [{ name: 'a', health: 'ok', load }] };
    const outcome = heartbeat(lease, beat, ctx([lease], T0 + 5_000));
    expect(outcome.write).toBe('touch');
    expect(outcome.record).toBe(lease.record);
    expect(outcome.loads).toEqual([{ name: 'a', load }]);
  });

  it('the same load again, or none sent, is a plain touch; load: null is a touch that drops it', () => {
    const lease = held('gpu1', ['a']);
    const loaded: HeldLease = { ...lease, record: { ...lease.record, llms: lease.record.llms.map((e) => ({ ...e, load })) } };
    expect(heartbeat(loaded, { leaseId: 'lease-gpu1', llms: [{ name: 'a', health: 'ok', load: { ...load } }] }, ctx([loaded])).loads).toBeUndefined();
    expect(heartbeat(loaded, { leaseId: 'lease-gpu1', llms: [{ name: 'a', health: 'ok' }] }, ctx([loaded])).loads).toBeUndefined();
    const dropped = heartbeat(loaded, { leaseId: 'lease-gpu1', llms: [{ name: 'a', health: 'ok', load: null }] }, ctx([loaded]));
    expect(dropped).toMatchObject({ write: 'touch', loads: [{ name: 'a', load: undefined }] });
  });

  it('a load moving with a health change, or beside another name’s change, is part of the put; no changed name for it', () => {
    const lease = held('gpu1', ['a', 'b']);
    const loaded: HeldLease = { ...lease, record: { ...lease.record, llms: lease.record.llms.map((e) => ({ ...e, load })) } };
    const failing = heartbeat(loaded, { leaseId: 'lease-gpu1', llms: [{ name: 'a', health: 'failing', healthMessage: 'HTTP 503' }] }, ctx([loaded]));
    expect(failing.record.llms[0]).toMatchObject({ health: 'failing', load });
    const moved = { ...load, waiting: 7 };
    const both = heartbeat(loaded, { leaseId: 'lease-gpu1', llms: [{ name: 'a', health: 'ok', load: moved }, { name: 'b', health: 'failing' }] }, ctx([loaded]));
    expect(both.write).toBe('put');
    expect(both.record.llms.map((e) => [e.name, e.health, e.load])).toEqual([
      ['a', 'ok', moved],
      ['b', 'failing', load],
    ]);
    expect(loaded.record.llms[0]?.load).toBe(load);
    expect(changedNames(loaded, { record: both.record, modRevision: 2, restored: false }, T0, TTL)).toEqual(['b']);
  });
});
