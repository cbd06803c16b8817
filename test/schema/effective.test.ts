// Effective views (DESIGN §2, §3): declared Llms joined with live registrations at a given time;
// each member's kind, phase, reason, sync state, drift and pool.
import { describe, expect, it } from 'vitest';
import type { Health } from '../../schema/agent-protocol.js';
import { parseResourceFile, toCanonicalYaml, type LocatedLlm } from '../../schema/codec.js';
import { formatDiagnostic } from '../../schema/diagnostics.js';
import { buildViews, driftOf, formatAge, isStale, type LiveLlm, type StaticProbe } from '../../schema/effective.js';
import { membersOf } from '../../schema/pools.js';
import type { Llm, LlmSpec } from '../../schema/resources.js';
import type { LlmView, MemberKind, Phase, SyncState } from '../../schema/views.js';

// --- builders ----------------------------------------------------------------------------------

const NOW_MS = Date.UTC(2025, 0, 1, 12, 0, 0);
const TTL_MS = 30_000;

function llm(name: string, spec: Partial<LlmSpec> = {}): Llm {
  return { apiVersion: 'mcpctl/v1', kind: 'Llm', metadata: { name }, spec: { type: 'vllm', model: 'Qwen/Qwen3-8B', ...spec } };
}

/** Declared Llms as the codec locates them: one file of canonical YAML, real line numbers. */
function declare(file: string, ...llms: Llm[]): LocatedLlm[] {
  const parse = parseResourceFile(file, toCanonicalYaml(llms));
  if (parse.diagnostics.length > 0) throw new Error(parse.diagnostics.map(formatDiagnostic).join('\n'));
  return parse.llms;
}

interface LiveOptions {
  agentId?: string;
  poolName?: string;
  model?: string;
  url?: string;
  type?: LiveLlm['type'];
  health?: Health;
  healthMessage?: string;
  heartbeatAgoMs?: number;
  restored?: boolean;
}

function live(name: string, options: LiveOptions = {}): LiveLlm {
  const agentId = options.agentId ?? 'gpu1';
  const entry: LiveLlm = {
    name,
    type: options.type ?? 'vllm',
    model: options.model ?? 'Qwen/Qwen3-8B',
    url: options.url ?? `http://${agentId}.lan:8000/v1`,
    health: options.health ?? 'ok',
    agentId,
    host: `${agentId}.lan`,
    lastHeartbeatAt: NOW_MS - (options.heartbeatAgoMs ?? 5_000),
    gpus: [{ index: 0, name: 'NVIDIA H100', memoryTotalMiB: 81_559, memoryUsedMiB: 40_000, utilizationPct: 37 }],
  };
  if (options.poolName !== undefined) entry.poolName = options.poolName;
  if (options.healthMessage !== undefined) entry.healthMessage = options.healthMessage;
  if (options.restored !== undefined) entry.restored = options.restored;
  return entry;
}

function views(declared: LocatedLlm[], lives: LiveLlm[] = [], probes?: Map<string, StaticProbe>, revision: string | null = 'abc123'): LlmView[] {
  const input = { declared, revision, live: lives, nowMs: NOW_MS, ttlMs: TTL_MS, ...(probes ? { probes } : {}) };
  return buildViews(input);
}

function only(list: LlmView[]): LlmView {
  expect(list).toHaveLength(1);
  return list[0] as LlmView;
}

// --- kind, phase, reason -----------------------------------------------------------------------

interface Row {
  label: string;
  declared: LocatedLlm[];
  live?: LiveLlm[];
  probes?: Map<string, StaticProbe>;
  kind: MemberKind;
  phase: Phase;
  sync: SyncState;
  reason: string;
  agent: string | null;
}

