// Desired state from Git: the committed tip of a branch, read from a private mirror under the cache dir.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { watch as watchPaths } from 'chokidar';
import { simpleGit, type SimpleGit } from 'simple-git';
import { firstGitLine, readBlobs } from '../gitio/cat-file.js';
import type { SourceFile } from '../schema/codec.js';
import { debounce } from './debounce.js';
import type { RevisionCandidate, RevisionSource } from './desired-state-api.js';
import { isResourcePath, isUnderSourcePath, normalizeSourcePath, relativeToSourcePath } from './resource-files.js';

export interface GitSourceOptions {
  /** A Git URL or the path of a local repository, bare or not. */
  source: string;
  branch: string;
  /** Folder of resource files inside the repository (`llms`). */
  path: string;
  /** Where the private mirror lives; the user's repository is only ever read. */
  cacheDir: string;
}

const REF_DEBOUNCE_MS = 100;
// A fetch that sends nothing for this long is stuck (a dead network, a host that never answers).
const GIT_SILENCE_TIMEOUT_MS = 120_000;

interface TreeEntry {
  path: string;
  oid: string;
}

export class GitSource implements RevisionSource {
  readonly description: string;
  private readonly branch: string;
  private readonly sourcePath: string;
  /** Set for a local repository: its refs can be watched. */
  private readonly localRepo: string | null;
  private readonly remote: string;
  private readonly mirrorDir: string;
  private readonly env: Record<string, string>;
  private mirror: Promise<SimpleGit> | null = null;
  private last: RevisionCandidate | null = null;
  /** Blob texts of the last revision read, by blob id: a new commit only reads the blobs it changed. */
  private blobTexts = new Map<string, string>();
  /** The branch's root commits, read once: a branch keeps its roots unless its history is rewritten. */
  private rootCommits: string[] | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: GitSourceOptions) {
    this.branch = options.branch;
    this.sourcePath = normalizeSourcePath(options.path);
    this.localRepo = resolveLocalRepo(options.source);
    // Fetch runs inside the mirror, so a relative repository path must be made absolute first.
    this.remote = this.localRepo ?? options.source;
    this.mirrorDir = join(resolve(options.cacheDir), mirrorName(this.remote, options.branch));
    this.env = buildGitEnv(this.mirrorDir);
    this.description = `git ${options.source}#${options.branch}:${this.sourcePath === '' ? '.' : this.sourcePath}`;
  }

  read(): Promise<RevisionCandidate> {
    return this.exclusive(async () => {
      const git = await this.openMirror();
      await this.fetch(git);
      const commit = (await git.raw(['rev-parse', '--verify', `${this.trackingRef()}^{commit}`])).trim();
      return this.readAt(git, commit);
    });
  }

  /**
   * The resource files of one commit of the followed branch (a revision another reconciler
   * accepted): read from the mirror, fetching the branch first when the mirror lacks it.
   */
  readRevision(revision: string): Promise<RevisionCandidate> {
    return this.exclusive(async () => {
      if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(revision)) throw new Error(`${JSON.stringify(revision)} is not a commit id`);
      const git = await this.openMirror();
      if (!(await hasCommit(git, revision))) {
        await this.fetch(git);
        // Not on the branch any more (a force push): ask for the commit itself.
        if (!(await hasCommit(git, revision))) await git.raw(['fetch', '--no-tags', '--verbose', '--', this.remote, revision]).catch(() => {});
        if (!(await hasCommit(git, revision))) throw new Error(`commit ${revision} is not in ${this.remote}`);
      }
      return this.readAt(git, revision);
    });
  }

  async watch(onChange: () => void): Promise<() => Promise<void>> {
    // A remote repository has nothing to watch: the poll covers it.
    if (this.localRepo === null || !isValidBranchName(this.branch)) return async () => {};
    const dirs = await locateGitDirs(this.localRepo);
    const headsDir = join(dirs.commonDir, 'refs', 'heads');
    const triggers = new Set([join(headsDir, ...this.branch.split('/')), join(dirs.commonDir, 'packed-refs')]);
    if (!dirs.bare) triggers.add(join(dirs.gitDir, 'HEAD'));
    const roots = [...new Set([dirs.commonDir, dirs.gitDir])];
    const passages = new Set([...roots, join(dirs.commonDir, 'refs'), headsDir]);
    // Only the refs folder and the trigger files are walked: objects/ can hold millions of files.
    const isWatched = (p: string): boolean => passages.has(p) || triggers.has(p) || p.startsWith(headsDir + sep);

    const debounced = debounce(onChange, REF_DEBOUNCE_MS);
    const watcher = watchPaths(roots, { ignoreInitial: true, ignored: (p: string) => !isWatched(resolve(p)) });
    watcher.on('all', (_event, p) => {
      if (triggers.has(resolve(p))) debounced.trigger();
    });
    // A watcher error (the repository moved away) must not crash the service; the poll still runs.
    watcher.on('error', () => {});
    await once(watcher, 'ready');
    return async () => {
      debounced.cancel();
      await watcher.close();
    };
  }

  private openMirror(): Promise<SimpleGit> {
    if (this.mirror === null) {
      this.mirror = initMirror(this.mirrorDir, this.env);
      // A failed start (a full disk, say) is retried by the next read rather than remembered.
      this.mirror.catch(() => {
        this.mirror = null;
      });
    }
    return this.mirror;
  }

  private async fetch(git: SimpleGit): Promise<void> {
    const refspec = `+refs/heads/${this.branch}:refs/remotes/origin/${this.branch}`;
    try {
      // --verbose: simple-git waits an extra 50 ms after a command that printed nothing.
      await git.raw(['fetch', '--prune', '--no-tags', '--verbose', '--', this.remote, refspec]);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (/couldn't find remote ref/i.test(text)) {
        throw new Error(`branch ${JSON.stringify(this.branch)} does not exist in ${this.remote}`);
      }
      throw new Error(`cannot fetch ${this.remote}: ${firstGitLine(text)}`);
    }
  }

  /** Reads one commit's resource files; blobs the previous read already holds are not read again. */
  private async readAt(git: SimpleGit, commit: string): Promise<RevisionCandidate> {
    if (this.last !== null && this.last.revision === commit) return this.last;
    const entries = await this.listResourceBlobs(git, commit);
    const missing = [...new Set(entries.map((e) => e.oid).filter((oid) => !this.blobTexts.has(oid)))];
    const fresh = await readBlobs(this.mirrorDir, missing, { env: this.env });
    const texts = new Map<string, string>();
    const files: SourceFile[] = entries.map((entry) => {
      const text = this.blobTexts.get(entry.oid) ?? fresh.get(entry.oid);
      if (text === undefined) throw new Error(`blob ${entry.oid} (${entry.path}) is missing from the mirror of ${this.remote}`);
      texts.set(entry.oid, text);
      return { path: entry.path, text, hash: entry.oid };
    });
    this.blobTexts = texts;
    this.rootCommits ??= await readRootCommits(git, commit);
    this.last = { revision: commit, files, rootCommits: this.rootCommits };
    return this.last;
  }

  /** One Git operation on the mirror at a time: two fetches at once would fight over its ref locks. */
  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    if (!isValidBranchName(this.branch)) return Promise.reject(new Error(`invalid branch name ${JSON.stringify(this.branch)}`));
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private trackingRef(): string {
    return `refs/remotes/origin/${this.branch}`;
  }

  private async listResourceBlobs(git: SimpleGit, commit: string): Promise<TreeEntry[]> {
    const pathspec = this.sourcePath === '' ? [] : ['--', this.sourcePath];
    const listing = await git.raw(['ls-tree', '-r', '-z', '--full-tree', commit, ...pathspec]);
    const entries: TreeEntry[] = [];
    for (const record of listing.split('\0')) {
      // `<mode> <type> <oid>\t<path>`; symlinks (120000) and submodules are not resource files.
      const tab = record.indexOf('\t');
      if (tab < 0) continue;
      const [mode, type, oid] = record.slice(0, tab).split(' ');
      const path = record.slice(tab + 1);
      if (type !== 'blob' || mode === '120000' || oid === undefined) continue;
      if (!isUnderSourcePath(path, this.sourcePath) || !isResourcePath(relativeToSourcePath(path, this.sourcePath))) continue;
      entries.push({ path, oid });
    }
    return entries;
  }
}

