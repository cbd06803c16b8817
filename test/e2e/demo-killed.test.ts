// A demo killed hard (SIGKILL) cannot stop anything itself: its reconciler, gateway and agents
// notice that their parent is gone and shut down, the ports are free again (a new demo starts on
// them, as `npm start` does on 7420 and 7430), the demo folder goes, and the next demo removes the
// folders of demos that died. Real processes. Run `npx tsc -p tsconfig.json` first.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { stablePort } from '../support/ports.js';
import { buildTestEnv, describeRunning, isAlive, killAll, listChildPids, startMcpctl, waitFor, type Child } from './support.js';

let tmp: string;
let demo: Child;
let repo: string;
let port: number;
let gatewayPort: number;
/** The demo's children, kept so that a failed test can still kill them. */
let children: number[] = [];

/** The pid of a process that has exited: a demo that died and left its folder. */
async function pidOfExitedProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? -1;
}

async function plantDemoFolder(name: string, pid: number | null): Promise<string> {
  const folder = path.join(tmp, name);
  await mkdir(path.join(folder, 'repo'), { recursive: true });
  if (pid !== null) await writeFile(path.join(folder, 'demo.pid'), `${pid}\n`);
  return folder;
}

/** True when a listener can take the port, i.e. nobody holds it any more. */
function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve(true)));
  });
}

async function startDemo(listen: string, gatewayListen: string): Promise<Child> {
  const started = startMcpctl(['demo', '--listen', listen, '--gateway-listen', gatewayListen], { cwd: tmp, env: buildTestEnv({ TMPDIR: tmp }), group: true });
  await waitFor('the demo to say it is running', () => {
    if (started.child.exitCode !== null) throw new Error(`the demo exited with ${started.child.exitCode}: ${started.stderr()}`);
    return started.stdout().includes('mcpctl demo is running.');
  }, 25_000);
  return started;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'mcpctl-e2e-demo-killed-'));
  await plantDemoFolder('mcpctl-demo-gone', await pidOfExitedProcess());
  await plantDemoFolder('mcpctl-demo-alive', process.pid);
  await plantDemoFolder('mcpctl-demo-nopid', null);
  // Ports no other test's server can take while the demo is dead: the next test starts on them again.
  demo = await startDemo(`127.0.0.1:${await stablePort()}`, `127.0.0.1:${await stablePort()}`);
  port = Number(/reconciler:\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(demo.stdout())?.[1]);
  gatewayPort = Number(/gateway:\s+http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(demo.stdout())?.[1]);
  repo = /repository:\s+(\S+)/.exec(demo.stdout())?.[1] ?? '';
  children = await listChildPids(demo.child.pid ?? -1);
});

afterAll(async () => {
  for (const pid of children) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  await killAll();
  await rm(tmp, { recursive: true, force: true });
});

describe('a demo killed hard', () => {
  it('a new demo removes the folder of a demo that is gone, and no other', () => {
    expect(existsSync(path.join(tmp, 'mcpctl-demo-gone'))).toBe(false);
    expect(demo.stderr()).toContain(`mcpctl demo: removed ${path.join(tmp, 'mcpctl-demo-gone')}, left behind by a demo (pid `);
    // Its owner is alive, or it has no owner on record: not the demo's to judge.
    expect(existsSync(path.join(tmp, 'mcpctl-demo-alive'))).toBe(true);
    expect(existsSync(path.join(tmp, 'mcpctl-demo-nopid'))).toBe(true);
  });

  it('SIGKILL of the demo stops its reconciler, gateway and agents, frees both ports and removes the demo folder', async () => {
    onTestFailed(() => console.log(describeRunning()));
    expect(children).toHaveLength(4);
    expect(children.every(isAlive)).toBe(true);
    expect(await isPortFree(port)).toBe(false);
    expect(await isPortFree(gatewayPort)).toBe(false);
    const demoDir = path.dirname(repo);
    expect(existsSync(path.join(demoDir, 'demo.pid'))).toBe(true);

    // The demo alone, as `kill -9 PID` does: its children are in process groups of their own.
    process.kill(demo.child.pid ?? -1, 'SIGKILL');
    expect(await demo.exited).toEqual({ code: null, signal: 'SIGKILL' });

    await waitFor('the reconciler, the gateway and both agents to exit', () => children.every((pid) => !isAlive(pid)), 20_000);
    await waitFor(`port ${port} to be free`, () => isPortFree(port), 20_000);
    await waitFor(`port ${gatewayPort} to be free`, () => isPortFree(gatewayPort), 20_000);
    await waitFor('the demo folder to be removed', () => !existsSync(demoDir), 20_000);
    expect((await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-')).sort()).toEqual(['mcpctl-demo-alive', 'mcpctl-demo-nopid']);
  });

  it('a new demo starts on the ports of the one that was killed, as `npm start` does after a crash', async () => {
    onTestFailed(() => console.log(describeRunning()));
    const again = await startDemo(`127.0.0.1:${port}`, `127.0.0.1:${gatewayPort}`);
    children = [...children, ...(await listChildPids(again.child.pid ?? -1))];
    expect(again.stdout()).toContain(`  reconciler:  http://127.0.0.1:${port}   `);
    expect(again.stdout()).toContain(`  gateway:     http://127.0.0.1:${gatewayPort}/v1   `);
    process.kill(-(again.child.pid ?? -1), 'SIGINT');
    expect(await again.exited).toEqual({ code: 0, signal: null });
    expect((await readdir(tmp)).filter((e) => e.startsWith('mcpctl-demo-')).sort()).toEqual(['mcpctl-demo-alive', 'mcpctl-demo-nopid']);
  });
});
