// `drain llm NAME --wait` and `get pools -o wide` against real parts: a reconciler process
// following a bare remote, a real gateway (buildGateway) on 127.0.0.1:0 following it (or, where a
// test says so, with a fixed route table: a gateway whose view never sees the drain),
// and a fake upstream that holds each request open until the test releases it, so that the
// gateway counts it in flight exactly as long as the test says.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../../gateway/app.js';
import { ReconcilerFollower } from '../../gateway/reconciler-follower.js';
import { buildRouteTable, type RouteTable } from '../../gateway/route-table.js';
import type { Readiness } from '../../gateway/reconciler-follower.js';
import { ReconcilerClient } from '../../client/reconciler-client.js';
import { parseAuthFile, sha256Hex, type AuthConfig } from '../../service/auth.js';
import type { LlmView } from '../../schema/views.js';
import {
  bareCloneOf,
  cloneRepo,
  closedPort,
  createRepo,
  createScope,
  expectOneErrorLine,
  FLEET_FILES,
  getJson,
  linesOf,
  liveLlm,
  registerAgent,
  runCli,
  startCli,
  startReconciler,
  waitFor,
  type TempRepo,
} from './support/cli-harness.js';

const scope = createScope();
const closers: (() => Promise<unknown>)[] = [];
let source: TempRepo;
let fleet: DrainFleet;

/** qwen3 workers beside gpu1 and gpu2, one per test that drains, so that no test sees another's drain. */
const MORE_WORKERS = ['vllm-gpu3-qwen3', 'vllm-gpu4-qwen3', 'vllm-gpu5-qwen3'];
const WORKER_YAML = (name: string): string => `apiVersion: mcpctl/v1
kind: Llm
metadata:
  name: ${name}
spec:
  type: vllm
  model: Qwen/Qwen3-8B
  poolName: qwen3
`;

beforeAll(async () => {
  source = await createRepo(scope, { ...FLEET_FILES, ...Object.fromEntries(MORE_WORKERS.map((name) => [`llms/${name}.yaml`, WORKER_YAML(name)])) });
  fleet = await startDrainFleet();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await scope.cleanup();
});

/** A model server that answers chat completions only when the test releases them. */
interface HoldingUpstream {
  url: string;
  held(): number;
  releaseAll(): void;
}

async function startHoldingUpstream(): Promise<HoldingUpstream> {
  const waiting: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => waiting.push(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  closers.push(async () => server.closeAllConnections());
  const release = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] }));
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => waiting.length,
    releaseAll: () => waiting.splice(0).forEach(release),
  };
}

/** A real gateway over fixed views: its route table never changes, whatever the reconciler serves. */
function startGateway(views: LlmView[]): Promise<{ url: string; gateway: Gateway }> {
  const table = buildRouteTable(views);
  return startGatewayOver(() => table, () => ({ loaded: true, unreachableSinceMs: null, reason: null }));
}

/** A real gateway following the reconciler at `server`, as `mcpctl gateway` does. */
async function startFollowingGateway(server: string): Promise<{ url: string; gateway: Gateway }> {
  const follower = new ReconcilerFollower({ reconciler: new ReconcilerClient({ server }), log: () => undefined });
  follower.start();
  closers.push(() => follower.close());
  await waitFor('the gateway to load a first view', () => follower.readiness().loaded);
  return startGatewayOver(() => follower.routes(), () => follower.readiness());
}

