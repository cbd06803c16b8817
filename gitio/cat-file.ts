// Reads many Git blobs through one `git cat-file --batch` process, so that 10,000 files are one
// process, not 10,000. The CLI (revisions of the user's repository) and the reconciler (its
// private mirror) both read through here.
import { spawn } from 'node:child_process';

export interface ReadBlobsOptions {
  /** The environment of the Git process (the reconciler's points GIT_DIR at its mirror). */
  env?: Record<string, string>;
}

/** Blob texts by id; an id Git does not have, a failed process or a cut-off answer is an error. */
export function readBlobs(cwd: string, oids: readonly string[], options: ReadBlobsOptions = {}): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  if (oids.length === 0) return Promise.resolve(texts);
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd, ...(options.env === undefined ? {} : { env: options.env }), stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.on('error', reject);
    // An early exit closes stdin under us; the exit code below reports it.
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`git cat-file failed (exit ${code}): ${firstGitLine(Buffer.concat(errors).toString('utf8'))}`));
        return;
      }
      try {
        parseBatchOutput(Buffer.concat(chunks), texts);
        resolvePromise(texts);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.stdin.end(`${oids.join('\n')}\n`);
  });
}

/** `<oid> <type> <size>\n<content>\n` per object, `<oid> missing\n` for an unknown one. */
function parseBatchOutput(output: Buffer, into: Map<string, string>): void {
  let offset = 0;
  while (offset < output.length) {
    const newline = output.indexOf(0x0a, offset);
    if (newline < 0) throw new Error('git cat-file: truncated output');
    const header = output.subarray(offset, newline).toString('utf8').split(' ');
    const [oid, type, sizeText] = header;
    if (type === 'missing' || oid === undefined || sizeText === undefined) {
      throw new Error(`git cat-file: object ${oid ?? '?'} is missing`);
    }
    const size = Number(sizeText);
    const start = newline + 1;
    if (!Number.isInteger(size) || start + size > output.length) throw new Error('git cat-file: truncated output');
    into.set(oid, output.subarray(start, start + size).toString('utf8'));
    offset = start + size + 1;
  }
}

/** The first line Git printed, without its `fatal:`/`error:` prefix. */
export function firstGitLine(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return (line ?? 'unknown error').replace(/^(fatal|error):\s*/, '');
}
