// A real etcd for tests: one member on free loopback ports in a temp data dir, started and
// stopped by the test. It can be killed with SIGKILL and started again on the same data dir.
// With `tls` it serves clients on https and asks each for a certificate signed by the CA.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { checkTool, TOOLS } from './tools.js';
import { waitFor } from './wait-for.js';
import { stablePort } from './ports.js';

export const etcdTool = checkTool(TOOLS.etcd);

/**
 * One etcd for the calling test file, where etcd is installed: started before its first test and
 * stopped after its last (tests use a prefix each). Returns the running etcd; call it in tests only.
 */
export function etcdForFile(): () => TestEtcd {
  let etcd: TestEtcd | null = null;
  beforeAll(async () => {
    if (etcdTool.available) etcd = await TestEtcd.start();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });
  return () => {
    if (etcd === null) throw new Error('no etcd: etcdForFile() runs it only where etcd is installed, and only from beforeAll on');
    return etcd;
  };
}

/** PEM files for an etcd that serves clients on https and requires a client certificate. */
export interface TestEtcdTls {
  /** The CA that signed the server and client certificates. */
  ca: string;
  serverCert: string;
  serverKey: string;
  /** A client certificate, used here only to ask etcd whether it is healthy. */
  clientCert: string;
  clientKey: string;
}

export class TestEtcd {
  private child: ChildProcess | null = null;
  private output = '';

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    private readonly peerPort: number,
    private readonly tls: TestEtcdTls | null,
  ) {}

  /** `127.0.0.1:PORT`, as --store etcd:// takes it. */
  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  static async start(options: { tls?: TestEtcdTls } = {}): Promise<TestEtcd> {
    const dataDir = await mkdtemp(join(tmpdir(), 'mcpctl-etcd-'));
    const etcd = new TestEtcd(dataDir, await stablePort(), await stablePort(), options.tls ?? null);
    await etcd.run();
    return etcd;
  }

  /** Starts etcd on the data dir (again, after kill or stop) and waits until it answers. */
  async run(): Promise<void> {
    const tls = this.tls;
    const client = `${tls === null ? 'http' : 'https'}://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const tlsArgs = tls === null ? [] : ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth'];
    const health = tls === null ? () => fetchHealth(client) : await httpsHealth(client, tls);
    this.output = '';
    const child = spawn(
      TOOLS.etcd.bin,
      [
        '--name', 'test',
        '--data-dir', join(this.dataDir, 'data'),
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--log-level', 'warn',
        ...tlsArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await waitFor(`etcd on ${client} to answer`, async () => {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${this.output}`);
      return (await health()) === 'true';
    }, 30_000);
  }

  /** SIGKILL, as a crash: the data dir stays for run(). */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}

/** The `health` field of etcd's /health. */
async function fetchHealth(client: string): Promise<string | undefined> {
  const response = await fetch(`${client}/health`);
  return ((await response.json()) as { health?: string }).health;
}

/** fetchHealth over https with the client certificate (fetch takes none). */
async function httpsHealth(client: string, tls: TestEtcdTls): Promise<() => Promise<string | undefined>> {
  const [ca, cert, key] = await Promise.all([readFile(tls.ca), readFile(tls.clientCert), readFile(tls.clientKey)]);
  return () =>
    new Promise((resolve, reject) => {
      const req = request(`${client}/health`, { ca, cert, key, timeout: 2_000 }, (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          try {
            resolve((JSON.parse(text) as { health?: string }).health);
          } catch (error) {
            reject(error as Error);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 2 s'))).on('error', reject);
      req.end();
    });
}

/**
 * A TCP relay in front of etcd for one client: cut() drops its connections and refuses new ones
 * (a network partition of that client alone), mend() lets it connect again.
 */
export class TcpRelay {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<TcpRelay> {
    const [host, port] = target.split(':') as [string, string];
    let relay: TcpRelay | null = null;
    const server = createServer((socket) => {
      if (relay === null || relay.cutOff) {
        socket.destroy();
        return;
      }
      const upstream = connect(Number(port), host);
      const sockets = relay.sockets;
      sockets.add(socket);
      sockets.add(upstream);
      const close = (): void => {
        socket.destroy();
        upstream.destroy();
        sockets.delete(socket);
        sockets.delete(upstream);
      };
      socket.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as AddressInfo;
    relay = new TcpRelay(server, `127.0.0.1:${address.port}`);
    return relay;
  }

  cut(): void {
    this.cutOff = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  mend(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