async function startGatewayOver(routes: () => RouteTable, readiness: () => Readiness, auth: AuthConfig | null = null): Promise<{ url: string; gateway: Gateway }> {
  const dispatcher = new Agent();
  const gateway = await buildGateway({
    routes,
    readiness,
    dispatcher,
    settings: { strategy: 'least-load', retries: 0, cooldownMs: 30_000, timeoutMs: 120_000 },
    maxBodyBytes: 1_000_000,
    auth,
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => dispatcher.close());
  closers.push(() => gateway.app.close());
  return { url: `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`, gateway };
}

interface DrainFleet {
  /** What the reconciler served before any drain: a gateway over these never sees one. */
  viewsAtStart: LlmView[];
  server: string;
  gateway: string;
  upstream: HoldingUpstream;
  remote: string;
}

/**
 * A remote with the fleet, a reconciler following it, gpu1 to gpu5 serving qwen3's workers on the
 * holding upstream, and a gateway routing to them. Each drain test works in a fresh clone of the
 * remote and pushes: the tests that drain run one after the other.
 */
async function startDrainFleet(): Promise<DrainFleet> {
  const remote = await bareCloneOf(scope, source.dir);
  const follower = await startReconciler(scope, remote);
  const upstream = await startHoldingUpstream();
  for (const name of ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3', ...MORE_WORKERS]) {
    await registerAgent(follower.url, name.split('-')[1] ?? name, [{ ...liveLlm(name, 'qwen3'), url: `${upstream.url}/v1` }]);
  }
  const viewsAtStart = (await getJson<{ items: LlmView[] }>(`${follower.url}/api/v1/llms`)).items;
  const { url } = await startFollowingGateway(follower.url);
  await waitFor('the gateway to route to every worker', async () => {
    const state = await getJson<{ members: { name: string; routable?: boolean }[] }>(`${url}/v1/mcpctl/state`);
    return ['vllm-gpu1-qwen3', 'vllm-gpu2-qwen3', ...MORE_WORKERS].every((name) => state.members.some((m) => m.name === name && m.routable === true));
  });
  return { viewsAtStart, server: follower.url, gateway: url, upstream, remote };
}

function cloneOfRemote(): Promise<TempRepo> {
  return cloneRepo(scope, fleet.remote);
}

/** Sends a chat completion for `model` through the gateway; resolves with its status once answered. */
function sendThrough(gateway: string, model: string): Promise<number> {
  return fetch(`${gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  }).then(async (response) => {
    await response.text();
    return response.status;
  });
}

async function inFlightOn(gateway: string, name: string): Promise<number> {
  const state = await getJson<{ members: { name: string; inFlight: number }[] }>(`${gateway}/v1/mcpctl/state`);
  return state.members.find((m) => m.name === name)?.inFlight ?? 0;
}

describe('drain llm NAME --wait', () => {
  it('returns only after the request in flight on NAME is released, naming it while it waits', async () => {
    const repo = await cloneOfRemote();
    const other = await startGateway([]);
    const answered = sendThrough(fleet.gateway, 'vllm-gpu2-qwen3');
    await waitFor('the request to be held upstream', async () => fleet.upstream.held() === 1 && (await inFlightOn(fleet.gateway, 'vllm-gpu2-qwen3')) === 1);

    // Two gateways, comma-separated in the environment: the idle one says nothing.
    const drain = startCli(scope, ['--server', fleet.server, '--repo', repo.dir, 'drain', 'llm', 'vllm-gpu2-qwen3', '--push', '--wait'], {
      env: { MCPCTL_GATEWAY: `${fleet.gateway},${other.url}` },
    });
    const waitingLine = `waiting for 1 request(s) in flight on vllm-gpu2-qwen3 (${fleet.gateway})`;
    await waitFor('drain to say what it waits for', () => {
      if (drain.exited()) throw new Error(`drain exited early:\n${drain.stdout()}${drain.stderr()}`);
      return drain.stdout().includes(waitingLine);
    });
    // Still held, still waiting: the gateway answers 1 on every poll until the release.
    expect(await inFlightOn(fleet.gateway, 'vllm-gpu2-qwen3')).toBe(1);
    expect(drain.exited()).toBe(false);

    fleet.upstream.releaseAll();
    expect(await answered).toBe(200);
    const result = await drain.done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const head = await repo.head();
    // The gateway may poll before its watch brings the drain: then drain says it waits for that too.
    expect(linesOf(result.stdout).filter((line) => !line.endsWith('to stop routing to vllm-gpu2-qwen3'))).toEqual([
      `committed ${head.slice(0, 7)}: drain llm vllm-gpu2-qwen3`,
      'pushed',
      `the reconciler serves ${head}`,
      'llm/vllm-gpu2-qwen3 drained',
      waitingLine,
      'drained: vllm-gpu2-qwen3 has no request in flight',
    ]);
    const served = await getJson<LlmView>(`${fleet.server}/api/v1/llms/vllm-gpu2-qwen3`);
    expect(served.spec.enabled).toBe(false);
  });

  it('--timeout: one line naming what is still in flight, exit 1, the drain committed and served', async () => {
    const repo = await cloneOfRemote();
    const answered = sendThrough(fleet.gateway, 'vllm-gpu3-qwen3');
    await waitFor('the request to be held upstream', () => fleet.upstream.held() === 1);
    const result = await runCli(['--server', fleet.server, '--repo', repo.dir, '--gateway', fleet.gateway, 'drain', 'llm', 'vllm-gpu3-qwen3', '--push', '--wait', '--timeout', '4s']);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe(
      `mcpctl: error: timed out after 4s waiting for the requests in flight on vllm-gpu3-qwen3 to finish (1 on ${fleet.gateway})`,
    );
    expect(linesOf(result.stdout)).toContain(`waiting for 1 request(s) in flight on vllm-gpu3-qwen3 (${fleet.gateway})`);
    expect((await getJson<LlmView>(`${fleet.server}/api/v1/llms/vllm-gpu3-qwen3`)).spec.enabled).toBe(false);
    fleet.upstream.releaseAll();
    expect(await answered).toBe(200);
  });

  it('a member with nothing in flight: drained at once; again when it is drained already', async () => {
    const repo = await cloneOfRemote();
    const args = ['--server', fleet.server, '--repo', repo.dir, '--gateway', `${fleet.gateway}/v1`, 'drain', 'llm', 'vllm-gpu4-qwen3', '--push', '--wait', '--timeout', '60'];
    const first = await runCli(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(linesOf(first.stdout).at(-1)).toBe('drained: vllm-gpu4-qwen3 has no request in flight');
    expect(first.stdout).not.toContain('request(s) in flight');

    const again = await runCli(args);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(linesOf(again.stdout)).toEqual([
      'llm/vllm-gpu4-qwen3 already drained',
      `the reconciler serves ${await repo.head()}`,
      'drained: vllm-gpu4-qwen3 has no request in flight',
    ]);
  });

  it('a gateway whose view still routes to NAME (it never saw the drain) is waited for, then --timeout names it', async () => {
    // vllm-gpu4-qwen3 is drained and served so by now; this gateway's view is from before.
    const repo = await cloneOfRemote();
    const lagging = await startGateway(fleet.viewsAtStart);
    const args = ['--server', fleet.server, '--repo', repo.dir, '--gateway', lagging.url, 'drain', 'llm', 'vllm-gpu4-qwen3', '--wait', '--timeout', '3s'];
    const result = await runCli(args);
    expect(result.code).toBe(1);
    expect(expectOneErrorLine(result)).toBe(`mcpctl: error: timed out after 3s waiting for the requests in flight on vllm-gpu4-qwen3 to finish (${lagging.url} still routing to it)`);
    expect(linesOf(result.stdout)).toContain(`waiting for ${lagging.url} to stop routing to vllm-gpu4-qwen3`);
  });

  it('without a gateway: one note line, and it waits for the reconciler only', async () => {
    const repo = await cloneOfRemote();
    const answered = sendThrough(fleet.gateway, 'vllm-gpu5-qwen3');
    await waitFor('the request to be held upstream', () => fleet.upstream.held() === 1);
    const result = await runCli(['--server', fleet.server, '--repo', repo.dir, 'drain', 'llm', 'vllm-gpu5-qwen3', '--push', '--wait']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('mcpctl: note: no gateway known (--gateway or MCPCTL_GATEWAY): not waiting for requests in flight on vllm-gpu5-qwen3\n');
    expect(linesOf(result.stdout).at(-1)).toBe('llm/vllm-gpu5-qwen3 drained');
    fleet.upstream.releaseAll();
    expect(await answered).toBe(200);
  });
});

describe.concurrent('drain --wait refusals, nothing committed', () => {
  it('a gateway that cannot be reached: one line naming it, exit 3', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const before = await repo.log();
    const gateway = `http://127.0.0.1:${await closedPort()}`;
    const result = await runCli(['--repo', repo.dir, '--server', `http://127.0.0.1:${await closedPort()}`, '--gateway', gateway, 'drain', 'llm', 'vllm-gpu2-qwen3', '--wait']);
    expect(result.code).toBe(3);
    expect(expectOneErrorLine(result)).toBe(`mcpctl: error: cannot reach the gateway at ${gateway}: ECONNREFUSED`);
    expect(await repo.log()).toEqual(before);
    expect(await repo.status()).toBe('');
  });

  it('--wait with --no-commit or --dry-run: one line, exit 1', async () => {
    const repo = await cloneRepo(scope, source.dir);
    const before = await repo.log();
    const [noCommit, dryRun, badTimeout, badGateway] = await Promise.all([
      runCli(['--repo', repo.dir, 'drain', 'llm', 'vllm-gpu2-qwen3', '--wait', '--no-commit']),
      runCli(['--repo', repo.dir, 'drain', 'llm', 'vllm-gpu2-qwen3', '--wait', '--dry-run']),
      runCli(['--repo', repo.dir, 'drain', 'llm', 'vllm-gpu2-qwen3', '--wait', '--timeout', 'soon']),
      runCli(['--repo', repo.dir, '--gateway', 'gateway.lan:7430', 'drain', 'llm', 'vllm-gpu2-qwen3', '--wait']),
    ]);
    for (const result of [noCommit, dryRun, badTimeout, badGateway]) expect(result.code).toBe(1);
    expect(expectOneErrorLine(noCommit)).toBe('mcpctl: error: --wait: cannot be combined with --no-commit (nothing is committed for the reconciler to serve)');
    expect(expectOneErrorLine(dryRun)).toBe('mcpctl: error: --wait: cannot be combined with --dry-run (nothing is committed for the reconciler to serve)');
    expect(expectOneErrorLine(badTimeout)).toBe('mcpctl: error: --timeout: expected a duration like 30s, 500ms, 10m or 1h, found "soon"');
    expect(expectOneErrorLine(badGateway)).toBe('mcpctl: error: --gateway: expected an http(s) URL, found "gateway.lan:7430"');
    expect(await repo.log()).toEqual(before);
    expect(await repo.status()).toBe('');
  });
});

