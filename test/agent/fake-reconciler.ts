// A small reconciler stand-in for the agent loop tests: real node:http on 127.0.0.1, the three
// agent routes with lease checks, every request recorded. It can go down and come back on the
// same port, forget its leases (as a reconciler restarted without --state-dir does), answer 503
// StoreUnavailable (as a reconciler whose store is down does), and share its lease table with
// other fakes (as reconcilers on one etcd do).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DesiredForAgent, RegistrationAnswer } from '../../schema/agent-protocol.js';
import { stablePort } from '../support/ports.js';

export interface RecordedCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown> | undefined;
}

/** The leases and names of a fleet: one per fake, or one shared by several. */
export interface FakeLeaseTable {
  leases: Map<string, string>;
  names: Map<string, { name: string; poolName?: string }[]>;
  nextLeaseId(): string;
}

/** Lease ids are `<prefix>-1`, `<prefix>-2`, …: another prefix tells another fleet's leases apart. */
export function createFakeLeaseTable(prefix = 'lease'): FakeLeaseTable {
  let leaseCount = 0;
  return { leases: new Map(), names: new Map(), nextLeaseId: () => `${prefix}-${++leaseCount}` };
}

export interface FakeReconciler {
  url: string;
  calls: RecordedCall[];
  /** Calls of one kind: `register`, `heartbeat` or `deregister`. */
  callsOf(kind: 'register' | 'heartbeat' | 'deregister'): RecordedCall[];
  heartbeatIntervalSeconds: number;
  /** What the answers carry as desired/rejected, computed per registered name. */
  desiredFor: (name: string, sentPoolName: string | undefined) => DesiredForAgent;
  rejected: { name: string; reason: string }[];
  /** While true, the agent routes answer 503 StoreUnavailable (the calls are still recorded). */
  unavailable: boolean;
  forgetLeases(): void;
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeReconciler(options: { table?: FakeLeaseTable } = {}): Promise<FakeReconciler> {
  const table = options.table ?? createFakeLeaseTable();
  const { leases, names } = table;
  let server: Server | undefined;
  // Below the kernel's ephemeral range: while it is down, no other test's server can take its port.
  let port = await stablePort();

  const fake: FakeReconciler = {
    url: '',
    calls: [],
    callsOf(kind) {
      return fake.calls.filter((c) => kindOf(c) === kind);
    },
    heartbeatIntervalSeconds: 0.05,
    desiredFor: (name, sentPoolName) => ({ name, poolName: sentPoolName ?? null, enabled: true, declared: false }),
    rejected: [],
    unavailable: false,
    forgetLeases() {
      leases.clear();
    },
    async goDown() {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    async comeBack() {
      await listen();
    },
    async close() {
      await fake.goDown();
    },
  };

  function answerFor(agentId: string): RegistrationAnswer {
    return {
      leaseId: leases.get(agentId) ?? '',
      ttlSeconds: 3,
      heartbeatIntervalSeconds: fake.heartbeatIntervalSeconds,
      revision: 'rev1',
      desired: (names.get(agentId) ?? []).map((n) => fake.desiredFor(n.name, n.poolName)),
      rejected: fake.rejected,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await new Promise<string>((resolve) => {
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (data += chunk));
      req.on('end', () => resolve(data));
    });
    const body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
    const call: RecordedCall = { method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, body };
    fake.calls.push(call);
    const send = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    const url = new URL(call.path, 'http://fake');
    const beat = /^\/api\/v1\/agents\/([^/]+)\/heartbeat$/.exec(url.pathname);
    const drop = /^\/api\/v1\/agents\/([^/]+)$/.exec(url.pathname);
    if (fake.unavailable && url.pathname.startsWith('/api/v1/agents/')) {
      send(503, { error: { code: 'StoreUnavailable', message: 'the lease store is unavailable' } });
    } else if (call.method === 'POST' && call.path === '/api/v1/agents/register' && body !== undefined) {
      const agentId = String(body.agentId);
      leases.set(agentId, table.nextLeaseId());
      names.set(agentId, (body.llms as { name: string; poolName?: string }[]).map((l) => ({ name: l.name, ...(l.poolName === undefined ? {} : { poolName: l.poolName }) })));
      send(200, answerFor(agentId));
    } else if (call.method === 'POST' && beat !== null && body !== undefined) {
      const agentId = decodeURIComponent(beat[1] ?? '');
      if (leases.get(agentId) !== body.leaseId) send(404, { error: { code: 'LeaseNotFound', message: `no lease ${String(body.leaseId)} for agent ${agentId}` } });
      else send(200, answerFor(agentId));
    } else if (call.method === 'DELETE' && drop !== null) {
      const agentId = decodeURIComponent(drop[1] ?? '');
      const leaseId = url.searchParams.get('leaseId');
      if (!leases.has(agentId) || (leaseId !== null && leases.get(agentId) !== leaseId)) {
        send(404, { error: { code: 'LeaseNotFound', message: `no lease for agent ${agentId}` } });
        return;
      }
      leases.delete(agentId);
      names.delete(agentId);
      send(200, { agentId, released: [] });
    } else {
      send(404, { error: { code: 'NotFound', message: `no route ${call.method} ${call.path}` } });
    }
  }

  async function listen(): Promise<void> {
    const s = createServer((req, res) => {
      handle(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)));
    });
    await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
    port = (s.address() as AddressInfo).port;
    server = s;
    fake.url = `http://127.0.0.1:${port}`;
  }

  await listen();
  return fake;
}

function kindOf(call: RecordedCall): string {
  if (call.method === 'DELETE') return 'deregister';
  if (call.path.endsWith('/register')) return 'register';
  if (call.path.endsWith('/heartbeat')) return 'heartbeat';
  return 'other';
}
