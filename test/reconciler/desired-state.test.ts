import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredSource, RevisionCandidate } from '../../reconciler/desired-state-api.js';
import { DesiredState } from '../../reconciler/desired-state.js';
import { GitSource } from '../../reconciler/git-source.js';
import { WorktreeSource } from '../../reconciler/worktree-source.js';
import type { SourceError } from '../../schema/views.js';
import { createRemoteWithClone, createRepo, llmYaml, makeTempDir, poolYaml, removeTempDirs, waitFor, writeFiles, type TestRepo } from './desired-fixtures.js';

const HOUR_MS = 3_600_000;
const states: DesiredState[] = [];

afterEach(async () => {
  await Promise.all(states.splice(0).map((s) => s.stop()));
  await removeTempDirs();
});

interface GitStateOptions {
  branch?: string;
  pollMs?: number;
  log?: (line: string) => void;
  /** Off for tests that count attempts: a watcher would add its own syncs after each commit. */
  watch?: boolean;
}

async function gitState(source: string, options: GitStateOptions = {}): Promise<DesiredState> {
  const gitSource = new GitSource({ source, branch: options.branch ?? 'main', path: 'llms', cacheDir: await makeTempDir('cache') });
  const desiredSource = options.watch === true ? gitSource : new ObservedSource(gitSource, false);
  return track(new DesiredState({ source: desiredSource, pollMs: options.pollMs ?? HOUR_MS, log: options.log }));
}

function track(state: DesiredState): DesiredState {
  states.push(state);
  return state;
}

function servedNames(state: DesiredState): string[] {
  return (state.current()?.llms ?? []).map((l) => l.resource.metadata.name).sort();
}

/** A fleet of three files: one pool and two Llms. */
async function commitGoodFleet(repo: TestRepo): Promise<string> {
  return repo.commit({
    'llms/pool.yaml': poolYaml('qwen'),
    'llms/a.yaml': llmYaml('a', { pool: 'qwen' }),
    'llms/team/b.yaml': llmYaml('b', { pool: 'qwen' }),
  });
}

/** Wraps a real source: counts reads and can hold a read back until released. */
class ObservedSource implements DesiredSource {
  reads = 0;
  /** Reads whose candidate is in hand (possibly held back at the gate). */
  readsDone = 0;
  private gate: Promise<void> | null = null;
  private release: (() => void) | null = null;

  constructor(
    private readonly inner: DesiredSource,
    private readonly watchable = true,
  ) {}

  get description(): string {
    return this.inner.description;
  }

  async read(): Promise<RevisionCandidate> {
    this.reads++;
    const candidate = await this.inner.read();
    this.readsDone++;
    if (this.gate !== null) await this.gate;
    return candidate;
  }

  watch(onChange: () => void): Promise<() => Promise<void>> {
    return this.watchable ? this.inner.watch(onChange) : Promise.resolve(async () => {});
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.gate = null;
  }
}

