import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createGpuReader, NVIDIA_SMI_ARGS, parseNvidiaSmiCsv, runProgram, type RunProgram } from '../../agent/gpus.js';

/** A fixture's text without its leading `#` header lines (which say what it mirrors; nvidia-smi prints none). */
function fixture(name: string): string {
  const text = readFileSync(fileURLToPath(new URL(`../../fixtures/nvidia-smi/${name}`, import.meta.url)), 'utf8');
  return text.replace(/^(#[^\n]*\n)+/, '');
}

/** A real process that prints `stdout` and `stderr` and exits with `status`, as nvidia-smi would. */
function fakeNvidiaSmi(stdout: string, stderr: string, status: number): RunProgram {
  const script = `process.stdout.write(${JSON.stringify(stdout)}); process.stderr.write(${JSON.stringify(stderr)}); process.exitCode = ${status};`;
  return (_file, _args, timeoutMs) => runProgram(process.execPath, ['-e', script], timeoutMs);
}

function parseWithSkips(text: string): { gpus: ReturnType<typeof parseNvidiaSmiCsv>; skipped: string[] } {
  const skipped: string[] = [];
  const gpus = parseNvidiaSmiCsv(text, (lineNumber, line, reason) => skipped.push(`${lineNumber}: ${line}: ${reason}`));
  return { gpus, skipped };
}

describe('parseNvidiaSmiCsv', () => {
  it('reads one GPU', () => {
    expect(parseWithSkips(fixture('one-gpu.csv'))).toEqual({
      gpus: [{ index: 0, name: 'NVIDIA GeForce RTX 4090', memoryTotalMiB: 24564, memoryUsedMiB: 1823, utilizationPct: 7 }],
      skipped: [],
    });
  });

  it('reads eight GPUs whose names contain spaces', () => {
    const { gpus, skipped } = parseWithSkips(fixture('eight-h100.csv'));
    expect(skipped).toEqual([]);
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(gpus.map((g) => g.name))).toEqual(new Set(['NVIDIA H100 80GB HBM3']));
    expect(gpus[6]).toEqual({ index: 6, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 40127, utilizationPct: 35 });
  });

  it('reports metrics nvidia-smi cannot give ([N/A], [Not Supported]) as null (unknown, not idle) and keeps the GPU', () => {
    expect(parseWithSkips(fixture('not-available.csv'))).toEqual({
      gpus: [
        { index: 0, name: 'NVIDIA A100-SXM4-80GB', memoryTotalMiB: 81920, memoryUsedMiB: 13, utilizationPct: null },
        { index: 1, name: 'NVIDIA A100-SXM4-80GB', memoryTotalMiB: 81920, memoryUsedMiB: null, utilizationPct: null },
        { index: 2, name: 'NVIDIA GeForce GT 1030', memoryTotalMiB: 2048, memoryUsedMiB: 312, utilizationPct: null },
      ],
      skipped: [],
    });
  });

  it.each([
    ['h100.csv', [
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 74213, utilizationPct: 97 },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 74213, utilizationPct: 96 },
      { index: 2, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 0, utilizationPct: 0 },
      { index: 3, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 0, utilizationPct: 0 },
    ]],
    ['h200.csv', [
      { index: 0, name: 'NVIDIA H200', memoryTotalMiB: 143771, memoryUsedMiB: 131012, utilizationPct: 88 },
      { index: 1, name: 'NVIDIA H200', memoryTotalMiB: 143771, memoryUsedMiB: 4, utilizationPct: 0 },
    ]],
    ['l40s.csv', [{ index: 0, name: 'NVIDIA L40S', memoryTotalMiB: 46068, memoryUsedMiB: 30211, utilizationPct: 61 }]],
    ['rtx-4090.csv', [{ index: 0, name: 'NVIDIA GeForce RTX 4090', memoryTotalMiB: 24564, memoryUsedMiB: 1823, utilizationPct: 7 }]],
    ['h100-mig.csv', [
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 20341, utilizationPct: null },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 40127, utilizationPct: 35 },
    ]],
    ['memory-not-supported.csv', [{ index: 0, name: 'NVIDIA GB10', memoryTotalMiB: null, memoryUsedMiB: null, utilizationPct: 12 }]],
  ])('reads %s', (name, gpus) => {
    expect(parseWithSkips(fixture(name))).toEqual({ gpus, skipped: [] });
  });

  it('ignores blank lines', () => {
    const { gpus, skipped } = parseWithSkips(fixture('blank-lines.csv'));
    expect(skipped).toEqual([]);
    expect(gpus.map((g) => `${g.index} ${g.name} ${g.memoryUsedMiB}`)).toEqual(['0 NVIDIA L40S 30211', '1 NVIDIA L40S 0']);
  });

  it('skips malformed lines with a reason and keeps the good ones (CRLF line ends too)', () => {
    expect(parseWithSkips(fixture('malformed.csv'))).toEqual({
      gpus: [{ index: 0, name: 'NVIDIA A10G', memoryTotalMiB: 23028, memoryUsedMiB: 21870, utilizationPct: 88 }],
      skipped: [
        '2: 1, NVIDIA A10G, 23028: expected 5 comma-separated fields, found 3',
        '3: GPU-3, NVIDIA A10G, 23028, 5, 1: expected a GPU index, found "GPU-3"',
        '4: 3, NVIDIA A10G, 23028, lots, 1: expected a number or [N/A] for memory.used, found "lots"',
      ],
    });
  });

  it('keeps a comma inside a name', () => {
    expect(parseNvidiaSmiCsv('0, Tesla T4, rev 2, 15360, 0, 0\n')).toEqual([{ index: 0, name: 'Tesla T4, rev 2', memoryTotalMiB: 15360, memoryUsedMiB: 0, utilizationPct: 0 }]);
  });

  it('skips the driver failure message nvidia-smi prints instead of a table', () => {
    const { gpus, skipped } = parseWithSkips(fixture('driver-failure.txt'));
    expect(gpus).toEqual([]);
    expect(skipped).toHaveLength(1);
  });
});

