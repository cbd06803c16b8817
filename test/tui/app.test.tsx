// The whole TUI driven by keys and a fake data source that pushes events; frames pinned under
// test/golden/tui/ (lastFrame(), no colour unless the test says so).
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { measureWidth, stripAnsi } from '../../cli/format/color.js';
import { formatDescribe } from '../../cli/format/describe.js';
import { FakeSource } from './support/fake-source.js';
import { KEYS, renderTui, type Rendered } from './support/render-tui.js';
import {
  buildRealisticLive,
  buildStatus,
  buildTuiFleet,
  degradedFiles,
  editedFiles,
  h100,
  liveLlm,
  NOW_MS,
  planOf,
  REALISTIC_FILES,
  snapshotOf,
} from './support/tui-fleet.js';

afterEach(() => cleanup());

const fleet = buildTuiFleet();
const ESC = '\u001b';

async function started(options: Parameters<typeof renderTui>[1] = {}, source = new FakeSource(snapshotOf(fleet))): Promise<Rendered> {
  const r = await renderTui(source, options);
  await r.waitFor((f) => f.includes('● live'), 'the first list');
  return r;
}

/** The frame line that carries the cursor mark. */
const cursorLine = (frame: string): string => frame.split('\n').find((l) => l.startsWith('› ')) ?? '';

function expectFits(frame: string, columns: number, rows: number): void {
  const lines = frame.split('\n');
  // One row short of the terminal: a frame as tall as the terminal makes Ink clear the screen.
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const line of lines) expect(measureWidth(line)).toBeLessThanOrEqual(columns);
}

describe('pools view', () => {
  test('at 80×24: pools sorted by key with explicit/implicit, active/size and a bar; solo Llms apart', async () => {
    const r = await started();
    expectFits(r.frame(), 80, 24);
    await expect(r.frame()).toMatchFileSnapshot('../golden/tui/pools-80x24.txt');
  });

  test('at 120×30 the same view has room to spare', async () => {
    const r = await started({ columns: 120, rows: 30 });
    expectFits(r.frame(), 120, 30);
    await expect(r.frame()).toMatchFileSnapshot('../golden/tui/pools-120x30.txt');
  });

  test('a Degraded pool says Degraded, and is red when colour is on', async () => {
    const degraded = buildTuiFleet({ files: degradedFiles() });
    const plain = await started({}, new FakeSource(snapshotOf(degraded)));
    const row = plain.frame().split('\n').find((l) => l.includes('user-vllm-qwen3-thinking')) ?? '';
    expect(row).toMatch(/1\/3 +███░░░░░░░ +2 +Degraded$/);
    await expect(plain.frame()).toMatchFileSnapshot('../golden/tui/pools-degraded-80x24.txt');
    const coloured = await started({ color: true }, new FakeSource(snapshotOf(degraded)));
    const colouredRow = coloured.frame().split('\n').find((l) => stripAnsi(l).includes('user-vllm-qwen3-thinking')) ?? '';
    expect(colouredRow).toContain('\u001b[31mDegraded');
    expect(stripAnsi(colouredRow)).toBe(row);
  });

  test('without colour (NO_COLOR) no frame carries an escape code; with it, frames do', async () => {
    const r = await started();
    await r.press('j', KEYS.enter);
    await r.waitFor((f) => f.includes('[Members]'));
    await r.press(KEYS.enter);
    await r.waitFor((f) => f.includes('Name:'));
    for (const frame of r.frames) expect(frame).not.toContain(ESC);
    const coloured = await started({ color: true });
    expect(coloured.frame()).toContain(`${ESC}[`);
  });

  test('before the first list it says where it connects', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const list = source.list.bind(source);
    source.list = async () => {
      await gate;
      return list();
    };
    const r = await renderTui(source);
    const frame = await r.waitFor((f) => f.includes('Connecting'));
    expect(frame.split('\n').slice(0, 2)).toEqual([
      expect.stringMatching(/^mcpctl {2}\[Pools\] {2}Members {3}Plan +rev \(none\) · 0 llms · ○ connecting$/),
      'Connecting to the reconciler at http://127.0.0.1:7420…',
    ]);
    release();
    await r.waitFor((f) => f.includes('● live'));
  });
});

