// SerialRuns: one run at a time, and any number of asks during a run make exactly one more.
import { describe, expect, it } from 'vitest';
import { SerialRuns } from '../../service/serial-runs.js';

/** A task whose runs the test ends one by one. */
function gatedTask(): { task: () => Promise<void>; started: number; finish(): Promise<void> } {
  const gates: (() => void)[] = [];
  const state = {
    started: 0,
    task: () =>
      new Promise<void>((resolve) => {
        state.started++;
        gates.push(resolve);
      }),
    async finish() {
      gates.shift()?.();
      // Let the finally and a rerun's start happen.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return state;
}

describe('SerialRuns', () => {
  it('runs at once when idle, and is idle again after', async () => {
    const gated = gatedTask();
    const runs = new SerialRuns(gated.task);
    expect(runs.current).toBeNull();
    runs.run();
    expect(gated.started).toBe(1);
    expect(runs.current).not.toBeNull();
    await gated.finish();
    expect(runs.current).toBeNull();
    expect(gated.started).toBe(1);
  });

  it('three asks during a run make one more run, after it', async () => {
    const gated = gatedTask();
    const runs = new SerialRuns(gated.task);
    runs.run();
    runs.run();
    runs.run();
    runs.run();
    expect(gated.started).toBe(1);
    await gated.finish();
    expect(gated.started).toBe(2);
    await gated.finish();
    expect(gated.started).toBe(2);
    expect(runs.current).toBeNull();
  });

  it('an adopted run counts as the run going on', async () => {
    const gated = gatedTask();
    const runs = new SerialRuns(gated.task);
    let end = (): void => undefined;
    runs.adopt(new Promise<void>((resolve) => (end = resolve)));
    runs.run();
    expect(gated.started).toBe(0);
    end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(gated.started).toBe(1);
    await gated.finish();
    expect(runs.current).toBeNull();
  });
});