describe('createGpuReader', () => {
  it('gives [] and logs once when nvidia-smi is absent', async () => {
    const logs: string[] = [];
    const reader = createGpuReader({ command: 'mcpctl-test-no-such-nvidia-smi', log: (m) => logs.push(m) });
    expect(await reader.read()).toEqual([]);
    expect(await reader.read()).toEqual([]);
    expect(logs).toEqual(['gpus: mcpctl-test-no-such-nvidia-smi not found; reporting no GPUs']);
  });

  it('gives [] and logs once with the first output line when nvidia-smi fails', async () => {
    const logs: string[] = [];
    // A real process that prints the driver message and exits 9, as nvidia-smi does without a driver.
    const run: RunProgram = (_file, _args, timeoutMs) => runProgram(process.execPath, ['-e', `process.stdout.write(${JSON.stringify(fixture('driver-failure.txt'))}); process.exit(9)`], timeoutMs);
    const reader = createGpuReader({ run, log: (m) => logs.push(m) });
    expect(await reader.read()).toEqual([]);
    expect(await reader.read()).toEqual([]);
    expect(logs).toEqual([
      "gpus: nvidia-smi failed (exited with 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.); reporting no GPUs",
    ]);
  });

  it('keeps the rows of a run that exits 14 (infoROM is corrupted) and logs the warning once across probes', async () => {
    const logs: string[] = [];
    const reader = createGpuReader({ run: fakeNvidiaSmi(fixture('inforom-corrupted.csv'), fixture('inforom-corrupted.stderr.txt'), 14), log: (m) => logs.push(m) });
    const expected = parseNvidiaSmiCsv(fixture('inforom-corrupted.csv'));
    expect(expected.map((g) => g.index)).toEqual([0, 1]);
    expect(await reader.read()).toEqual(expected);
    expect(await reader.read()).toEqual(expected);
    expect(await reader.read()).toEqual(expected);
    expect(logs).toEqual(['gpus: nvidia-smi exited with 14: WARNING: infoROM is corrupted at gpu 0000:41:00.0; reporting the GPUs it listed']);
  });

  it('gives [] and logs the failure once for a run that exits 14 without rows', async () => {
    const logs: string[] = [];
    const reader = createGpuReader({ run: fakeNvidiaSmi('', fixture('inforom-corrupted.stderr.txt'), 14), log: (m) => logs.push(m) });
    expect(await reader.read()).toEqual([]);
    expect(await reader.read()).toEqual([]);
    expect(logs).toEqual(['gpus: nvidia-smi failed (exited with 14: WARNING: infoROM is corrupted at gpu 0000:41:00.0); reporting no GPUs']);
  });

  it('does not believe the rows of a run it had to kill (its output may stop mid-row)', async () => {
    const logs: string[] = [];
    const rows = JSON.stringify(fixture('h100.csv'));
    const run: RunProgram = (_file, _args) => runProgram(process.execPath, ['-e', `process.stdout.write(${rows}); setInterval(() => {}, 1000)`], 1500);
    const reader = createGpuReader({ run, log: (m) => logs.push(m), timeoutMs: 1500 });
    expect(await reader.read()).toEqual([]);
    expect(logs).toEqual(['gpus: nvidia-smi timed out after 1500ms; reporting no GPUs']);
  });

  it('asks nvidia-smi for exactly the fields it parses and reads its output', async () => {
    const calls: string[][] = [];
    const run: RunProgram = async (file, args) => {
      calls.push([file, ...args]);
      return fixture('eight-h100.csv');
    };
    const reader = createGpuReader({ run, log: () => {} });
    expect(await reader.read()).toHaveLength(8);
    expect(calls).toEqual([['nvidia-smi', ...NVIDIA_SMI_ARGS]]);
    expect(NVIDIA_SMI_ARGS).toEqual(['--query-gpu=index,name,memory.total,memory.used,utilization.gpu', '--format=csv,noheader,nounits']);
  });
});