describe('DesiredState with a Git source', () => {
  it('applies the first revision whole and reports it', async () => {
    const repo = await createRepo();
    const sha = await commitGoodFleet(repo);
    let clockMs = Date.parse('2026-03-01T12:00:00.000Z');
    const gitSource = new GitSource({ source: repo.dir, branch: 'main', path: 'llms', cacheDir: await makeTempDir('cache') });
    const state = track(new DesiredState({ source: gitSource, pollMs: HOUR_MS, now: () => (clockMs += 5) }));

    const attempt = await state.start();

    expect(attempt).toEqual({ revision: sha, at: '2026-03-01T12:00:00.005Z', durationMs: 5, result: 'applied', errors: [] });
    expect(state.current()?.revision).toBe(sha);
    expect(servedNames(state)).toEqual(['a', 'b']);
    expect(state.current()?.pools.map((p) => p.resource.metadata.name)).toEqual(['qwen']);
    expect(state.current()?.llms.find((l) => l.resource.metadata.name === 'b')).toMatchObject({ file: 'llms/team/b.yaml', line: 1 });
    expect(state.status()).toEqual({
      revision: sha,
      lastGoodRevision: sha,
      source: `git ${repo.dir}#main:llms`,
      // The first commit is the root: what a client compares with its own repository's.
      sourceRootCommits: [sha],
      lastSyncAt: '2026-03-01T12:00:00.005Z',
      errors: [],
      history: [attempt],
    });
  });

  it('serves a new commit after sync()', async () => {
    const repo = await createRepo();
    await commitGoodFleet(repo);
    const state = await gitState(repo.dir);
    await state.start();

    const root = state.status().sourceRootCommits;
    const sha = await repo.commit({ 'llms/c.yaml': llmYaml('c') });
    const attempt = await state.sync();
    expect(attempt).toMatchObject({ revision: sha, result: 'applied', errors: [] });
    expect(servedNames(state)).toEqual(['a', 'b', 'c']);
    expect(state.status().sourceRootCommits).toEqual(root);
  });

  it('serves a commit to a local repository without waiting for the poll', async () => {
    const repo = await createRepo();
    await commitGoodFleet(repo);
    const state = await gitState(repo.dir, { pollMs: HOUR_MS, watch: true });
    let changes = 0;
    state.onChange(() => changes++);
    await state.start();

    const sha = await repo.commit({ 'llms/c.yaml': llmYaml('c') });
    await waitFor(() => state.current()?.revision === sha, 'the new commit to be served');
    expect(servedNames(state)).toEqual(['a', 'b', 'c']);
    expect(changes).toBeGreaterThanOrEqual(1);
  });

  it('serves a push to a local bare remote without waiting for the poll', async () => {
    const { remote, clone } = await createRemoteWithClone();
    await commitGoodFleet(clone);
    const state = await gitState(remote, { pollMs: HOUR_MS, watch: true });
    await state.start();

    const sha = await clone.commit({ 'llms/a.yaml': null });
    await waitFor(() => state.current()?.revision === sha, 'the pushed commit to be served');
    expect(servedNames(state)).toEqual(['b']);
  });

  it('polls a source that cannot be watched', async () => {
    const repo = await createRepo();
    await commitGoodFleet(repo);
    const source = new ObservedSource(new GitSource({ source: repo.dir, branch: 'main', path: 'llms', cacheDir: await makeTempDir('cache') }), false);
    const state = track(new DesiredState({ source, pollMs: 20 }));
    await state.start();

    const sha = await repo.commit({ 'llms/c.yaml': llmYaml('c') });
    await waitFor(() => state.current()?.revision === sha, 'the poll to pick the commit up');
    await state.stop();
  });

  const invalidCommits: { kind: string; files: Record<string, string>; errors: SourceError[] }[] = [
    {
      kind: 'a YAML syntax error',
      files: { 'llms/team/b.yaml': llmYaml('b').replace('model: Qwen/Qwen3-8B', 'model: "Qwen/Qwen3-8B') },
      errors: [{ file: 'llms/team/b.yaml', line: 7, col: 10, message: expect.stringMatching(/^invalid YAML: /) as string }],
    },
    {
      kind: 'a schema error',
      files: { 'llms/a.yaml': llmYaml('a').replace('type: vllm', 'type: gpt') },
      errors: [{ file: 'llms/a.yaml', line: 6, col: 9, message: expect.stringMatching(/^spec\.type: expected .*vllm.*, found "gpt"$/) as string }],
    },
    {
      kind: 'a name declared in two files',
      files: { 'llms/team/copy.yaml': llmYaml('a') },
      errors: [{ file: 'llms/team/copy.yaml', line: 4, col: 9, message: expect.stringMatching(/^metadata\.name: duplicate Llm name "a": already declared at llms\/a\.yaml:4$/) as string }],
    },
    {
      // The new file sorts before the one that had the name all along: still blamed, not llms/a.yaml.
      kind: 'a name copied into a new file that sorts first',
      files: { 'llms/0-dup.yaml': llmYaml('a') },
      errors: [{ file: 'llms/0-dup.yaml', line: 4, col: 9, message: expect.stringMatching(/^metadata\.name: duplicate Llm name "a": already declared at llms\/a\.yaml:4$/) as string }],
    },
    {
      kind: 'an inline secret',
      files: { 'llms/a.yaml': `${llmYaml('a')}  apiKey: sk-live-123\n` },
      errors: [{ file: 'llms/a.yaml', line: 8, col: 3, message: expect.stringMatching(/^spec\.apiKey: inline secrets are not allowed/) as string }],
    },
    {
      kind: 'errors in two files at once',
      files: { 'llms/a.yaml': llmYaml('a').replace('type: vllm', 'type: gpt'), 'llms/pool.yaml': poolYaml('qwen').replace('minActive: 1', 'minActive: -1') },
      errors: [
        { file: 'llms/a.yaml', line: 6, col: 9, message: expect.stringMatching(/^spec\.type: /) as string },
        { file: 'llms/pool.yaml', line: 6, col: 14, message: expect.stringMatching(/^spec\.minActive: .*found number -1$/) as string },
      ],
    },
  ];

  it.each(invalidCommits)('never replaces the last good revision with $kind, and recovers after a fix', async ({ files, errors }) => {
    const repo = await createRepo();
    const good = await commitGoodFleet(repo);
    const state = await gitState(repo.dir);
    let changes = 0;
    state.onChange(() => changes++);
    await state.start();
    const served = state.current();
    changes = 0;

    const bad = await repo.commit(files);
    const attempt = await state.sync();

    expect(attempt).toMatchObject({ revision: bad, result: 'rejected' });
    expect(attempt.errors).toEqual(errors);
    expect(state.current()).toBe(served);
    expect(state.status()).toMatchObject({ revision: bad, lastGoodRevision: good, errors });
    expect(changes).toBe(1);
    // Polled again it is still rejected, not `unchanged`, and keeps one history row fresh.
    expect(await state.sync()).toMatchObject({ revision: bad, result: 'rejected', errors });
    expect(state.status().history.map((a) => a.result)).toEqual(['rejected', 'applied']);

    const fixed = await repo.commit({ 'llms/team/copy.yaml': null, 'llms/0-dup.yaml': null, 'llms/a.yaml': llmYaml('a', { pool: 'qwen' }), 'llms/team/b.yaml': llmYaml('b'), 'llms/pool.yaml': poolYaml('qwen') });
    expect(await state.sync()).toMatchObject({ revision: fixed, result: 'applied', errors: [] });
    expect(state.status()).toMatchObject({ revision: fixed, lastGoodRevision: fixed, errors: [] });
    expect(state.status().history.map((a) => a.result)).toEqual(['applied', 'rejected', 'applied']);
    expect(changes).toBe(2);
  });

  it('answers unchanged for the same revision without parsing anything or telling listeners', async () => {
    const repo = await createRepo();
    const sha = await commitGoodFleet(repo);
    let clockMs = 0;
    const gitSource = new GitSource({ source: repo.dir, branch: 'main', path: 'llms', cacheDir: await makeTempDir('cache') });
    const state = track(new DesiredState({ source: gitSource, pollMs: HOUR_MS, now: () => (clockMs += 1000) }));
    await state.start();
    const served = state.current();
    const stats = state.parseCacheStats();
    let changes = 0;
    state.onChange(() => changes++);

    expect(await state.sync()).toMatchObject({ revision: sha, result: 'unchanged', errors: [] });
    const second = await state.sync();
    expect(second).toMatchObject({ revision: sha, result: 'unchanged' });

    expect(state.parseCacheStats()).toEqual(stats);
    expect(state.current()).toBe(served);
    expect(changes).toBe(0);
    // Quiet polls keep one fresh `unchanged` row instead of pushing the last apply out of the history.
    expect(state.status().history.map((a) => a.result)).toEqual(['unchanged', 'applied']);
    expect(state.status().history[0]).toEqual(second);
  });

  it('re-parses exactly the one file a commit changed', async () => {
    const repo = await createRepo();
    await commitGoodFleet(repo);
    const state = await gitState(repo.dir);
    await state.start();
    const before = state.parseCacheStats();
    expect(before).toMatchObject({ misses: 3, size: 3 });

    await repo.commit({ 'llms/team/b.yaml': llmYaml('b', { model: 'Qwen/Qwen3-32B' }) });
    expect((await state.sync()).result).toBe('applied');

    const after = state.parseCacheStats();
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(2);
    expect(after.size).toBe(3);
    expect(state.current()?.llms.find((l) => l.resource.metadata.name === 'b')?.resource.spec.model).toBe('Qwen/Qwen3-32B');
  });

  it('keeps serving when the branch disappears, says so, and recovers when it is back', async () => {
    const repo = await createRepo();
    await repo.commit({ 'README.md': 'fleet\n' });
    await repo.git.checkoutLocalBranch('fleet');
    const sha = await commitGoodFleet(repo);
    await repo.git.checkout('main');
    const lines: string[] = [];
    const state = await gitState(repo.dir, { branch: 'fleet', log: (line) => lines.push(line) });
    await state.start();
    const served = state.current();

    await repo.git.raw(['branch', '-D', 'fleet']);
    const attempt = await state.sync();
    const missing = { file: '', line: 0, col: 0, message: `branch "fleet" does not exist in ${repo.dir}` };
    expect(attempt).toMatchObject({ revision: null, result: 'rejected', errors: [missing] });
    expect(state.current()).toBe(served);
    expect(state.status()).toMatchObject({ revision: sha, lastGoodRevision: sha, errors: [missing] });
    expect(lines.some((l) => l.includes('does not exist') && l.includes(`still serving ${sha}`))).toBe(true);

    await repo.git.raw(['branch', 'fleet', sha]);
    expect(await state.sync()).toMatchObject({ revision: sha, result: 'unchanged', errors: [] });
    expect(state.status().errors).toEqual([]);
  });

  it('starts with nothing served when the first read fails', async () => {
    const repo = await createRepo();
    await commitGoodFleet(repo);
    const state = await gitState(repo.dir, { branch: 'nope' });
    const attempt = await state.start();
    expect(attempt).toMatchObject({ revision: null, result: 'rejected' });
    expect(attempt.errors[0]?.message).toContain('branch "nope" does not exist');
    expect(state.current()).toBeNull();
    expect(state.status()).toMatchObject({ revision: null, lastGoodRevision: null });
  });

  it('keeps the last 10 attempts, newest first', async () => {
    const repo = await createRepo();
    const state = await gitState(repo.dir);
    const shas = [await commitGoodFleet(repo)];
    await state.start();
    for (let i = 0; i < 11; i++) {
      shas.push(await repo.commit({ [`llms/extra-${i}.yaml`]: llmYaml(`extra-${i}`) }));
      await state.sync();
    }
    const history = state.status().history;
    expect(history).toHaveLength(10);
    expect(history.map((a) => a.revision)).toEqual(shas.slice(-10).reverse());
    expect(history.every((a) => a.result === 'applied' && !Number.isNaN(Date.parse(a.at)) && a.durationMs >= 0)).toBe(true);
  });
});