async function hasCommit(git: SimpleGit, commit: string): Promise<boolean> {
  return git.raw(['cat-file', '-e', `${commit}^{commit}`]).then(
    () => true,
    () => false,
  );
}

/** The commit's root commits; none when the mirror is shallow (a shallow source), whose cut-off commits only look like roots. */
async function readRootCommits(git: SimpleGit, commit: string): Promise<string[]> {
  if ((await git.raw(['rev-parse', '--is-shallow-repository'])).trim() === 'true') return [];
  return (await git.raw(['rev-list', '--max-parents=0', commit])).split('\n').filter((line) => line !== '');
}

async function initMirror(mirrorDir: string, env: Record<string, string>): Promise<SimpleGit> {
  await mkdir(mirrorDir, { recursive: true });
  const git = simpleGit({
    baseDir: mirrorDir,
    timeout: { block: GIT_SILENCE_TIMEOUT_MS },
    // These come from the operator's own environment (an SSH deploy key, a proxy), not from input.
    unsafe: {
      allowUnsafeSshCommand: true,
      allowUnsafeAskPass: true,
      allowUnsafeGitProxy: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeConfigEnvCount: true,
    },
  }).env(env);
  if (!(await exists(join(mirrorDir, 'HEAD')))) await git.raw(['init', '--bare']);
  return git;
}

