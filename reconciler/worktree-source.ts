// Desired state from a working tree (`--worktree DIR`): the files as saved, no Git needed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { watch as watchPaths } from 'chokidar';
import type { SourceFile } from '../schema/codec.js';
import { debounce } from './debounce.js';
import type { DesiredSource, RevisionCandidate } from './desired-state-api.js';
import { hashBlob, isResourceFileName, normalizeSourcePath } from './resource-files.js';

export interface WorktreeSourceOptions {
  dir: string;
  /** Folder of resource files inside `dir` (`llms`). */
  path: string;
}

const SAVE_DEBOUNCE_MS = 50;
// Enough parallel reads to hide disk latency without running out of file descriptors on a big tree.
const READ_CONCURRENCY = 32;

export class WorktreeSource implements DesiredSource {
  readonly description: string;
  private readonly root: string;
  private readonly target: string;
  /** The root commits of the Git checkout the folder is in (none outside one), read once. */
  private rootCommits: Promise<string[]> | null = null;

  constructor(options: WorktreeSourceOptions) {
    const sourcePath = normalizeSourcePath(options.path);
    this.root = resolve(options.dir);
    this.target = resolve(this.root, sourcePath);
    this.description = `worktree ${options.dir}:${sourcePath === '' ? '.' : sourcePath}`;
  }

  async read(): Promise<RevisionCandidate> {
    const rootInfo = await stat(this.root).catch(() => null);
    if (rootInfo === null || !rootInfo.isDirectory()) throw new Error(`worktree folder ${this.root} does not exist`);
    const paths = await listResourceFiles(this.target);
    const files = (await mapLimited(paths, READ_CONCURRENCY, (p) => this.readFile(p))).filter((f): f is SourceFile => f !== null);
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    this.rootCommits ??= readRootCommits(this.root);
    return { revision: `worktree-${digestFiles(files)}`, files, rootCommits: await this.rootCommits };
  }

  async watch(onChange: () => void): Promise<() => Promise<void>> {
    // Watch from the worktree root so that a --path folder created after start is still seen.
    const passages = new Set<string>();
    for (let p = this.target; ; p = dirname(p)) {
      passages.add(p);
      if (p === this.root || dirname(p) === p) break;
    }
    const isIgnored = (p: string): boolean => {
      const abs = resolve(p);
      if (passages.has(abs)) return false;
      if (!abs.startsWith(this.target + sep)) return true;
      return relative(this.target, abs).split(sep).some(isEditorTempName);
    };
    const debounced = debounce(onChange, SAVE_DEBOUNCE_MS);
    const watcher = watchPaths(this.root, { ignoreInitial: true, ignored: isIgnored });
    watcher.on('all', (event, p) => {
      const isFolder = event === 'addDir' || event === 'unlinkDir';
      if (isFolder || isResourceFileName(basename(p))) debounced.trigger();
    });
    // A watcher error (a folder removed under it) must not crash the service.
    watcher.on('error', () => {});
    await once(watcher, 'ready');
    return async () => {
      debounced.cancel();
      await watcher.close();
    };
  }

  private async readFile(absolute: string): Promise<SourceFile | null> {
    // A file deleted between the listing and the read is simply gone; its unlink event follows.
    const content = await readFile(absolute).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (content === null) return null;
    return { path: relative(this.root, absolute).split(sep).join('/'), text: content.toString('utf8'), hash: hashBlob(content) };
  }
}

/** Dotfiles (`.#pool.yaml`, `.pool.yaml.swp`), backups (`pool.yaml~`), swap and autosave files. */
export function isEditorTempName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~') || /\.sw[a-p]$/.test(name) || (name.startsWith('#') && name.endsWith('#'));
}

/** Every resource file under `start` (itself one when it is a file); none when it does not exist. */
async function listResourceFiles(start: string): Promise<string[]> {
  const info = await stat(start).catch(() => null);
  if (info === null) return [];
  if (info.isFile()) return isResourceFileName(basename(start)) ? [start] : [];
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (isEditorTempName(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
      } else if (isResourceFileName(entry.name)) {
        // A symlink counts when it leads to a file; symlinked folders are not followed (no cycles).
        if (entry.isFile() || (entry.isSymbolicLink() && (await stat(full).catch(() => null))?.isFile() === true)) found.push(full);
      }
    }
  };
  await walk(start);
  return found;
}

/** `git rev-list --max-parents=0 HEAD` in `dir`; none when it is no checkout, a shallow one, or has no commit yet. */
async function readRootCommits(dir: string): Promise<string[]> {
  const git = (args: string[]): Promise<string | null> =>
    new Promise((done) => execFile('git', args, { cwd: dir }, (error, stdout) => done(error === null ? stdout : null)));
  const [shallow, roots] = await Promise.all([git(['rev-parse', '--is-shallow-repository']), git(['rev-list', '--max-parents=0', 'HEAD'])]);
  if (shallow?.trim() !== 'false' || roots === null) return [];
  return roots.split('\n').filter((line) => /^[0-9a-f]{40,64}$/.test(line));
}

function digestFiles(files: SourceFile[]): string {
  const hash = createHash('sha1');
  for (const file of files) hash.update(`${file.path}\0${file.hash ?? ''}\n`);
  return hash.digest('hex').slice(0, 12);
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
