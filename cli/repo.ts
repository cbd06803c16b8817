// The CLI's Git repository: reads desired state from the working tree or a ref, writes files
// atomically (gitio/atomic-write.ts), commits and pushes (simple-git). Every CLI write goes through here.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { writeFileAtomic } from '../gitio/atomic-write.js';
import { readBlobs } from '../gitio/cat-file.js';
import type { SourceFile } from '../schema/codec.js';
import { isResourceFileName, isResourcePath } from '../schema/resource-paths.js';
import { CliError } from './errors.js';

export interface Repo {
  root: string;
  /** Resource folder relative to root, forward slashes (`llms`). */
  path: string;
  git: SimpleGit;
}


/** Opens the repository: --repo, else the Git top level of the current directory. */
export async function openRepo(repoOption: string | undefined, resourcePath: string, cwd = process.cwd()): Promise<Repo> {
  const start = path.resolve(cwd, repoOption ?? '.');
  try {
    await fs.access(start);
  } catch {
    throw new CliError(`--repo: ${start} does not exist`);
  }
  let root: string;
  try {
    root = (await simpleGit(start).revparse(['--show-toplevel'])).trim();
  } catch {
    throw new CliError(`${start} is not inside a Git repository (give --repo DIR or set MCPCTL_REPO)`);
  }
  return { root, path: resourcePath.replace(/\\/g, '/').replace(/\/+$/, ''), git: simpleGit(root) };
}

/**
 * Refuses a repository without its resource folder (one line, exit 1): planned as it is, it would
 * declare nothing and so remove everything the reconciler serves.
 */
export async function requireResourceFolder(repo: Repo): Promise<void> {
  const folder = path.join(repo.root, repo.path);
  const info = await fs.stat(folder).catch(() => null);
  if (info?.isDirectory() === true) return;
  const what = info === null ? `has no ${repo.path}/ folder` : `has ${repo.path}, which is not a folder`;
  throw new CliError(`${repo.root} ${what}: no Llm files to plan or change (run in a repository of Llm files, or pass --repo/--path)`);
}

/**
 * The root commits of HEAD's history; none in a repository without a commit yet, and none in a
 * shallow clone (CI's depth-1 checkout), whose cut-off commits only look like roots.
 */
export async function readRootCommits(repo: Repo): Promise<string[]> {
  try {
    const [shallow, roots] = await Promise.all([
      repo.git.raw(['rev-parse', '--is-shallow-repository']),
      repo.git.raw(['rev-list', '--max-parents=0', 'HEAD']),
    ]);
    if (shallow.trim() === 'true') return [];
    return roots.split('\n').filter((line) => /^[0-9a-f]{40,64}$/.test(line));
  } catch {
    return [];
  }
}