const rows: Row[] = [
  {
    label: 'managed, fresh heartbeat and healthy: active',
    declared: declare('llms/pool.yaml', llm('a')),
    live: [live('a')],
    kind: 'managed',
    phase: 'active',
    sync: 'Synced',
    reason: 'heartbeat 5s ago from agent gpu1',
    agent: 'gpu1',
  },
  {
    label: 'managed, no heartbeat within the TTL: stale',
    declared: declare('llms/pool.yaml', llm('a')),
    live: [live('a', { heartbeatAgoMs: 42_000 })],
    kind: 'managed',
    phase: 'stale',
    sync: 'Synced',
    reason: 'no heartbeat for 42s',
    agent: 'gpu1',
  },
  {
    label: 'managed, agent reports its endpoint failing: unhealthy',
    declared: declare('llms/pool.yaml', llm('a')),
    live: [live('a', { health: 'failing', healthMessage: 'ECONNREFUSED' })],
    kind: 'managed',
    phase: 'unhealthy',
    sync: 'Synced',
    reason: 'endpoint failing: ECONNREFUSED',
    agent: 'gpu1',
  },
  {
    label: 'managed, failing without a message',
    declared: declare('llms/pool.yaml', llm('a')),
    live: [live('a', { health: 'failing' })],
    kind: 'managed',
    phase: 'unhealthy',
    sync: 'Synced',
    reason: 'endpoint failing: no reason given',
    agent: 'gpu1',
  },
  {
    label: 'managed, agent has not probed yet: unknown',
    declared: declare('llms/pool.yaml', llm('a')),
    live: [live('a', { health: 'unknown' })],
    kind: 'managed',
    phase: 'unknown',
    sync: 'Synced',
    reason: 'agent gpu1 has not probed its endpoint yet',
    agent: 'gpu1',
  },
  {
    label: 'managed, restored from the state dir: stale whatever the clock says',
    declared: declare('llms/pool.yaml', llm('a')),
    live: [live('a', { heartbeatAgoMs: 1_000, restored: true })],
    kind: 'managed',
    phase: 'stale',
    sync: 'Synced',
    reason: 'restored after a reconciler restart, no heartbeat since (last 1s ago)',
    agent: 'gpu1',
  },
  {
    label: 'declared, no agent yet: pending',
    declared: declare('llms/pool.yaml', llm('a')),
    kind: 'declared',
    phase: 'pending',
    sync: 'Pending',
    reason: 'declared in llms/pool.yaml, no agent yet',
    agent: null,
  },
  {
    label: 'static, not probed yet: unknown',
    declared: declare('llms/hosted.yaml', llm('gpt', { type: 'openai', model: 'gpt-4o', url: 'https://api.openai.com/v1', source: 'static' })),
    kind: 'static',
    phase: 'unknown',
    sync: 'Synced',
    reason: 'static endpoint, not probed yet',
    agent: null,
  },
  {
    label: 'static, answers: active',
    declared: declare('llms/hosted.yaml', llm('gpt', { url: 'https://api.openai.com/v1', source: 'static' })),
    probes: new Map([['gpt', { ok: true }]]),
    kind: 'static',
    phase: 'active',
    sync: 'Synced',
    reason: 'static endpoint answers',
    agent: null,
  },
  {
    label: 'static, failing: unhealthy with the probe message',
    declared: declare('llms/hosted.yaml', llm('gpt', { url: 'https://api.openai.com/v1', source: 'static' })),
    probes: new Map([['gpt', { ok: false, message: 'HTTP 503' }]]),
    kind: 'static',
    phase: 'unhealthy',
    sync: 'Synced',
    reason: 'endpoint failing: HTTP 503',
    agent: null,
  },
  {
    label: 'static, failing without a message',
    declared: declare('llms/hosted.yaml', llm('gpt', { url: 'https://api.openai.com/v1', source: 'static' })),
    probes: new Map([['gpt', { ok: false }]]),
    kind: 'static',
    phase: 'unhealthy',
    sync: 'Synced',
    reason: 'endpoint failing: no answer',
    agent: null,
  },
  {
    label: 'static, an agent publishing the same name is ignored',
    declared: declare('llms/hosted.yaml', llm('gpt', { url: 'https://api.openai.com/v1', source: 'static' })),
    live: [live('gpt', { model: 'other' })],
    kind: 'static',
    phase: 'unknown',
    sync: 'Synced',
    reason: 'static endpoint, not probed yet',
    agent: null,
  },
  {
    label: 'enabled: false drains a live member, naming the file and line',
    declared: declare('llms/pool.yaml', llm('a', { poolName: 'p', enabled: false })),
    live: [live('a', { poolName: 'p' })],
    kind: 'managed',
    phase: 'draining',
    sync: 'Synced',
    reason: 'enabled: false in llms/pool.yaml:9',
    agent: 'gpu1',
  },
  {
    label: 'enabled: false drains a member with no agent',
    declared: declare('llms/pool.yaml', llm('a', { enabled: false })),
    kind: 'declared',
    phase: 'draining',
    sync: 'Pending',
    reason: 'enabled: false in llms/pool.yaml:8',
    agent: null,
  },
  {
    label: 'enabled: false drains a static member',
    declared: declare('llms/hosted.yaml', llm('gpt', { url: 'https://api.openai.com/v1', source: 'static', enabled: false })),
    probes: new Map([['gpt', { ok: true }]]),
    kind: 'static',
    phase: 'draining',
    sync: 'Synced',
    reason: 'enabled: false in llms/hosted.yaml:10',
    agent: null,
  },
  {
    label: 'virtual, published and not declared: active',
    declared: [],
    live: [live('stray', { agentId: 'gpu7' })],
    kind: 'virtual',
    phase: 'active',
    sync: 'OutOfSync',
    reason: 'published by agent gpu7, not declared',
    agent: 'gpu7',
  },
  {
    label: 'virtual and stale: the live reason',
    declared: [],
    live: [live('stray', { agentId: 'gpu7', heartbeatAgoMs: 92_000 })],
    kind: 'virtual',
    phase: 'stale',
    sync: 'OutOfSync',
    reason: 'no heartbeat for 92s',
    agent: 'gpu7',
  },
  {
    label: 'virtual and restored: stale',
    declared: [],
    live: [live('stray', { agentId: 'gpu7', heartbeatAgoMs: 300_000, restored: true })],
    kind: 'virtual',
    phase: 'stale',
    sync: 'OutOfSync',
    reason: 'restored after a reconciler restart, no heartbeat since (last 5m ago)',
    agent: 'gpu7',
  },
];

