// GPUs of this host, from `nvidia-smi` when it is installed (absent is fine: no GPUs reported).
import { execFile } from 'node:child_process';
import type { Gpu } from '../schema/agent-protocol.js';

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,name,memory.total,memory.used,utilization.gpu',
  '--format=csv,noheader,nounits',
] as const;

export type SkipReporter = (lineNumber: number, line: string, reason: string) => void;

/**
 * Parses `nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu
 * --format=csv,noheader,nounits` output. Blank lines are ignored; a line that cannot be read is
 * skipped and passed to `onSkip` with the reason. A metric nvidia-smi cannot give (`[N/A]`,
 * `[Not Supported]`: the utilisation of a MIG device, the memory of some boards) is `null`,
 * unknown rather than idle; the GPU itself is still worth listing.
 */
export function parseNvidiaSmiCsv(text: string, onSkip: SkipReporter = () => {}): Gpu[] {
  const gpus: Gpu[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const parsed = parseLine(line);
    if (typeof parsed === 'string') onSkip(i + 1, line, parsed);
    else gpus.push(parsed);
  });
  return gpus;
}

function parseLine(line: string): Gpu | string {
  const fields = line.split(',').map((f) => f.trim());
  if (fields.length < 5) return `expected 5 comma-separated fields, found ${fields.length}`;
  // A name is free text: anything between the index and the last three metrics belongs to it.
  const [indexText = ''] = fields;
  const [totalText = '', usedText = '', utilText = ''] = fields.slice(-3);
  const name = fields.slice(1, -3).join(', ');
  if (!/^\d+$/.test(indexText)) return `expected a GPU index, found ${JSON.stringify(indexText)}`;
  if (name === '') return 'expected a GPU name, found nothing';
  const total = readMetric(totalText, 'memory.total');
  const used = readMetric(usedText, 'memory.used');
  const util = readMetric(utilText, 'utilization.gpu');
  if (typeof total === 'string') return total;
  if (typeof used === 'string') return used;
  if (typeof util === 'string') return util;
  return {
    index: Number(indexText),
    name: name.slice(0, 256),
    memoryTotalMiB: total,
    memoryUsedMiB: used,
    utilizationPct: util === null ? null : Math.min(100, util),
  };
}

/** A figure, null for one nvidia-smi cannot give (`[N/A]`, `[Not Supported]`), or why the text is neither. */
function readMetric(text: string, field: string): number | null | string {
  if (/^\[.*\]$/.test(text)) return null;
  if (!/^\d+(\.\d+)?$/.test(text)) return `expected a number or [N/A] for ${field}, found ${JSON.stringify(text)}`;
  return Number(text);
}

/**
 * Runs a program and resolves to its stdout; rejects when it cannot start, fails or times out,
 * with the error's `stdout` and `stderr` (what it printed all the same) and `firstLine` (of
 * stderr, else stdout).
 */
export type RunProgram = (file: string, args: readonly string[], timeoutMs: number) => Promise<string>;

export const runProgram: RunProgram = (file, args, timeoutMs) =>
  new Promise((done, fail) => {
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        // nvidia-smi explains a failure on stdout or stderr; keep its first line with the error.
        const firstLine = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim()).find((l) => l !== '');
        fail(Object.assign(error, { firstLine, stdout, stderr }));
      } else {
        done(stdout);
      }
    });
  });

export interface GpuReaderOptions {
  run?: RunProgram;
  log(message: string): void;
  command?: string;
  timeoutMs?: number;
}

export interface GpuReader {
  read(): Promise<Gpu[]>;
}

/**
 * Reads GPUs on demand; a missing nvidia-smi or a failure gives [] and is logged once per reason.
 * An exit status that comes with GPU rows on stdout is a warning, not a failure: nvidia-smi exits
 * 14 when a GPU's infoROM is corrupted and still lists every GPU. Those rows are kept and the
 * warning is logged once.
 */
export function createGpuReader(options: GpuReaderOptions): GpuReader {
  const run = options.run ?? runProgram;
  const command = options.command ?? 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? 5000;
  const logged = new Set<string>();
  const logOnce = (message: string): void => {
    if (logged.has(message)) return;
    logged.add(message);
    options.log(message);
  };
  return {
    async read() {
      const logSkip: SkipReporter = (lineNumber, line, reason) => logOnce(`gpus: skipped nvidia-smi line ${lineNumber} ${JSON.stringify(line)}: ${reason}`);
      let stdout: string;
      try {
        stdout = await run(command, NVIDIA_SMI_ARGS, timeoutMs);
      } catch (error) {
        const listed = gpusDespiteError(error);
        if (listed.gpus.length === 0) {
          logOnce(describeRunError(command, error, timeoutMs));
          return [];
        }
        logOnce(describeRunWarning(command, error));
        for (const skip of listed.skipped) logSkip(...skip);
        return listed.gpus;
      }
      return parseNvidiaSmiCsv(stdout, logSkip);
    },
  };
}

/**
 * The GPUs a run that exited non-zero still listed on stdout (none when it was killed: its
 * output may stop mid-row), with the lines it could not read.
 */
function gpusDespiteError(error: unknown): { gpus: Gpu[]; skipped: Parameters<SkipReporter>[] } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; killed?: unknown; stdout?: unknown };
  const skipped: Parameters<SkipReporter>[] = [];
  if (typeof e.code !== 'number' || e.killed === true || typeof e.stdout !== 'string') return { gpus: [], skipped };
  const gpus = parseNvidiaSmiCsv(e.stdout, (...skip) => skipped.push(skip));
  return { gpus, skipped };
}

function describeRunWarning(command: string, error: unknown): string {
  const e = error as { code: number; stderr?: unknown };
  // The warning is on stderr; stdout holds the rows, which are no explanation.
  const warning = typeof e.stderr === 'string' ? e.stderr.split('\n').map((l) => l.trim()).find((l) => l !== '') : undefined;
  const detail = warning === undefined ? '' : `: ${warning}`;
  return `gpus: ${command} exited with ${e.code}${detail}; reporting the GPUs it listed`;
}

function describeRunError(command: string, error: unknown, timeoutMs: number): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; killed?: unknown; firstLine?: unknown; message?: unknown };
  if (e.code === 'ENOENT') return `gpus: ${command} not found; reporting no GPUs`;
  if (e.killed === true) return `gpus: ${command} timed out after ${timeoutMs}ms; reporting no GPUs`;
  const status = typeof e.code === 'number' ? `exited with ${e.code}` : String(e.code ?? e.message ?? error);
  const detail = typeof e.firstLine === 'string' ? `${status}: ${e.firstLine}` : status;
  return `gpus: ${command} failed (${detail}); reporting no GPUs`;
}
