// The apply pipeline on real Git repositories. The reconciler's side is a stand-in that serves
// the committed tip of the repository once asked to sync, as a reconciler following it does.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { afterEach, describe, expect, test } from 'vitest';
import { loadResources } from '../../schema/codec.js';
import { computePlan, type DeclaredSet } from '../../schema/plan.js';
import type { SyncAnswer } from '../../schema/views.js';
import { changedResourceFiles, readFilesAtRef, readWorktreeFiles, type Repo } from '../../cli/repo.js';
import { commitMessageOf, runApplyPipeline, type ApplyDeps } from '../../cli/tui/apply-pipeline.js';
import type { PlanResult, StepProgress } from '../../cli/tui/data-source.js';
import { buildResourceDiffs, fingerprintDeclared } from '../../cli/tui/resource-diffs.js';
import { editedFiles, REALISTIC_FILES } from './support/tui-fleet.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mcpctl-tui-${prefix}-`));
  dirs.push(dir);
  return dir;
}

function gitAt(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, config: ['user.name=mcpctl test', 'user.email=test@mcpctl.invalid', 'commit.gpgsign=false'] });
}

async function writeTree(root: string, files: Record<string, string | null>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const abs = join(root, path);
    if (text === null) await rm(abs, { force: true });
    else {
      await mkdir(dirname(abs), { recursive: true });
      await writeFile(abs, text);
    }
  }
}

/** A repository whose tip holds the realistic fleet, with a README outside llms/. */
async function createFleetRepo(): Promise<Repo> {
  const root = await tempDir('repo');
  const git = gitAt(root);
  await git.init(['--initial-branch=main']);
  await writeTree(root, { ...REALISTIC_FILES, 'README.md': 'fleet\n' });
  await git.add('.');
  await git.commit('fleet');
  return { root, path: 'llms', git };
}

function load(files: { path: string; text: string }[]): DeclaredSet {
  const loaded = loadResources(files);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  return { llms: loaded.llms, pools: loaded.pools };
}

/** The stand-in reconciler: serves the tip it last synced; `sync` answers as POST /api/v1/sync. */
function standInReconciler(repo: Repo, answer?: (revision: string) => SyncAnswer) {
  let served: { revision: string; declared: DeclaredSet } | null = null;
  const fetchTip = async (): Promise<{ revision: string; declared: DeclaredSet }> => {
    const tip = await readFilesAtRef(repo, 'HEAD');
    served = { revision: tip.revision, declared: load(tip.files) };
    return served;
  };
  const syncNow = async (): Promise<SyncAnswer> => {
    const { revision } = await fetchTip();
    return answer?.(revision) ?? { revision, result: 'applied', errors: [] };
  };
  const replan = async (): Promise<PlanResult> => {
    const base = served ?? (await fetchTip());
    const desired = load(await readWorktreeFiles(repo));
    const plan = computePlan({ desired, base: { ...base.declared, revision: base.revision, label: `reconciler revision ${base.revision.slice(0, 7)}` }, live: [] });
    return { plan, diffs: buildResourceDiffs(plan, base.declared, desired), fingerprint: fingerprintDeclared(desired) };
  };
  return { syncNow, replan };
}

function depsOf(repo: Repo, reconciler: ReturnType<typeof standInReconciler>, overrides: Partial<ApplyDeps> = {}): ApplyDeps {
  let clock = 0;
  return {
    repo,
    replan: reconciler.replan,
    sync: reconciler.syncNow,
    sleep: async (ms) => void (clock += ms),
    now: () => clock,
    convergeTimeoutMs: 5_000,
    pollMs: 500,
    ...overrides,
  };
}

/** The working tree of `editedFiles()`: one file changed, one added, one deleted. */
async function editWorkingTree(repo: Repo): Promise<void> {
  const edited = editedFiles();
  await writeTree(repo.root, {
    'llms/qwen3-thinking-pool.yaml': edited['llms/qwen3-thinking-pool.yaml'] ?? null,
    'llms/gpu4.yaml': edited['llms/gpu4.yaml'] ?? null,
    'llms/ollama-dev.yaml': null,
    'README.md': 'fleet, edited but not a resource\n',
  });
}