describe('kind, phase and reason of each member', () => {
  it.each(rows)('$label', (row) => {
    const v = only(views(row.declared, row.live ?? [], row.probes));
    expect({ kind: v.status.kind, phase: v.status.phase, sync: v.status.sync, reason: v.status.reason, agent: v.status.agent?.id ?? null }).toEqual({
      kind: row.kind,
      phase: row.phase,
      sync: row.sync,
      reason: row.reason,
      agent: row.agent,
    });
  });
});

// --- drift and sync ----------------------------------------------------------------------------

describe('drift and sync', () => {
  it('Git wins: differences from what the agent sends are drift, and the view keeps the declared spec and pool', () => {
    const v = only(
      views(declare('llms/a.yaml', llm('a', { poolName: 'p', url: 'http://gpu1.lan:8000/v1' })), [
        live('a', { poolName: 'q', model: 'Qwen/Qwen3-32B', type: 'tgi', url: 'http://gpu1.lan:9000/v1' }),
      ]),
    );
    expect(v.status.sync).toBe('OutOfSync');
    expect(v.status.drift).toEqual([
      { path: 'spec.type', declared: 'vllm', live: 'tgi' },
      { path: 'spec.model', declared: 'Qwen/Qwen3-8B', live: 'Qwen/Qwen3-32B' },
      { path: 'spec.url', declared: 'http://gpu1.lan:8000/v1', live: 'http://gpu1.lan:9000/v1' },
      { path: 'spec.poolName', declared: 'p', live: 'q' },
    ]);
    expect(v.spec).toMatchObject({ type: 'vllm', model: 'Qwen/Qwen3-8B', poolName: 'p' });
    expect(v.status.pool).toEqual({ key: 'p', explicit: true });
    expect(v.status.phase).toBe('active');
  });

  it.each<[string, Partial<LlmSpec>, LiveOptions, { path: string; declared: string | null; live: string | null }[]]>([
    ['the agent adds a poolName Git does not set', {}, { poolName: 'p' }, [{ path: 'spec.poolName', declared: null, live: 'p' }]],
    ['the agent drops the poolName Git sets', { poolName: 'p' }, {}, [{ path: 'spec.poolName', declared: 'p', live: null }]],
    ['a url Git leaves to the agent is not drift', {}, { url: 'http://anywhere:1/v1' }, []],
    ['everything equal: no drift', { poolName: 'p' }, { poolName: 'p' }, []],
  ])('%s', (_label, spec, options, drift) => {
    const v = only(views(declare('llms/a.yaml', llm('a', spec)), [live('a', options)]));
    expect(v.status.drift).toEqual(drift);
    expect(v.status.sync).toBe(drift.length > 0 ? 'OutOfSync' : 'Synced');
  });

  it('driftOf compares type, model, url (when declared) and poolName in that order', () => {
    expect(driftOf({ type: 'vllm', model: 'm' }, { type: 'vllm', model: 'm', url: 'http://x/v1', poolName: undefined })).toEqual([]);
    expect(driftOf({ type: 'vllm', model: 'm', url: 'http://y/v1' }, { type: 'vllm', model: 'm', url: 'http://x/v1', poolName: undefined })).toEqual([
      { path: 'spec.url', declared: 'http://y/v1', live: 'http://x/v1' },
    ]);
  });

  it('a declared member has no drift without an agent', () => {
    expect(only(views(declare('llms/a.yaml', llm('a', { poolName: 'p' })))).status.drift).toEqual([]);
  });
});

// --- the rest of the view ----------------------------------------------------------------------