describe('requests in flight from a gateway', () => {
  const counts = new Map([
    ['vllm-gpu1-qwen3', 3],
    ['llamacpp-gpu4-llama3', 1],
    ['openai-gpt4o', 12],
  ]);

  function withGateway(): FakeSource {
    const source = new FakeSource(snapshotOf(fleet));
    source.inFlight = async () => ({ counts, gateways: 1, unreachable: [] });
    return source;
  }

  test('the Pools tab gains IN-FLIGHT per pool and per solo Llm, the Members tab per member; both still fit', async () => {
    const r = await started({ columns: 120, rows: 30 }, withGateway());
    const pools = await r.waitFor((f) => f.includes('IN-FLIGHT'), 'the in-flight column');
    expectFits(pools, 120, 30);
    await expect(pools).toMatchFileSnapshot('../golden/tui/pools-inflight-120x30.txt');
    await r.press('j', KEYS.enter);
    const members = await r.waitFor((f) => f.includes('[Members]'));
    expectFits(members, 120, 30);
    await expect(members).toMatchFileSnapshot('../golden/tui/members-inflight-120x30.txt');
    const narrow = await started({}, withGateway());
    expectFits(await narrow.waitFor((f) => f.includes('IN-FLIGHT')), 80, 24);
  });

  test('no column while no gateway answers; it comes when one does', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    let answering = false;
    source.inFlight = async () => ({ counts: answering ? counts : new Map(), gateways: 1, unreachable: answering ? [] : [{ gateway: 'http://127.0.0.1:7430', message: 'cannot reach the gateway' }] });
    const r = await started({}, source);
    expect(r.frame()).not.toContain('IN-FLIGHT');
    answering = true;
    await r.waitFor((f) => f.includes('IN-FLIGHT'), 'the column once the gateway answers');
  });
});