/** Every resource file under the resource folder of the working tree, paths relative to the root. */
export async function readWorktreeFiles(repo: Repo): Promise<SourceFile[]> {
  const dir = path.join(repo.root, repo.path);
  const out: SourceFile[] = [];
  const walk = async (abs: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(abs, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = path.join(abs, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() && isResourceFileName(entry.name)) {
        out.push({ path: path.relative(repo.root, child).split(path.sep).join('/'), text: await fs.readFile(child, 'utf8') });
      }
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Every resource file under the resource folder at a Git ref (offline plans: --against). */
export async function readFilesAtRef(repo: Repo, ref: string): Promise<{ revision: string; files: SourceFile[] }> {
  let revision = '';
  try {
    revision = (await repo.git.revparse(['--verify', '--quiet', `${ref}^{commit}`])).trim();
  } catch {
    // Reported below: with --quiet git exits non-zero and prints nothing, which simple-git does not always raise.
  }
  if (!/^[0-9a-f]{40,64}$/.test(revision)) throw new CliError(`--against: ${JSON.stringify(ref)} is not a commit in ${repo.root}`);
  const listing = await repo.git.raw(['ls-tree', '-r', '-z', revision, '--', repo.path]);
  const blobs: { path: string; hash: string }[] = [];
  for (const entry of listing.split('\0')) {
    const match = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(entry);
    if (match && isResourcePath(path.posix.relative(repo.path, match[2] as string))) blobs.push({ hash: match[1] as string, path: match[2] as string });
  }
  let texts: Map<string, string>;
  try {
    texts = await readBlobs(repo.root, blobs.map((b) => b.hash));
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
  return { revision, files: blobs.map((b) => ({ path: b.path, hash: b.hash, text: texts.get(b.hash) ?? '' })) };
}

/** Paths (relative to root) among `files` with uncommitted changes, staged or not, or untracked. */
export async function dirtyPaths(repo: Repo, files: string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const status = await repo.git.status(['--porcelain', '--', ...files]);
  return status.files.map((f) => f.path);
}

export interface FileWrite {
  /** Relative to the repository root. */
  path: string;
  /** New content, or null to delete the file. */
  text: string | null;
}

export async function writeFiles(repo: Repo, writes: FileWrite[]): Promise<void> {
  for (const write of writes) {
    const abs = path.join(repo.root, write.path);
    if (write.text === null) await fs.rm(abs, { force: true });
    else await writeFileAtomic(abs, write.text);
  }
}

/** Commits exactly `paths` (nothing else the user staged) and returns the new commit id. */
export async function commitPaths(repo: Repo, paths: string[], message: string): Promise<string> {
  // add -A stages deletions too; committing with pathspecs leaves the user's other staged work alone.
  await repo.git.raw(['add', '-A', '--', ...paths]);
  try {
    await repo.git.raw(['commit', '--quiet', '-m', message, '--', ...paths]);
  } catch (error) {
    throw new CliError(`git commit failed: ${firstLine(error)}`);
  }
  return (await repo.git.revparse(['HEAD'])).trim();
}

/** Pushes the current branch to its upstream (or origin); a moved-on remote is a clear error. */
export async function pushCurrentBranch(repo: Repo): Promise<void> {
  const branch = (await repo.git.revparse(['--abbrev-ref', 'HEAD'])).trim();
  let upstream = true;
  try {
    await repo.git.revparse(['--abbrev-ref', '--symbolic-full-name', '@{u}']);
  } catch {
    upstream = false;
  }
  try {
    if (upstream) await repo.git.raw(['push', '--quiet']);
    else await repo.git.raw(['push', '--quiet', '--set-upstream', 'origin', branch]);
  } catch (error) {
    const text = String(error instanceof Error ? error.message : error);
    if (/non-fast-forward|fetch first|rejected/i.test(text)) {
      throw new CliError(
        'push rejected: the remote branch has moved on; pull first (`git pull --rebase`), then push again (`git push`). Your commit is kept locally',
      );
    }
    throw new CliError(`git push failed: ${firstLine(error)}`);
  }
}

export async function headRevision(repo: Repo): Promise<string | null> {
  try {
    return (await repo.git.revparse(['HEAD'])).trim();
  } catch {
    return null;
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? text;
}

/** `git ls-files --stage` entries of `paths`, by path: the index as it was before staging. */
export async function readIndexEntries(repo: Repo, paths: string[]): Promise<Map<string, { mode: string; hash: string }>> {
  const out = new Map<string, { mode: string; hash: string }>();
  if (paths.length === 0) return out;
  const listing = await repo.git.raw(['ls-files', '--stage', '-z', '--', ...paths]);
  for (const entry of listing.split('\0')) {
    const match = /^(\d+) ([0-9a-f]+) 0\t(.+)$/.exec(entry);
    if (match !== null) out.set(match[3] as string, { mode: match[1] as string, hash: match[2] as string });
  }
  return out;
}

/** Puts the index entries of `paths` back as readIndexEntries saw them (absent: removed). */
export async function restoreIndexEntries(repo: Repo, paths: string[], entries: Map<string, { mode: string; hash: string }>): Promise<void> {
  for (const file of paths) {
    const entry = entries.get(file);
    if (entry === undefined) await repo.git.raw(['update-index', '--force-remove', '--', file]);
    else await repo.git.raw(['update-index', '--add', '--cacheinfo', `${entry.mode},${entry.hash},${file}`]);
  }
}

/** Whether HEAD is ahead of its upstream; without an upstream, whether there is a remote to push to. */
export async function hasUnpushedCommits(repo: Repo): Promise<boolean> {
  let upstream: string;
  try {
    upstream = (await repo.git.revparse(['--abbrev-ref', '--symbolic-full-name', '@{u}'])).trim();
  } catch {
    return (await repo.git.getRemotes()).length > 0;
  }
  const count = Number((await repo.git.raw(['rev-list', '--count', `${upstream}..HEAD`])).trim());
  return count > 0;
}

/** Whether the repository has a remote to push to. */
export async function hasRemote(repo: Repo): Promise<boolean> {
  return (await repo.git.getRemotes()).length > 0;
}

/** Resource files that differ from HEAD (modified, added, deleted, untracked; both sides of a rename). */
export async function changedResourceFiles(repo: Repo): Promise<string[]> {
  const raw = await repo.git.raw(['status', '--porcelain', '-z', '--untracked-files=all', '--', repo.path]);
  const entries = raw.split('\0');
  const out = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] ?? '';
    if (entry.length < 4) continue;
    out.add(entry.slice(3));
    // A rename or copy is followed by its source path as an entry of its own.
    if (entry[0] === 'R' || entry[0] === 'C') {
      const from = entries[++i];
      if (from !== undefined && from !== '') out.add(from);
    }
  }
  return [...out].sort();
}
