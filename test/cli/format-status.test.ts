// `mcpctl status` text, pinned by goldens: what is served and why, errors as file:line:col, history.
import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../cli/format/color.js';
import { assessStatus, exitCodeOfStatus, formatStatus, type StatusVerdict } from '../../cli/format/status-format.js';
import type { ReconcileAttempt, SourceError, StatusAnswer } from '../../schema/views.js';

const NOW_MS = Date.parse('2026-03-02T10:15:00.000Z');
const GOOD = '3391cab0d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8';
const OLDER = '84c01213b11272111b9bab271c6eeea112aecf63';
const BAD = 'ff5b2910aa1bb2cc3dd4ee5ff6a7b8c9d0e1f2a3';

function at(secondsAgo: number): string {
  return new Date(NOW_MS - secondsAgo * 1000).toISOString();
}

function attempt(revision: string | null, secondsAgo: number, result: ReconcileAttempt['result'], durationMs: number, errors: SourceError[] = []): ReconcileAttempt {
  return { revision, at: at(secondsAgo), durationMs, result, errors };
}

const COUNTS: StatusAnswer['counts'] = {
  llms: 6,
  pools: 4,
  agents: 2,
  byPhase: { active: 2, pending: 2, stale: 0, unhealthy: 1, draining: 1, unknown: 0 },
  byKind: { managed: 2, static: 1, virtual: 0, declared: 3 },
};

const SOURCE = 'git https://git.lab.example/platform/llms.git#main:llms';
const FILE_STORE: StatusAnswer['store'] = { kind: 'file', endpoints: [], leader: null };
const ETCD_STORE: StatusAnswer['store'] = { kind: 'etcd', endpoints: ['10.0.0.11:2379', '10.0.0.12:2379', '10.0.0.13:2379'], leader: 'http://10.0.0.21:7420' };

const TWO_ERRORS: SourceError[] = [
  { file: 'llms/gpu9.yaml', line: 8, col: 3, message: 'spec.colour: unknown field "colour" (expected one of type, model, url, poolName, source, enabled, apiKeyRef)' },
  { file: 'llms/qwen3-thinking-pool.yaml', line: 41, col: 9, message: 'metadata.name: duplicate name "vllm-gpu2-qwen3" (first declared in llms/qwen3-thinking-pool.yaml:24)' },
];

function allGood(): StatusAnswer {
  return {
    revision: GOOD,
    lastGoodRevision: GOOD,
    source: SOURCE,
    lastSyncAt: at(4),
    errors: [],
    counts: COUNTS,
    history: [attempt(GOOD, 4, 'unchanged', 31), attempt(GOOD, 185, 'applied', 142), attempt(OLDER, 7260, 'applied', 1830)],
    store: FILE_STORE,
  };
}

function rejectedNewest(): StatusAnswer {
  return {
    revision: BAD,
    lastGoodRevision: GOOD,
    source: SOURCE,
    lastSyncAt: at(12),
    errors: TWO_ERRORS,
    counts: COUNTS,
    history: [attempt(BAD, 12, 'unchanged', 28, TWO_ERRORS), attempt(BAD, 40, 'rejected', 96, TWO_ERRORS), attempt(GOOD, 185, 'applied', 142), attempt(OLDER, 7260, 'applied', 1830)],
    store: FILE_STORE,
  };
}

/** As an older reconciler answers: no `store`. */
function emptyHistory(): StatusAnswer {
  return {
    revision: null,
    lastGoodRevision: null,
    source: 'worktree /home/ana/llms-repo/llms',
    lastSyncAt: null,
    errors: [],
    counts: { llms: 0, pools: 0, agents: 0, byPhase: { active: 0, pending: 0, stale: 0, unhealthy: 0, draining: 0, unknown: 0 }, byKind: { managed: 0, static: 0, virtual: 0, declared: 0 } },
    history: [],
  };
}

