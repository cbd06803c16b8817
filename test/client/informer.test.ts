import { describe, expect, test } from 'vitest';
import { runInformer, sleepUnlessAborted, type InformerSink } from '../../client/informer.js';
import { FakeSource } from '../tui/support/fake-source.js';
import { buildTuiFleet, snapshotOf } from '../tui/support/tui-fleet.js';

function recordingSink(): { sink: InformerSink; log: string[] } {
  const log: string[] = [];
  return {
    log,
    sink: {
      connecting: () => log.push('connecting'),
      listed: (s) => log.push(`listed ${s.llms.length}`),
      event: (e) => log.push(`event ${e.type} ${e.type === 'STATUS' || e.type === 'HEARTBEAT' ? '' : e.view.metadata.name}`.trimEnd()),
      policies: (p) => log.push(`policies ${p.length}`),
      unreachable: (message, retryInMs) => log.push(`unreachable ${retryInMs}ms: ${message}`),
    },
  };
}

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((r) => setTimeout(r, 2));
  if (!predicate()) throw new Error('condition not reached');
}

describe('runInformer', () => {
  const fleet = buildTuiFleet();

  test('lists, then follows the watch, reporting every event', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    const { sink, log } = recordingSink();
    const controller = new AbortController();
    const done = runInformer(source, sink, controller.signal, { sleep: async () => {} });
    await until(() => source.openWatches === 1);
    source.push({ type: 'DELETED', view: fleet.view('ollama-laptop') });
    controller.abort();
    await done;
    expect(log).toEqual(['connecting', `listed ${fleet.views.length}`, 'event DELETED ollama-laptop']);
  });

  test('an unreachable reconciler is retried with growing delays, and the first good list resets them', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    source.listError = new Error('cannot reach the reconciler at http://127.0.0.1:7420: ECONNREFUSED');
    const { sink, log } = recordingSink();
    const sleeps: number[] = [];
    const controller = new AbortController();
    const done = runInformer(source, sink, controller.signal, {
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 3) source.listError = null;
      },
    });
    await until(() => source.openWatches === 1);
    source.breakWatch();
    await until(() => source.openWatches === 1 && sleeps.length === 4);
    controller.abort();
    await done;
    expect(sleeps).toEqual([500, 1000, 2000, 500]);
    expect(log.filter((l) => l.startsWith('unreachable'))).toEqual([
      'unreachable 500ms: cannot reach the reconciler at http://127.0.0.1:7420: ECONNREFUSED',
      'unreachable 1000ms: cannot reach the reconciler at http://127.0.0.1:7420: ECONNREFUSED',
      'unreachable 2000ms: cannot reach the reconciler at http://127.0.0.1:7420: ECONNREFUSED',
      'unreachable 500ms: cannot reach the reconciler at http://127.0.0.1:7420: ECONNRESET',
    ]);
    // Every reconnect lists again before it watches: nothing deleted meanwhile survives.
    expect(source.calls.filter((c) => c === 'list' || c === 'watch')).toEqual(['list', 'list', 'list', 'list', 'watch', 'list', 'watch']);
  });

  test('a stream the server closes is reopened after a pause, with a fresh list', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    const { sink, log } = recordingSink();
    const sleeps: number[] = [];
    const controller = new AbortController();
    const done = runInformer(source, sink, controller.signal, { sleep: async (ms) => void sleeps.push(ms) });
    await until(() => source.openWatches === 1);
    // A server restart ends the response without an error.
    source.endWatch();
    await until(() => source.calls.filter((c) => c === 'watch').length === 2 && source.openWatches === 1);
    controller.abort();
    await done;
    expect(sleeps).toEqual([500]);
    expect(log.filter((l) => l.startsWith('listed'))).toHaveLength(2);
    expect(log.some((l) => l.startsWith('unreachable'))).toBe(false);
  });

  test('a STATUS event refreshes the pool policies, which Llm events do not carry', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    const { sink, log } = recordingSink();
    const controller = new AbortController();
    const done = runInformer(source, sink, controller.signal, { sleep: async () => {} });
    await until(() => source.openWatches === 1);
    source.push({ type: 'STATUS', status: snapshotOf(fleet).status });
    await until(() => log.some((l) => l.startsWith('policies')));
    controller.abort();
    await done;
    expect(log.slice(-2)).toEqual(['event STATUS', `policies ${fleet.pools.length}`]);
  });

  test('while watching it lists again every resyncMs, and stops when the stream ends', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    const { sink, log } = recordingSink();
    const controller = new AbortController();
    const sleeps: number[] = [];
    let wakeResync: () => void = () => {};
    const done = runInformer(source, sink, controller.signal, {
      resyncMs: 10_000,
      sleep: (ms, signal) => {
        sleeps.push(ms);
        if (ms !== 10_000) return Promise.resolve();
        return new Promise((resolve) => {
          wakeResync = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      },
    });
    await until(() => source.openWatches === 1 && sleeps.length === 1);
    wakeResync();
    await until(() => log.filter((l) => l.startsWith('listed')).length === 2 && sleeps.length === 2);
    wakeResync();
    await until(() => log.filter((l) => l.startsWith('listed')).length === 3);
    // The stream ends: the resync loop stops with it, and the reconnect lists once more.
    source.endWatch();
    await until(() => source.calls.filter((c) => c === 'watch').length === 2);
    controller.abort();
    await done;
    expect(sleeps.filter((ms) => ms === 10_000).length).toBeGreaterThanOrEqual(3);
    expect(source.calls.filter((c) => c === 'list')).toHaveLength(4);
  });

  test('aborting stops it for good: no report after the abort', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    source.listError = new Error('down');
    const { sink, log } = recordingSink();
    const controller = new AbortController();
    const done = runInformer(source, sink, controller.signal, { sleep: (ms, signal) => sleepUnlessAborted(60_000, signal) });
    await until(() => log.length === 2);
    controller.abort();
    await done;
    expect(log).toEqual(['connecting', 'unreachable 500ms: down']);
  });
});