describe('moving and opening', () => {
  test('j, k and the arrows move the cursor, stopping at the ends', async () => {
    const r = await started();
    expect(cursorLine(r.frame())).toMatch(/^› llama3-70b/);
    await r.press('j');
    await r.waitFor((f) => cursorLine(f).startsWith('› user-vllm-qwen3-thinking'));
    await r.press(KEYS.down, KEYS.down);
    await r.waitFor((f) => cursorLine(f).startsWith('› ollama-workstation'));
    await r.press(KEYS.up);
    await r.waitFor((f) => cursorLine(f).startsWith('› ollama-laptop'));
    await r.press('k', 'k', 'k', 'k');
    await r.waitFor((f) => cursorLine(f).startsWith('› llama3-70b'));
    await r.press('G');
    await r.waitFor((f) => cursorLine(f).startsWith('› openai-gpt4o'));
    await r.press('g');
    await r.waitFor((f) => cursorLine(f).startsWith('› llama3-70b'));
  });

  test('enter on a pool shows its members: name, kind/phase, agent, heartbeat age, GPUs', async () => {
    const r = await started();
    await r.press('j', KEYS.enter);
    const frame = await r.waitFor((f) => f.includes('[Members]'));
    expectFits(frame, 80, 24);
    await expect(frame).toMatchFileSnapshot('../golden/tui/members-80x24.txt');
  });

  test('enter on a member shows the same facts as describe', async () => {
    const r = await started();
    await r.press('j', KEYS.enter);
    await r.waitFor((f) => f.includes('[Members]'));
    await r.press('j', KEYS.enter);
    const frame = await r.waitFor((f) => f.includes('Name:'));
    expectFits(frame, 80, 24);
    await expect(frame).toMatchFileSnapshot('../golden/tui/detail-80x24.txt');
    const described = formatDescribe(fleet.view('vllm-gpu2-qwen3'), fleet.members('vllm-gpu2-qwen3'), { color: false, nowMs: NOW_MS }).split('\n');
    const body = frame.split('\n').slice(1, 20);
    expect(body).toEqual(described.slice(0, 19).map((l) => l.trimEnd()));
  });

  test('j/k scroll the detail; esc goes back to the members, backspace back to the pools', async () => {
    const r = await started();
    await r.press(KEYS.enter);
    await r.waitFor((f) => f.includes('[Members]'));
    await r.press(KEYS.enter);
    await r.waitFor((f) => f.includes('Name:'));
    await r.press('j', 'j');
    await r.waitFor((f) => f.split('\n')[1] === '↑ 2 more');
    await r.press(KEYS.escape);
    await r.waitFor((f) => f.includes('[Members]') && cursorLine(f).startsWith('› llama3-70b'));
    await r.press(KEYS.backspace);
    await r.waitFor((f) => f.includes('[Pools]') && cursorLine(f).startsWith('› llama3-70b'));
  });

  test('enter on a solo Llm opens its detail directly', async () => {
    const r = await started();
    await r.press('G', KEYS.enter);
    const frame = await r.waitFor((f) => f.includes('Name:'));
    expect(frame).toContain('Name:         openai-gpt4o');
    expect(frame).toContain('[Pools]');
  });

  test('tab cycles Pools → Members → Plan → Pools, planning on the first visit; shift+tab goes back', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    source.planResult = planOf(REALISTIC_FILES, editedFiles(), fleet.views);
    const r = await started({}, source);
    await r.press(KEYS.tab);
    await r.waitFor((f) => f.includes('[Members]') && f.includes('Pool llama3-70b'));
    await r.press(KEYS.tab);
    await r.waitFor((f) => f.includes('[Plan]') && f.includes('Comparing working tree'));
    await r.press(KEYS.tab);
    await r.waitFor((f) => f.includes('[Pools]'));
    await r.press(KEYS.shiftTab);
    await r.waitFor((f) => f.includes('[Plan]'));
    await r.press(KEYS.shiftTab);
    await r.waitFor((f) => f.includes('[Members]'));
    expect(source.calls.filter((c) => c === 'plan')).toHaveLength(1);
  });
});

describe('filter and help', () => {
  test('/ filters the list as you type; enter keeps it, esc clears it', async () => {
    const r = await started();
    await r.press('/', 'q', 'w', 'e', 'n');
    const typing = await r.waitFor((f) => f.includes('/qwen▏'));
    expect(typing).not.toContain('llama3-70b');
    expect(cursorLine(typing)).toMatch(/^› user-vllm-qwen3-thinking/);
    await expect(typing).toMatchFileSnapshot('../golden/tui/filter-80x24.txt');
    await r.press(KEYS.enter);
    const kept = await r.waitFor((f) => !f.includes('▏'));
    expect(kept.split('\n')[0]).toContain('/qwen');
    expect(kept).not.toContain('llama3-70b');
    await r.press(KEYS.escape);
    await r.waitFor((f) => f.includes('llama3-70b') && !f.split('\n')[0]?.includes('/qwen'));
  });

  test('a filter that matches nothing says so', async () => {
    const r = await started();
    await r.press('/', 'z', 'z', KEYS.enter);
    await r.waitFor((f) => f.includes('Nothing matches the filter /zz (esc clears it).'));
  });

  test('? shows every key; ? again closes it', async () => {
    const r = await started();
    await r.press('?');
    const help = await r.waitFor((f) => f.includes('Keys'));
    expectFits(help, 80, 24);
    await expect(help).toMatchFileSnapshot('../golden/tui/help-80x24.txt');
    await r.press('?');
    await r.waitFor((f) => f.includes('POOL'));
  });

  test('q quits: the app unmounts and closes the watch stream', async () => {
    const r = await started();
    expect(r.source.openWatches).toBe(1);
    await r.press('q');
    await r.waitFor(() => r.source.openWatches === 0, 'the watch to close');
  });
});

