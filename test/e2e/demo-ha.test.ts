// `mcpctl demo --ha` (`npm run demo:ha`) end to end, with real processes: a local etcd in the demo
// folder, two reconcilers sharing it, the agents listing both; kill -9 of one reconciler and the
// agents carry on through the other; Ctrl-C stops everything, etcd included. Without the etcd
// binary the command says how to install it and exits 1. Run `npx tsc -p tsconfig.json` first.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { LlmView } from '../../schema/views.js';
import { etcdTool } from '../support/etcd.js';
import { buildTestEnv, describeRunning, getJson, isAlive, killAll, listChildPids, runMcpctl, startMcpctl, waitFor, type Child } from './support.js';

/** What the two demo agents publish; all of them must stay active through the kill. */
const PUBLISHED = ['vllm-gpu1-qwen3', 'ollama-gpu1-qwen3', 'vllm-gpu2-qwen3', 'llama3-70b-gpu2'];

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'mcpctl-e2e-demo-ha-'));
});

afterAll(async () => {
  await killAll();
  await rm(tmp, { recursive: true, force: true });
});

async function listActive(url: string): Promise<string[]> {
  const answer = await getJson<{ items: LlmView[] }>(`${url}/api/v1/llms`);
  return answer.items.filter((v) => v.status.phase === 'active').map((v) => v.metadata.name).sort();
}

describe('mcpctl demo --ha without etcd', () => {
  it('says in one line how to install etcd and exits 1', async () => {
    const result = await runMcpctl(['demo', '--ha', '--listen', '127.0.0.1:0', '--second-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0'], {
      cwd: tmp,
      env: buildTestEnv({ TMPDIR: tmp, PATH: path.join(tmp, 'no-such-bin') }),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('apt-get install etcd-server');
    expect((await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-'))).toEqual([]);
  });
});

describe.skipIf(!etcdTool.available)(`mcpctl demo --ha${etcdTool.skipNote}`, () => {
  let demo: Child;
  let first: string;
  let second: string;
  let secondPid: number;

  beforeAll(async () => {
    demo = startMcpctl(['demo', '--ha', '--listen', '127.0.0.1:0', '--second-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0'], {
      cwd: tmp,
      env: buildTestEnv({ TMPDIR: tmp }),
      group: true,
    });
    await waitFor('the demo to say it is running', () => {
      if (demo.child.exitCode !== null) throw new Error(`the demo exited with ${demo.child.exitCode}: ${demo.stderr()}`);
      return demo.stdout().includes('Press Ctrl-C');
    }, 40_000);
    first = /reconciler A:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(demo.stdout())?.[1] ?? '';
    second = /reconciler B:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(demo.stdout())?.[1] ?? '';
    secondPid = Number(/reconciler B:.*\(pid (\d+)\)/.exec(demo.stdout())?.[1]);
  }, 45_000);

  it('prints both reconcilers, on one etcd, and each serves every published Llm as active', async () => {
    onTestFailed(() => console.log(describeRunning()));
    expect(first).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(second).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(second).not.toBe(first);
    expect(demo.stdout()).toMatch(/etcd:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(demo.stdout()).toContain(`  kill -9 ${secondPid}`);
    // One agent registered through each reconciler (the demo says it is running once both serve,
    // not once the agents registered); both see the whole fleet.
    await waitFor('both agents to register, gpu2 through reconciler B', () =>
      [/\[agent gpu1\] .*registered as gpu1 with http:/, new RegExp(`\\[agent gpu2\\] .*registered as gpu2 with ${second}`)].every((line) => line.test(demo.stderr())),
    15_000);
    await waitFor('both reconcilers to show every published Llm active', async () => {
      const [a, b] = await Promise.all([listActive(first), listActive(second)]);
      return PUBLISHED.every((name) => a.includes(name) && b.includes(name));
    }, 15_000);
  });

  it('after kill -9 of reconciler B, its agent moves to A and every published Llm stays active there', async () => {
    onTestFailed(() => console.log(describeRunning()));
    process.kill(secondPid, 'SIGKILL');
    await waitFor('agent gpu2 to move to reconciler A', () => new RegExp(`\\[agent gpu2\\] .*${second.replace(/\./g, '\\.')} unreachable.*trying ${first.replace(/\./g, '\\.')}`).test(demo.stderr()), 15_000);
    // A beat through A after the move: the member's last heartbeat is newer than the kill.
    const killedAt = Date.now();
    await waitFor('a heartbeat of gpu2 through reconciler A', async () => {
      const answer = await getJson<{ items: LlmView[] }>(`${first}/api/v1/llms`);
      const gpu2 = answer.items.find((v) => v.metadata.name === 'vllm-gpu2-qwen3');
      return Date.parse(gpu2?.status.agent?.lastHeartbeatAt ?? '') > killedAt;
    }, 15_000);
    expect(await listActive(first)).toEqual(expect.arrayContaining(PUBLISHED));
    expect(demo.child.exitCode).toBeNull();
  });

  it('Ctrl-C stops the agents, the reconciler left, etcd, and removes the demo folder', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const pid = demo.child.pid ?? -1;
    const children = await listChildPids(pid);
    // etcd runs under a small node process that stops it when the demo is gone.
    const grandchildren = (await Promise.all(children.map(listChildPids))).flat();
    expect(children.length).toBeGreaterThan(0);
    process.kill(-pid, 'SIGINT');
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    expect(demo.stdout()).toContain('demo stopped');
    expect([...children, ...grandchildren].filter(isAlive)).toEqual([]);
    expect((await readdir(tmp)).filter((e) => e.startsWith('mcpctl-'))).toEqual([]);
    expect(existsSync(path.join(tmp, 'no-such-bin'))).toBe(false);
  });
});