describe('DesiredState with a worktree', () => {
  it('serves a save, drops a deleted file, and keeps the last good revision through a broken save', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, { 'llms/a.yaml': llmYaml('a') });
    const state = track(new DesiredState({ source: new WorktreeSource({ dir, path: 'llms' }), pollMs: HOUR_MS }));
    await state.start();
    expect(servedNames(state)).toEqual(['a']);

    await writeFile(join(dir, 'llms/b.yaml'), llmYaml('b'));
    await waitFor(() => servedNames(state).includes('b'), 'the saved file to be served');

    await rm(join(dir, 'llms/a.yaml'));
    await waitFor(() => !servedNames(state).includes('a'), 'the deleted file to be dropped');
    expect(servedNames(state)).toEqual(['b']);
    const good = state.current();

    await writeFile(join(dir, 'llms/b.yaml'), `${llmYaml('b')}  password: hunter2\n`);
    await waitFor(() => state.status().errors.length > 0, 'the broken save to be reported');
    expect(state.current()).toBe(good);
    expect(state.status().errors).toEqual([{ file: 'llms/b.yaml', line: 8, col: 3, message: expect.stringMatching(/^spec\.password: inline secrets/) as string }]);
    expect(state.status().lastGoodRevision).toBe(good?.revision);

    await writeFile(join(dir, 'llms/b.yaml'), llmYaml('b', { model: 'fixed' }));
    await waitFor(() => state.current()?.llms[0]?.resource.spec.model === 'fixed', 'the fixed save to be served');
    expect(state.status().errors).toEqual([]);
  });
});