interface GitDirs {
  /** HEAD lives here (`.git`, or `.git/worktrees/x` for a linked worktree). */
  gitDir: string;
  /** refs and packed-refs live here. */
  commonDir: string;
  bare: boolean;
}

/** Finds the Git directories of a local repository by reading files, without running Git in it. */
async function locateGitDirs(repo: string): Promise<GitDirs> {
  const dotGit = join(repo, '.git');
  const info = await stat(dotGit).catch(() => null);
  if (info === null) return { gitDir: repo, commonDir: repo, bare: true };
  if (info.isDirectory()) return { gitDir: dotGit, commonDir: dotGit, bare: false };
  // A linked worktree or a submodule: `.git` is a file saying `gitdir: <path>`.
  const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(await readFile(dotGit, 'utf8'))?.[1];
  if (pointer === undefined) return { gitDir: dotGit, commonDir: dotGit, bare: false };
  const gitDir = resolve(repo, pointer);
  const common = await readFile(join(gitDir, 'commondir'), 'utf8').catch(() => null);
  return { gitDir, commonDir: common === null ? gitDir : resolve(gitDir, common.trim()), bare: false };
}

/** A path (or file:// URL) names a local repository; anything with a scheme or `host:path` is remote. */
function resolveLocalRepo(source: string): string | null {
  if (source.startsWith('file://')) return fileURLToPath(source);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(source)) return null;
  // scp-like `git@host:org/repo.git`; a Windows drive (`C:\repos`) is a path.
  if (!isAbsolute(source) && /^[^/\\]+:/.test(source) && !/^[A-Za-z]:[\\/]/.test(source)) return null;
  return resolve(source);
}

function mirrorName(remote: string, branch: string): string {
  const digest = createHash('sha1').update(`${remote}\0${branch}`).digest('hex').slice(0, 12);
  const stem = basename(remote.replace(/[/\\]+$/, '')).replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]+/g, '-') || 'repo';
  return `${stem}-${digest}.git`;
}

/**
 * The environment for every Git process on the mirror: variables that would point Git at
 * another repository (set inside a Git hook, say) are dropped, GIT_DIR names the mirror,
 * and a remote asking for a password fails at once instead of waiting on a terminal.
 */
function buildGitEnv(mirrorDir: string): Record<string, string> {
  const dropped = new Set([
    'GIT_DIR',
    'GIT_WORK_TREE',
    'GIT_INDEX_FILE',
    'GIT_OBJECT_DIRECTORY',
    'GIT_ALTERNATE_OBJECT_DIRECTORIES',
    'GIT_COMMON_DIR',
    'GIT_NAMESPACE',
    'GIT_PREFIX',
    // Editors and pagers are never used here, and simple-git refuses to run with them set.
    'EDITOR',
    'GIT_EDITOR',
    'GIT_SEQUENCE_EDITOR',
    'PAGER',
    'GIT_PAGER',
    'GIT_EXTERNAL_DIFF',
    'PREFIX',
  ]);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !dropped.has(key.toUpperCase())) env[key] = value;
  }
  env.GIT_DIR = mirrorDir;
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_LITERAL_PATHSPECS = '1';
  return env;
}

/** Git's ref-name rules (git-check-ref-format), checked here so a bad --branch never reaches a refspec. */
export function isValidBranchName(branch: string): boolean {
  if (branch === '' || branch === '@' || branch.startsWith('-') || branch.startsWith('/') || branch.endsWith('/')) return false;
  if (branch.endsWith('.') || branch.includes('..') || branch.includes('@{') || branch.includes('//')) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(branch)) return false;
  return branch.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}