describe('formatStatus', () => {
  it('all good: serving the newest revision, the history marks the serving attempt', async () => {
    const text = formatStatus(allGood(), { color: false, nowMs: NOW_MS });
    await expect(text).toMatchFileSnapshot('../golden/status/all-good.txt');
    expect(text.split('\n')[0]).toBe('Serving the newest revision, 3391cab.');
  });

  it('a rejected newest revision: one line says an older one is served and why, then every error as file:line:col', async () => {
    const text = formatStatus(rejectedNewest(), { color: false, nowMs: NOW_MS });
    await expect(text).toMatchFileSnapshot('../golden/status/rejected-two-errors.txt');
    const lines = text.split('\n');
    expect(lines[0]).toBe('Serving an older revision, 3391cab, because the newest, ff5b291, was rejected with 2 errors:');
    expect(lines).toContain(`  llms/gpu9.yaml:8:3: ${TWO_ERRORS[0]?.message}`);
    expect(lines).toContain(`  llms/qwen3-thinking-pool.yaml:41:9: ${TWO_ERRORS[1]?.message}`);
  });

  it('a rejected newest revision in colour: the headline is red and the text is unchanged under the colour', async () => {
    const text = formatStatus(rejectedNewest(), { color: true, nowMs: NOW_MS });
    await expect(text).toMatchFileSnapshot('../golden/status/rejected-two-errors.color.txt');
    expect(text.startsWith('\u001b[31mServing an older revision')).toBe(true);
    expect(stripAnsi(text)).toBe(formatStatus(rejectedNewest(), { color: false, nowMs: NOW_MS }));
  });

  it('empty history: says nothing was read yet instead of printing an empty table', async () => {
    const text = formatStatus(emptyHistory(), { color: false, nowMs: NOW_MS });
    await expect(text).toMatchFileSnapshot('../golden/status/empty-history.txt');
    expect(text).not.toContain('REVISION');
    // An older reconciler says nothing of its store: no line for it.
    expect(text).not.toContain('Store:');
  });

  it('an etcd store: its endpoints and the reconciler that reads Git', async () => {
    const text = formatStatus({ ...allGood(), store: ETCD_STORE }, { color: false, nowMs: NOW_MS });
    await expect(text).toMatchFileSnapshot('../golden/status/etcd-store.txt');
    expect(text.split('\n')).toContain('Store:               etcd 10.0.0.11:2379,10.0.0.12:2379,10.0.0.13:2379 (leader: http://10.0.0.21:7420)');
  });

  it('an etcd store that does not answer: said under the headline, and since when and why on its line; the exit code stays the revision verdict', async () => {
    const unavailable = { since: at(12), reason: 'etcd is unavailable (compare-and-set: no answer within 2000 ms)' };
    const status: StatusAnswer = { ...allGood(), store: { ...ETCD_STORE, leader: null, unavailable } };
    const text = formatStatus(status, { color: false, nowMs: NOW_MS });
    await expect(text).toMatchFileSnapshot('../golden/status/etcd-unavailable.txt');
    expect(text.split('\n')[1]).toBe('The lease store (etcd) has not answered for 12s: registrations and heartbeats are refused (503), reads serve the last view.');
    expect(exitCodeOfStatus(status)).toBe(0);
  });

  it('no revision has ever loaded: serving nothing, with the errors of the one that was rejected', async () => {
    const status: StatusAnswer = { ...rejectedNewest(), lastGoodRevision: null, counts: emptyHistory().counts, history: [attempt(BAD, 40, 'rejected', 96, TWO_ERRORS)] };
    await expect(formatStatus(status, { color: false, nowMs: NOW_MS })).toMatchFileSnapshot('../golden/status/nothing-loaded.txt');
  });

  it('an unreadable source: what was served still is, and the failure is shown without a file position', async () => {
    const failure: SourceError = { file: '', line: 0, col: 0, message: 'git fetch https://git.lab.example/platform/llms.git failed: Could not resolve host: git.lab.example' };
    const status: StatusAnswer = { ...allGood(), errors: [failure], history: [attempt(null, 3, 'rejected', 5012, [failure]), ...allGood().history] };
    const text = formatStatus(status, { color: false, nowMs: NOW_MS });
    await expect(text).toMatchFileSnapshot('../golden/status/source-unreadable.txt');
    expect(text).not.toContain(':0:0');
  });
});

describe('the verdict behind the exit code', () => {
  const cases: [string, StatusAnswer, StatusVerdict, 0 | 1][] = [
    ['all good', allGood(), 'current', 0],
    ['a rejected newest revision', rejectedNewest(), 'rejected', 1],
    ['no history yet', emptyHistory(), 'unread', 0],
    ['a rejected revision and nothing served', { ...rejectedNewest(), lastGoodRevision: null }, 'rejected', 1],
    ['a failed read of the source', { ...allGood(), errors: [{ file: '', line: 0, col: 0, message: 'unreachable' }] }, 'unreadable', 1],
  ];
  it.each(cases)('%s', (_name, status, verdict, code) => {
    expect(assessStatus(status)).toBe(verdict);
    expect(exitCodeOfStatus(status)).toBe(code);
  });
});