describe('the view', () => {
  it('carries the source file, the line of the document and the revision', () => {
    const declared = declare('llms/pool.yaml', llm('a'), llm('b'));
    const [a, b] = views(declared, [], undefined, 'f00d');
    expect(a?.status.source).toEqual({ file: 'llms/pool.yaml', line: 1, revision: 'f00d' });
    expect(b?.status.source).toEqual({ file: 'llms/pool.yaml', line: 9, revision: 'f00d' });
    expect(only(views(declare('llms/a.yaml', llm('a')), [], undefined, null)).status.source?.revision).toBe('');
  });

  it('carries the agent: id, host, ISO heartbeat time, GPUs and the published url', () => {
    const v = only(views(declare('llms/a.yaml', llm('a')), [live('a', { heartbeatAgoMs: 10_000 })]));
    expect(v.status.agent).toEqual({
      id: 'gpu1',
      host: 'gpu1.lan',
      lastHeartbeatAt: '2025-01-01T11:59:50.000Z',
      gpus: [{ index: 0, name: 'NVIDIA H100', memoryTotalMiB: 81_559, memoryUsedMiB: 40_000, utilizationPct: 37 }],
      url: 'http://gpu1.lan:8000/v1',
    });
  });

  it('a virtual view is built from what the agent sends, with no source', () => {
    const v = only(views([], [live('stray', { agentId: 'gpu7', poolName: 'p' })]));
    expect(v).toMatchObject({
      apiVersion: 'mcpctl/v1',
      kind: 'Llm',
      metadata: { name: 'stray' },
      spec: { type: 'vllm', model: 'Qwen/Qwen3-8B', url: 'http://gpu7.lan:8000/v1', poolName: 'p' },
      status: { source: null, drift: [], pool: { key: 'p', explicit: true } },
    });
  });

  it('pool of each view: explicit from its own poolName, implicit from its name', () => {
    const list = views(declare('llms/a.yaml', llm('qwen3'), llm('w', { poolName: 'qwen3' })), [live('v')]);
    expect(list.map((v) => [v.metadata.name, v.status.pool])).toEqual([
      ['qwen3', { key: 'qwen3', explicit: false }],
      ['v', { key: 'v', explicit: false }],
      ['w', { key: 'qwen3', explicit: true }],
    ]);
  });

  it('sorts views by name, declared and live mixed', () => {
    const list = views(declare('llms/a.yaml', llm('m'), llm('b')), [live('z'), live('a'), live('m')]);
    expect(list.map((v) => `${v.metadata.name}:${v.status.kind}`)).toEqual(['a:virtual', 'b:declared', 'm:managed', 'z:virtual']);
  });

  it('a worker registering with the legacy name as poolName grows its pool, counted by phase', () => {
    const list = views(declare('llms/legacy.yaml', llm('qwen3')), [
      live('qwen3', { agentId: 'gpu0' }),
      live('vllm-gpu9-qwen3', { agentId: 'gpu9', poolName: 'qwen3' }),
      live('vllm-gpu8-qwen3', { agentId: 'gpu8', poolName: 'qwen3', heartbeatAgoMs: 60_000 }),
    ]);
    expect(membersOf(list, 'qwen3')?.pool).toEqual({ key: 'qwen3', explicit: false, size: 3, activeCount: 2, minActive: 0, health: 'Healthy' });
    expect(membersOf(list, 'vllm-gpu9-qwen3')?.pool.explicit).toBe(true);
  });
});

// --- time --------------------------------------------------------------------------------------

describe('staleness and ages', () => {
  it.each<[string, number, boolean | undefined, boolean]>([
    ['a heartbeat exactly one TTL ago is still fresh', TTL_MS, undefined, false],
    ['a millisecond past the TTL is stale', TTL_MS + 1, undefined, true],
    ['a restored entry is stale however recent', 0, true, true],
    ['a heartbeat from the future (clock skew) is fresh', -5_000, undefined, false],
  ])('%s', (_label, agoMs, restored, stale) => {
    const entry = live('a', { heartbeatAgoMs: agoMs, ...(restored === undefined ? {} : { restored }) });
    expect(isStale(entry, NOW_MS, TTL_MS)).toBe(stale);
  });

  it.each<[number, string]>([
    [-1_000, '0s'],
    [0, '0s'],
    [999, '0s'],
    [42_000, '42s'],
    [119_999, '119s'],
    [120_000, '2m'],
    [119 * 60_000, '119m'],
    [120 * 60_000, '2h'],
    [47 * 3_600_000, '47h'],
    [48 * 3_600_000, '2d'],
  ])('formatAge(%i) is %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});