const finals = (steps: StepProgress[]): string[] => {
  const last = new Map<string, StepProgress>();
  for (const s of steps) last.set(s.step, s);
  return [...last.values()].map((s) => `${s.step}:${s.state}`);
};

describe('runApplyPipeline', () => {
  test('commits exactly the resource files that changed, skips push without a remote, syncs and converges', async () => {
    const repo = await createFleetRepo();
    const reconciler = standInReconciler(repo);
    await editWorkingTree(repo);
    const planned = await reconciler.replan();
    expect(planned.plan.summary).toEqual({ add: 1, change: 1, remove: 1 });
    const steps: StepProgress[] = [];
    const outcome = await runApplyPipeline(planned, depsOf(repo, reconciler), (s) => steps.push(s));

    expect(outcome).toEqual({ ok: true, message: 'Applied: Plan: 1 to add, 1 to change, 1 to remove.' });
    expect(steps.map((s) => `${s.step}:${s.state}`)).toEqual([
      'write:running',
      'write:done',
      'commit:running',
      'commit:done',
      'push:running',
      'push:skipped',
      'sync:running',
      'sync:done',
      'converged:running',
      'converged:done',
    ]);
    const log = await repo.git.log({ maxCount: 1 });
    expect(log.latest?.message).toBe('apply 3 resources: ollama-workstation, vllm-gpu3-qwen3, vllm-gpu4-qwen3');
    const shown = await repo.git.raw(['show', '--name-status', '--format=', 'HEAD']);
    expect(shown.trim().split('\n').sort()).toEqual(['A\tllms/gpu4.yaml', 'D\tllms/ollama-dev.yaml', 'M\tllms/qwen3-thinking-pool.yaml']);
    // The README is no resource: it stays uncommitted, as the user left it.
    expect((await repo.git.status()).modified).toEqual(['README.md']);
    expect(steps.find((s) => s.step === 'commit' && s.state === 'done')?.detail).toMatch(/^[0-9a-f]{7} apply 3 resources/);
    expect(steps.at(-1)?.detail).toMatch(/^the reconciler serves revision [0-9a-f]{7}; no changes left$/);
  });

  test('pushes to the remote when there is one', async () => {
    const repo = await createFleetRepo();
    const remote = await tempDir('remote');
    await simpleGit(remote).init(true, ['--initial-branch=main']);
    await repo.git.addRemote('origin', remote);
    const reconciler = standInReconciler(repo);
    await editWorkingTree(repo);
    const steps: StepProgress[] = [];
    const outcome = await runApplyPipeline(await reconciler.replan(), depsOf(repo, reconciler), (s) => steps.push(s));
    expect(outcome.ok).toBe(true);
    expect(finals(steps)).toContain('push:done');
    const head = (await repo.git.revparse(['HEAD'])).trim();
    expect((await simpleGit(remote).revparse(['main'])).trim()).toBe(head);
  });

  test('a working tree edited after the plan stops at write with nothing committed', async () => {
    const repo = await createFleetRepo();
    const reconciler = standInReconciler(repo);
    await editWorkingTree(repo);
    const planned = await reconciler.replan();
    await writeTree(repo.root, { 'llms/gpu4.yaml': (editedFiles()['llms/gpu4.yaml'] ?? '').replace('Qwen/Qwen3-8B', 'Qwen/Qwen3-32B') });
    const before = (await repo.git.revparse(['HEAD'])).trim();
    const steps: StepProgress[] = [];
    const outcome = await runApplyPipeline(planned, depsOf(repo, reconciler), (s) => steps.push(s));
    expect(outcome).toEqual({ ok: false, message: 'Apply stopped at write: the working tree changed since this plan; nothing was written (press p to plan again)' });
    expect(finals(steps)).toEqual(['write:failed']);
    expect((await repo.git.revparse(['HEAD'])).trim()).toBe(before);
  });

  test('a revision the reconciler rejects stops at sync, naming its errors', async () => {
    const repo = await createFleetRepo();
    const reconciler = standInReconciler(repo, (revision) => ({
      revision,
      result: 'rejected',
      errors: [{ file: 'llms/gpu4.yaml', line: 7, col: 10, message: 'spec.poolName: expected a name' }],
    }));
    const planned = await reconciler.replan();
    await editWorkingTree(repo);
    const steps: StepProgress[] = [];
    const outcome = await runApplyPipeline(await reconciler.replan(), depsOf(repo, reconciler), (s) => steps.push(s));
    expect(planned.plan.empty).toBe(true);
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(/^Apply stopped at sync: the reconciler rejected revision [0-9a-f]{7}: llms\/gpu4\.yaml:7:10: spec\.poolName: expected a name$/);
    expect(finals(steps)).toEqual(['write:done', 'commit:done', 'push:skipped', 'sync:failed']);
  });

  test('a reconciler that never catches up times out at converged', async () => {
    const repo = await createFleetRepo();
    const reconciler = standInReconciler(repo);
    await editWorkingTree(repo);
    const planned = await reconciler.replan();
    // This reconciler acknowledges the sync but keeps serving the old tip.
    const steps: StepProgress[] = [];
    const outcome = await runApplyPipeline(planned, depsOf(repo, reconciler, { sync: async () => ({ revision: null, result: 'unchanged', errors: [] }) }), (s) => steps.push(s));
    expect(outcome).toEqual({ ok: false, message: 'Apply stopped at converged: timed out after 5s: 3 changes still differ' });
    expect(finals(steps)).toEqual(['write:done', 'commit:done', 'push:skipped', 'sync:done', 'converged:failed']);
  });

  test('a change already committed but not yet served skips the commit and still syncs', async () => {
    const repo = await createFleetRepo();
    const reconciler = standInReconciler(repo);
    await reconciler.syncNow();
    await editWorkingTree(repo);
    await repo.git.add('llms');
    await repo.git.commit('edited by hand');
    const steps: StepProgress[] = [];
    const outcome = await runApplyPipeline(await reconciler.replan(), depsOf(repo, reconciler), (s) => steps.push(s));
    expect(outcome.ok).toBe(true);
    expect(steps.filter((s) => s.state !== 'running').map((s) => `${s.step}:${s.state}:${s.detail}`).slice(0, 2)).toEqual([
      'write:done:the working tree holds the change, already committed',
      'commit:skipped:nothing to commit',
    ]);
  });
});