describe('get pools -o wide with a gateway', () => {
  it('adds IN-FLIGHT per pool and name=N per member; the plain table without a gateway', async () => {
    const answered = sendThrough(fleet.gateway, 'vllm-gpu1-qwen3');
    await waitFor('the request to be held upstream', async () => (await inFlightOn(fleet.gateway, 'vllm-gpu1-qwen3')) === 1);
    const [wide, plain, unreachable, twice] = await Promise.all([
      runCli(['--server', fleet.server, '--gateway', fleet.gateway, 'get', 'pools', '-o', 'wide']),
      runCli(['--server', fleet.server, 'get', 'pools', '-o', 'wide']),
      runCli(['--server', fleet.server, '--gateway', `${fleet.gateway},http://127.0.0.1:${await closedPort()}`, 'get', 'pool', 'qwen3', '-o', 'wide']),
      // The flag repeated, the same gateway written as its OpenAI base URL, and an environment the flag overrides.
      runCli(['--server', fleet.server, '--gateway', fleet.gateway, '--gateway', `${fleet.gateway}/v1/`, 'get', 'pool', 'qwen3', '-o', 'wide'], {
        env: { MCPCTL_GATEWAY: `http://127.0.0.1:${await closedPort()}` },
      }),
    ]);
    expect(wide.stderr).toBe('');
    expect(wide.code).toBe(0);
    expect(linesOf(wide.stdout)[0]).toMatch(/^POOL +KEY +SIZE +ACTIVE +MIN +HEALTH +IN-FLIGHT +MEMBERS$/);
    expect(linesOf(wide.stdout).find((l) => l.startsWith('qwen3 '))).toMatch(/ 1 +vllm-gpu1-qwen3=1,vllm-gpu2-qwen3=0,vllm-gpu3-qwen3=0,/);
    expect(linesOf(plain.stdout)[0]).toMatch(/^POOL +KEY +SIZE +ACTIVE +MIN +HEALTH +MEMBERS$/);
    expect(unreachable.code).toBe(0);
    expect(linesOf(unreachable.stderr)).toEqual([expect.stringMatching(/^mcpctl: warning: cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED; IN-FLIGHT leaves it out$/)]);
    expect(linesOf(unreachable.stdout)[1]).toMatch(/ 1 +vllm-gpu1-qwen3=1,vllm-gpu2-qwen3=0,/);
    expect(twice.stderr).toBe('');
    expect(linesOf(twice.stdout)[1]).toMatch(/ 1 +vllm-gpu1-qwen3=1,vllm-gpu2-qwen3=0,/);
    fleet.upstream.releaseAll();
    expect(await answered).toBe(200);
  });
});

