// A reconciler on a real etcd over TLS (DESIGN §9: --etcd-ca, --etcd-cert, --etcd-key), as a real
// process (node dist/cli/bin.js; run tsc first): etcd serves clients on https and requires a
// client certificate, all certificates made here with openssl and signed by one test CA. With
// the client certificate an agent registers and is served, and its record is in etcd; without
// it the reconciler stops at the start with one line naming the store and the certificate.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd } from '../../reconciler/etcd-client.js';
import type { RegistrationAnswer } from '../../schema/agent-protocol.js';
import type { LlmListAnswer } from '../../schema/views.js';
import { killAllMcpctl, startMcpctl, waitForServingUrl } from '../agent/mcpctl-process.js';
import { etcdTool, TestEtcd, type TestEtcdTls } from '../support/etcd.js';
import { checkTool, TOOLS } from '../support/tools.js';
import { entry, FLEET_FILES, registration } from './support/harness.js';

const opensslTool = checkTool(TOOLS.openssl);
const available = etcdTool.available && opensslTool.available;

let dir: string;
let pems: TestEtcdTls;
let etcd: TestEtcd;

beforeAll(async () => {
  if (!available) return;
  dir = await mkdtemp(join(tmpdir(), 'mcpctl-etcd-tls-'));
  pems = makeCertificates(dir);
  etcd = await TestEtcd.start({ tls: pems });
}, 60_000);
afterAll(async () => {
  if (!available) return;
  await etcd.stop();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await killAllMcpctl();
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate it signed, as PEM files in `into`. */
function makeCertificates(into: string): TestEtcdTls {
  const at = (name: string): string => join(into, name);
  const openssl = (...args: string[]): void => {
    execFileSync(TOOLS.openssl.bin, args, { cwd: into, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ecKey, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mcpctl test CA');
  const signed = (name: string, subject: string, extensions: string): void => {
    openssl('req', '-new', ...ecKey, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(at(`${name}.ext`), extensions);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  signed('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed('client', '/CN=mcpctl reconciler', 'extendedKeyUsage=clientAuth\n');
  return { ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server-key.pem'), clientCert: at('client.pem'), clientKey: at('client-key.pem') };
}

async function worktree(): Promise<string> {
  const tree = join(dir, `worktree-${Date.now()}`);
  await mkdir(join(tree, 'llms'), { recursive: true });
  for (const [path, text] of Object.entries(FLEET_FILES)) await writeFile(join(tree, path), text);
  return tree;
}

describe.sequential(`a reconciler on etcd over TLS${etcdTool.skipNote}${opensslTool.skipNote}`, () => {
  const it_ = available ? it : it.skip;

  it_('with --etcd-ca, --etcd-cert and --etcd-key: an agent registers, its member is served, and its record is in etcd', async () => {
    const store = `etcd://${etcd.endpoint}`;
    const proc = startMcpctl(['reconciler', '--worktree', await worktree(), '--listen', '127.0.0.1:0', '--store', store, '--store-prefix', '/tls/', '--etcd-ca', pems.ca, '--etcd-cert', pems.clientCert, '--etcd-key', pems.clientKey]);
    const url = await waitForServingUrl(proc, 30_000);

    const registered = await fetch(`${url}/api/v1/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(registration('gpu1', [entry('vllm-gpu1-a')])),
    });
    expect(registered.status).toBe(200);
    const { leaseId } = (await registered.json()) as RegistrationAnswer;
    const list = (await (await fetch(`${url}/api/v1/llms`)).json()) as LlmListAnswer;
    const served = list.items.filter((v) => v.status.agent !== null).map((v) => [v.metadata.name, v.status.phase]);
    expect(served).toEqual([['vllm-gpu1-a', 'active']]);

    const [ca, cert, key] = await Promise.all([readFile(pems.ca), readFile(pems.clientCert), readFile(pems.clientKey)]);
    const client = connectEtcd({ endpoints: [etcd.endpoint], tls: { ca, cert, key }, callTimeoutMs: 10_000 });
    try {
      const record = await client.get('/tls/leases/gpu1').json();
      expect((record as { leaseId?: string } | null)?.leaseId).toBe(leaseId);
    } finally {
      client.close();
    }
    // etcd is dialled by IP: Node's warning about an IP as TLS ServerName (DEP0123) is not printed.
    expect(proc.output()).not.toContain('Warning');
  }, 60_000);

  it_('with --etcd-ca alone, where etcd requires a client certificate: exit 1 with one line naming the store', async () => {
    const store = `etcd://${etcd.endpoint}`;
    const proc = startMcpctl(['reconciler', '--worktree', await worktree(), '--listen', '127.0.0.1:0', '--store', store, '--store-prefix', '/tls/', '--etcd-ca', pems.ca]);
    const { code } = await proc.exited;
    const lines = proc.output().trim().split('\n');
    expect({ code, lines: lines.length }).toEqual({ code: 1, lines: 1 });
    expect(lines[0]).toMatch(new RegExp(`^mcpctl: error: cannot restore leases from --store ${store}: etcd is unavailable \\(.*certificate.*\\)$`));
  }, 60_000);
});
