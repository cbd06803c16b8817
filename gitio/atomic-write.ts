// The one atomic file write: a temp file next to the target, fsync, rename over it, so that a
// crash or an interrupted write leaves the old file or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** Permissions of a new file (0o600 for one holding leases); the process umask applies. */
  mode?: number;
  /** Also fsync the folder, so that the rename itself survives a power loss (state files). */
  durable?: boolean;
}

const TEMP_SUFFIX = '.tmp';

/** Writes `text` to `file` through a temp file and a rename; creates the folder when missing. */
export async function writeFileAtomic(file: string, text: string, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const temp = path.join(dir, `${tempPrefixOf(file)}${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
  const handle = await fs.open(temp, 'w', options.mode ?? 0o666);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  if (options.durable === true) await syncFolder(dir);
}

/**
 * Removes the temp files an interrupted writeFileAtomic of `file` left behind: a temp file is
 * only ever complete after its rename, so a leftover is from a crash mid-write.
 */
export async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = tempPrefixOf(file);
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    if (entry.startsWith(prefix) && entry.endsWith(TEMP_SUFFIX)) await fs.rm(path.join(dir, entry), { force: true });
  }
}

/** Hidden, so that a folder walk that skips dot files (resource folders do) never reads one. */
function tempPrefixOf(file: string): string {
  return `.${path.basename(file)}.`;
}

/** Makes a rename durable; some platforms cannot open a folder, and there it is skipped. */
async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch {
    // EISDIR/EINVAL on platforms without folder fsync: the rename is as durable as it gets there.
  } finally {
    await handle.close();
  }
}