describe('a gateway with --auth of its own', () => {
  it('--gateway-token (or MCPCTL_GATEWAY_TOKEN) is what the gateways get; without it they get --token', async () => {
    const parsed = parseAuthFile('gateway-auth.yaml', `tokens:\n  - { name: ops, sha256: ${sha256Hex('gw-secret')}, roles: [view:llms] }\n`);
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const follower = new ReconcilerFollower({ reconciler: new ReconcilerClient({ server: fleet.server }), log: () => undefined });
    follower.start();
    closers.push(() => follower.close());
    await waitFor('the gateway to load a first view', () => follower.readiness().loaded);
    const guarded = await startGatewayOver(() => follower.routes(), () => follower.readiness(), parsed.config);
    const wide = (extra: string[], env: Record<string, string> = {}) => runCli(['--server', fleet.server, '--gateway', guarded.url, ...extra, 'get', 'pool', 'qwen3', '-o', 'wide'], { env });
    const [ownToken, fromEnv, onlyToken] = await Promise.all([
      wide(['--token', 'reconciler-token', '--gateway-token', 'gw-secret']),
      wide(['--token', 'reconciler-token'], { MCPCTL_GATEWAY_TOKEN: 'gw-secret' }),
      wide(['--token', 'reconciler-token']),
    ]);
    for (const result of [ownToken, fromEnv]) {
      expect(result.stderr).toBe('');
      expect(linesOf(result.stdout)[0]).toMatch(/ IN-FLIGHT /);
    }
    // A gateway that refuses the token is a mistake to fix, not one to print around.
    expect(onlyToken.code).toBe(1);
    expect(onlyToken.stdout).toBe('');
    expect(linesOf(onlyToken.stderr)).toEqual([`mcpctl: error: the gateway at ${guarded.url} answered 401 invalid_api_key: the bearer token matches no entry of the --auth file: send Authorization: Bearer <token>`]);
  });
});