describe('changedResourceFiles', () => {
  test('lists modified, added, deleted, untracked (deep) and both sides of a staged rename, only under the resource folder', async () => {
    const repo = await createFleetRepo();
    await writeTree(repo.root, {
      'llms/hosted.yaml': `${REALISTIC_FILES['llms/hosted.yaml']}# edited\n`,
      'llms/team/new.yaml': 'x: 1\n',
      'llms/ollama-dev.yaml': null,
      'README.md': 'changed\n',
    });
    await repo.git.raw(['mv', 'llms/llama-legacy.yaml', 'llms/llama.yaml']);
    expect(await changedResourceFiles(repo)).toEqual(['llms/hosted.yaml', 'llms/llama-legacy.yaml', 'llms/llama.yaml', 'llms/ollama-dev.yaml', 'llms/team/new.yaml']);
    expect(await readFile(join(repo.root, 'llms/llama.yaml'), 'utf8')).toBe(REALISTIC_FILES['llms/llama-legacy.yaml']);
  });

  test('commit messages read as `mcpctl apply` writes them', async () => {
    const repo = await createFleetRepo();
    const reconciler = standInReconciler(repo);
    await writeTree(repo.root, { 'llms/gpu4.yaml': editedFiles()['llms/gpu4.yaml'] ?? null });
    expect(commitMessageOf(await reconciler.replan())).toBe('apply vllm-gpu4-qwen3');
  });
});