describe('live updates', () => {
  const joiner = buildTuiFleet({
    live: [...buildRealisticLive(), liveLlm({ name: 'llamacpp-gpu6-llama3', poolName: 'llama3-70b', type: 'llamacpp', model: 'meta-llama/Llama-3.3-70B-Instruct', agentId: 'gpu6', ageSeconds: 1, gpus: [h100(0, 40000, 55)] })],
  }).view('llamacpp-gpu6-llama3');

  test('a worker joins: 2/3 becomes 3/4 in place, and leaving turns it back', async () => {
    const r = await started();
    const row = (f: string): string => f.split('\n').find((l) => l.includes('llama3-70b')) ?? '';
    expect(row(r.frame())).toMatch(/2\/3/);
    r.source.push({ type: 'ADDED', view: joiner });
    await r.waitFor((f) => /3\/4/.test(row(f)), 'the worker to join');
    expect(r.frame()).toContain('10 llms');
    r.source.push({ type: 'DELETED', view: joiner });
    await r.waitFor((f) => /2\/3/.test(row(f)), 'the worker to leave');
  });

  test('no flicker: every frame while events stream in shows the whole list', async () => {
    const r = await started();
    const from = r.frames.length;
    const stale = { ...fleet.view('vllm-gpu1-qwen3'), status: { ...fleet.view('vllm-gpu1-qwen3').status, phase: 'stale' as const } };
    r.source.push({ type: 'ADDED', view: joiner });
    r.source.push({ type: 'MODIFIED', view: stale });
    r.source.push({ type: 'MODIFIED', view: fleet.view('vllm-gpu1-qwen3') });
    r.source.push({ type: 'DELETED', view: joiner });
    await r.waitFor((f) => /2\/3/.test(f) && /1\/3/.test(f));
    for (const frame of r.frames.slice(from)) {
      expect(frame).toContain('POOL');
      expect(frame).toContain('user-vllm-qwen3-thinking');
      expect(frame).toContain('openai-gpt4o');
    }
  });

  test('the members view follows phase changes of its members', async () => {
    const r = await started();
    await r.press('j', KEYS.enter);
    await r.waitFor((f) => f.includes('1/3 active'));
    const gpu2 = fleet.view('vllm-gpu2-qwen3');
    r.source.push({ type: 'MODIFIED', view: { ...gpu2, status: { ...gpu2.status, phase: 'active', agent: gpu2.status.agent && { ...gpu2.status.agent, lastHeartbeatAt: new Date(NOW_MS - 2000).toISOString() } } } });
    const frame = await r.waitFor((f) => f.includes('2/3 active'));
    expect(frame).toMatch(/vllm-gpu2-qwen3 +managed\/active +gpu2 +2s/);
  });

  test('heartbeat ages tick with the clock', async () => {
    let now = NOW_MS;
    const r = await started({ now: () => now, tickMs: 5 });
    await r.press('j', KEYS.enter);
    await r.waitFor((f) => /vllm-gpu1-qwen3 +managed\/active +gpu1 +4s/.test(f));
    now += 60_000;
    await r.waitFor((f) => /vllm-gpu1-qwen3 +managed\/active +gpu1 +64s/.test(f), 'the age to grow');
  });

  test('the periodic resync brings fresh heartbeat ages, which /watch does not send', async () => {
    const r = await started({ resyncMs: 5 });
    await r.press('j', KEYS.enter);
    await r.waitFor((f) => /vllm-gpu2-qwen3 +managed\/stale +gpu2 +5m/.test(f));
    const live = buildRealisticLive().map((l) => (l.name === 'vllm-gpu2-qwen3' ? { ...l, lastHeartbeatAt: NOW_MS - 3_000 } : l));
    r.source.snapshot = snapshotOf(buildTuiFleet({ live }));
    await r.waitFor((f) => /vllm-gpu2-qwen3 +managed\/active +gpu2 +3s/.test(f), 'the resync');
  });

  test('an unreachable reconciler shows a banner over the last known state; reconnecting re-lists', async () => {
    let wake: () => void = () => {};
    const sleep = (): Promise<void> => new Promise((resolve) => (wake = resolve));
    const r = await started({ sleep });
    r.source.listError = new Error('cannot reach the reconciler at http://127.0.0.1:7420: ECONNREFUSED');
    r.source.breakWatch();
    const down = await r.waitFor((f) => f.includes('Reconciler unreachable'));
    expectFits(down, 80, 24);
    expect(down).toContain('llama3-70b');
    await expect(down).toMatchFileSnapshot('../golden/tui/unreachable-80x24.txt');
    // While it was down, the laptop went away: the re-list must drop it.
    r.source.snapshot = snapshotOf(buildTuiFleet({ live: buildRealisticLive().filter((l) => l.name !== 'ollama-laptop') }));
    r.source.listError = null;
    wake();
    const up = await r.waitFor((f) => f.includes('● live') && !f.includes('unreachable'));
    expect(up).not.toContain('ollama-laptop');
  });

  test('a rejected revision shows its errors with file:line:col; a good one clears them', async () => {
    const r = await started();
    const errors = [
      { file: 'llms/gpu4.yaml', line: 7, col: 13, message: 'spec.poolName: expected a name like user-vllm-qwen3, found "Qwen Pool"' },
      { file: 'llms/hosted.yaml', line: 3, col: 1, message: 'duplicate name openai-gpt4o (also in llms/other.yaml:2)' },
    ];
    r.source.push({ type: 'STATUS', status: buildStatus(fleet.views, errors) });
    const frame = await r.waitFor((f) => f.includes('has 2 errors'));
    expectFits(frame, 80, 24);
    await expect(frame).toMatchFileSnapshot('../golden/tui/revision-errors-80x24.txt');
    r.source.push({ type: 'STATUS', status: buildStatus(fleet.views) });
    await r.waitFor((f) => !f.includes('errors'));
  });
});