describe('DesiredState.sync concurrency and listeners', () => {
  it('shares one running read and queues a single follow-up that sees later changes', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, { 'llms/a.yaml': llmYaml('a') });
    const source = new ObservedSource(new WorktreeSource({ dir, path: 'llms' }));
    const state = track(new DesiredState({ source, pollMs: HOUR_MS }));

    source.hold();
    const first = state.sync();
    await waitFor(() => source.readsDone === 1, 'the first read to be held');
    await writeFiles(dir, { 'llms/b.yaml': llmYaml('b') });
    const queued = [state.sync(), state.sync(), state.sync()];
    source.open();

    const [firstAttempt, ...queuedAttempts] = await Promise.all([first, ...queued]);
    expect(source.reads).toBe(2);
    expect(queued[1]).toBe(queued[0]);
    expect(queued[2]).toBe(queued[0]);
    expect(firstAttempt?.revision).not.toBe(queuedAttempts[0]?.revision);
    expect(servedNames(state)).toEqual(['a', 'b']);
    expect(state.status().history.map((a) => a.result)).toEqual(['applied', 'applied']);
  });

  it('keeps syncing and telling other listeners when one listener throws', async () => {
    const dir = await makeTempDir('worktree');
    await writeFiles(dir, { 'llms/a.yaml': llmYaml('a') });
    const lines: string[] = [];
    const source = new ObservedSource(new WorktreeSource({ dir, path: 'llms' }), false);
    const state = track(new DesiredState({ source, pollMs: HOUR_MS, log: (l) => lines.push(l) }));
    state.onChange(() => {
      throw new Error('listener bug');
    });
    let told = 0;
    const unsubscribe = state.onChange(() => told++);
    await state.start();
    expect(told).toBe(1);

    await writeFiles(dir, { 'llms/b.yaml': llmYaml('b') });
    expect((await state.sync()).result).toBe('applied');
    expect(told).toBe(2);
    expect(lines.some((l) => l.includes('listener bug'))).toBe(true);

    unsubscribe();
    await writeFiles(dir, { 'llms/c.yaml': llmYaml('c') });
    expect((await state.sync()).result).toBe('applied');
    expect(told).toBe(2);
  });
});
