// The local etcd that `mcpctl demo --ha` and `npm run bench -- ha` start: a real etcd binary on
// free loopback ports, its revision read through the HTTP gateway, and, when supervised, stopped
// once the process that started it is gone (a demo killed with SIGKILL leaves no etcd behind).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdInstalled, readEtcdRevision, startLocalEtcd } from '../../service/local-etcd.js';
import { etcdTool } from '../support/etcd.js';
import { waitFor } from '../support/wait-for.js';

/** The built module (run `npx tsc -p tsconfig.json` first), for a plain node parent to import. */
const MODULE = new URL('../../dist/service/local-etcd.js', import.meta.url).href;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mcpctl-local-etcd-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('isEtcdInstalled', () => {
  it('is false for a binary that is not there', () => {
    expect(isEtcdInstalled(path.join(dir, 'no-such-etcd'))).toBe(false);
  });
});

describe.skipIf(!etcdTool.available)(`startLocalEtcd${etcdTool.skipNote}`, () => {
  it('serves on loopback, and its revision grows by one with each write', async () => {
    const etcd = await startLocalEtcd(path.join(dir, 'plain'));
    try {
      expect(etcd.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
      const before = await readEtcdRevision(etcd.clientUrl);
      const put = await fetch(`${etcd.clientUrl}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('k').toString('base64'), value: Buffer.from('v').toString('base64') }) });
      expect(put.status).toBe(200);
      expect(await readEtcdRevision(etcd.clientUrl)).toBe(before + 1);
    } finally {
      await etcd.stop();
    }
    expect(etcd.child.exitCode !== null || etcd.child.signalCode !== null).toBe(true);
  });

  it('supervised, it stops by itself once the process that started it is killed with SIGKILL', async () => {
    // A parent that starts a supervised etcd, prints its URL and waits to be killed.
    const script = `
      const { startLocalEtcd } = await import(${JSON.stringify(MODULE)});
      const etcd = await startLocalEtcd(${JSON.stringify(path.join(dir, 'supervised'))}, { detached: true, stopWithParent: true });
      console.log(etcd.clientUrl);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    parent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    parent.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor('the parent to print the etcd URL', () => {
      if (parent.exitCode !== null) throw new Error(`the parent exited with ${parent.exitCode}: ${out}`);
      return /http:\/\/127\.0\.0\.1:\d+/.test(out);
    }, 30_000);
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)?.[0] ?? '';
    expect((await fetch(`${url}/health`)).status).toBe(200);
    parent.kill('SIGKILL');
    await waitFor('etcd to stop after its parent died', async () => {
      const answered = await fetch(`${url}/health`).then(() => true, () => false);
      return !answered;
    }, 20_000);
  }, 60_000);
});