describe('plan and apply', () => {
  function planned(): FakeSource {
    const source = new FakeSource(snapshotOf(fleet));
    source.planResult = planOf(REALISTIC_FILES, editedFiles(), fleet.views);
    return source;
  }

  test('p plans the working tree: coloured YAML diffs per resource and the summary line', async () => {
    const source = planned();
    source.holdPlans = true;
    const r = await started({}, source);
    await r.press('p');
    await r.waitFor((f) => f.includes('Planning:'));
    source.releasePlans();
    const frame = await r.waitFor((f) => f.includes('Comparing working tree'));
    expectFits(frame, 80, 24);
    await expect(frame).toMatchFileSnapshot('../golden/tui/plan-80x24.txt');
    await r.press('G');
    const end = await r.waitFor((f) => f.includes('Plan: 1 to add, 1 to change, 1 to remove.'));
    expect(end.split('\n').at(-2)).toBe('Plan: 1 to add, 1 to change, 1 to remove.');
  });

  test('in colour the diff lines are green and red', async () => {
    const r = await started({ color: true }, planned());
    await r.press('p');
    const frame = await r.waitFor((f) => f.includes('Comparing working tree'));
    expect(frame).toContain(`${ESC}[31m  - apiVersion: mcpctl/v1`);
    expect(frame).toContain(`${ESC}[31m  -   enabled: false`);
  });

  test('a plan that cannot be made says why', async () => {
    const source = planned();
    source.planError = new Error('llms/gpu4.yaml:5:3: spec.model: expected a string, found a number');
    const r = await started({}, source);
    await r.press('p');
    await r.waitFor((f) => f.includes('Cannot plan:') && f.includes('  llms/gpu4.yaml:5:3: spec.model'));
  });

  test('a asks first; n cancels and nothing is applied', async () => {
    const r = await started({}, planned());
    await r.press('p');
    await r.waitFor((f) => f.includes('Comparing working tree'));
    await r.press('a');
    const asking = await r.waitFor((f) => f.includes('y apply  n cancel'));
    expect(asking.split('\n').at(-1)).toBe('Apply? Plan: 1 to add, 1 to change, 1 to remove.  y apply  n cancel');
    await r.press('n');
    await r.waitFor((f) => f.includes('apply cancelled; nothing was written'));
    expect(r.source.calls).not.toContain('apply');
  });

  test('a then y applies: each step with its progress, then the result, then a fresh plan', async () => {
    const source = planned();
    let open: () => void = () => {};
    source.applyGate = new Promise((resolve) => (open = resolve));
    source.applySteps = [
      { step: 'write', state: 'done', detail: 'llms/gpu4.yaml, llms/ollama-dev.yaml, llms/qwen3-thinking-pool.yaml (working tree)' },
      { step: 'commit', state: 'done', detail: '1a2b3c4 apply 3 resources: ollama-workstation, vllm-gpu3-qwen3, vllm-gpu4-qwen3' },
      { step: 'push', state: 'skipped', detail: 'no remote configured' },
      { step: 'sync', state: 'running', detail: 'asking the reconciler to fetch now' },
    ];
    source.applyFinalSteps = [
      { step: 'sync', state: 'done', detail: 'the reconciler fetched revision 1a2b3c4' },
      { step: 'converged', state: 'done', detail: 'the reconciler serves revision 1a2b3c4; no changes left' },
    ];
    source.applyOutcome = { ok: true, message: 'Applied: Plan: 1 to add, 1 to change, 1 to remove.' };
    const r = await started({}, source);
    await r.press('p');
    await r.waitFor((f) => f.includes('Comparing working tree'));
    await r.press('a');
    await r.waitFor((f) => f.includes('y apply'));
    await r.press('y');
    const running = await r.waitFor((f) => f.includes('… sync'));
    expectFits(running, 80, 24);
    await expect(running).toMatchFileSnapshot('../golden/tui/apply-running-80x24.txt');
    // Keys other than scrolling wait while it writes: q does not quit half-way.
    await r.press('q');
    expect(r.source.openWatches).toBe(1);
    source.planResult = planOf(editedFiles(), editedFiles(), fleet.views);
    open();
    const done = await r.waitFor((f) => f.includes('Applied: Plan: 1 to add') && f.includes('Comparing working tree'));
    await expect(done).toMatchFileSnapshot('../golden/tui/apply-done-80x24.txt');
    await r.press('G');
    await r.waitFor((f) => f.includes('No changes. Desired state matches') && f.includes('Plan: 0 to add, 0 to change, 0 to remove.'));
    expect(source.applied).toHaveLength(1);
    expect(source.calls.filter((c) => c === 'plan')).toHaveLength(2);
  });

  test('a without a plan plans first and asks for a review', async () => {
    const r = await started({}, planned());
    await r.press('a');
    await r.waitFor((f) => f.includes('Comparing working tree') && f.includes('review the plan, then press a to apply it'));
    expect(r.source.calls).not.toContain('apply');
  });

  test('a on an empty plan says there is nothing to apply', async () => {
    const source = new FakeSource(snapshotOf(fleet));
    source.planResult = planOf(REALISTIC_FILES, REALISTIC_FILES, fleet.views);
    const r = await started({}, source);
    await r.press('p');
    await r.waitFor((f) => f.includes('No changes.'));
    await r.press('a');
    await r.waitFor((f) => f.includes('nothing to apply: the reconciler already serves what the working tree declares'));
  });

  test('a failed apply shows where it stopped', async () => {
    const source = planned();
    source.applySteps = [
      { step: 'write', state: 'done', detail: 'llms/gpu4.yaml (working tree)' },
      { step: 'commit', state: 'failed', detail: 'git commit failed: nothing added to commit' },
    ];
    source.applyOutcome = { ok: false, message: 'Apply stopped at commit: git commit failed: nothing added to commit' };
    const r = await started({}, source);
    await r.press('p');
    await r.waitFor((f) => f.includes('Comparing'));
    await r.press('a', 'y');
    const frame = await r.waitFor((f) => f.includes('Apply stopped at commit'));
    expect(frame).toContain('  ✗ commit     failed: git commit failed: nothing added to commit');
    expect(frame).toContain('  · push       pending');
    expect(source.calls.filter((c) => c === 'plan')).toHaveLength(1);
  });
});
