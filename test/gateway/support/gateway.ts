// A gateway for the integration tests: buildGateway over a route table the test sets (or a real
// follower's), listening on 127.0.0.1:0 with a real undici Agent as its dispatcher; member views
// built directly; and the HTTP calls the tests make as clients (node:http, so that a test can
// close a connection at the moment it chooses).
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { buildGateway, type Gateway } from '../../../gateway/app.js';
import type { ProxySettings } from '../../../gateway/proxy.js';
import type { Readiness } from '../../../gateway/reconciler-follower.js';
import { buildRouteTable, type RouteTable } from '../../../gateway/route-table.js';
import { API_VERSION } from '../../../schema/resources.js';
import { llmViewSchema, type LlmView, type Phase } from '../../../schema/views.js';
import type { AuthConfig } from '../../../service/auth.js';

export interface MemberOptions {
  pool: string;
  url: string;
  phase?: Phase;
  /** spec.model; default `model-of-<name>`, so a test sees the replacement. */
  model?: string;
  apiKeyEnv?: string;
}

/** A static member's view as the reconciler serves it (validated by the view schema). */
export function memberView(name: string, options: MemberOptions): LlmView {
  const phase = options.phase ?? 'active';
  return llmViewSchema.parse({
    apiVersion: API_VERSION,
    kind: 'Llm',
    metadata: { name },
    spec: { type: 'openai', model: options.model ?? `model-of-${name}`, url: options.url, poolName: options.pool, source: 'static', ...(options.apiKeyEnv === undefined ? {} : { apiKeyRef: { env: options.apiKeyEnv } }) },
    status: { kind: 'static', phase, pool: { key: options.pool, explicit: true }, sync: 'Synced', source: null, agent: null, drift: [], reason: phase },
  });
}

export const LOADED: Readiness = { loaded: true, unreachableSinceMs: null, reason: null };

export interface GatewayOptions {
  views?: LlmView[];
  /** Pool keys declared with no member. */
  poolKeys?: string[];
  /** A route table and readiness of the test's own (a follower's); else `views`, loaded. */
  routes?: () => RouteTable;
  readiness?: () => Readiness;
  settings?: Partial<ProxySettings>;
  maxBodyBytes?: number;
  auth?: AuthConfig | null;
  env?: Record<string, string>;
  /** Least-load's tie-break; default () => 0: ties go to the first member by name. */
  random?: () => number;
  connectTimeoutMs?: number;
  processMetrics?: boolean;
  /** Each log line, parsed (the gateway logs at `logLevel`); default: no logger. */
  onLog?: (line: Record<string, unknown>) => void;
  logLevel?: string;
}

export interface RunningGateway extends Gateway {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Replaces the fixed route table's views. */
  setViews(views: LlmView[]): void;
  close(): Promise<void>;
}

const open = new Set<RunningGateway>();

export const DEFAULT_SETTINGS: ProxySettings = { strategy: 'least-load', retries: 2, cooldownMs: 60_000, timeoutMs: 5_000 };

export async function startGateway(options: GatewayOptions = {}): Promise<RunningGateway> {
  let table = buildRouteTable(options.views ?? [], options.poolKeys ?? []);
  const dispatcher = new Agent({ connect: { timeout: options.connectTimeoutMs ?? 2_000 }, keepAliveTimeout: 5_000 });
  const gateway = await buildGateway({
    routes: options.routes ?? (() => table),
    readiness: options.readiness ?? (() => LOADED),
    dispatcher,
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    auth: options.auth ?? null,
    env: options.env ?? {},
    random: options.random ?? (() => 0),
    processMetrics: options.processMetrics ?? false,
    ...(options.onLog === undefined ? {} : { logger: { level: options.logLevel ?? 'info', stream: { write: (line: string) => options.onLog?.(JSON.parse(line) as Record<string, unknown>) } } }),
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const running: RunningGateway = {
    ...gateway,
    url: `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`,
    setViews(views) {
      table = buildRouteTable(views, options.poolKeys ?? []);
    },
    async close() {
      open.delete(running);
      await gateway.app.close();
      await dispatcher.destroy();
    },
  };
  open.add(running);
  return running;
}

export async function closeGateways(): Promise<void> {
  await Promise.all([...open].map((g) => g.close()));
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: unknown;
}

/** Sends one request and reads the whole answer. `body` goes as is when it is a string, else as JSON. */
export function call(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = httpRequest(url, { method, headers: { ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...headers } }, (res) => {
      readAll(res).then((answerText) => {
        let json: unknown;
        try {
          json = JSON.parse(answerText);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: answerText, json });
      }, reject);
    });
    req.on('error', reject);
    req.end(text);
  });
}

export const post = (url: string, body: unknown, headers?: Record<string, string>): Promise<Answer> => call(url, 'POST', body, headers);
export const get = (url: string, headers?: Record<string, string>): Promise<Answer> => call(url, 'GET', undefined, headers);

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (part: string) => (text += part));
    res.on('end', () => resolve(text));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error(`the answer was cut after ${JSON.stringify(text)}`)));
  });
}

/** A streamed answer read part by part: the test decides when to read on and when to hang up. */
export interface OpenStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Every body byte so far, as text. */
  received(): string;
  /** Resolves when the body ended (cleanly: true; cut: false). */
  ended: Promise<boolean>;
  /** Closes the connection (the client going away). */
  destroy(): void;
}

/** POSTs `body` and resolves once the answer's headers arrived; the body keeps arriving in the background. */
export function openStream(url: string, body: unknown): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (part: string) => (text += part));
      const ended = new Promise<boolean>((done) => {
        res.on('end', () => done(true));
        res.on('aborted', () => done(false));
        res.on('error', () => done(false));
        res.on('close', () => done(res.complete));
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, received: () => text, ended, destroy: () => req.destroy() });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A request whose answer never needs to come: the client hangs up when the test says. */
export function sendAndHold(url: string, body: unknown): { destroy(): void } {
  const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } });
  // The hang-up itself is an error on this side; it is the point, not a failure.
  req.on('error', () => undefined);
  req.end(JSON.stringify(body));
  return { destroy: () => req.destroy() };
}

/** The OpenAI error shape every gateway error has, with nothing else in it. */
export function expectOpenAiError(answer: Answer, status: number, code: string, type: string): { message: string; param: string | null } {
  if (answer.status !== status) throw new Error(`expected ${status}, got ${answer.status}: ${answer.text}`);
  const body = answer.json as { error?: Record<string, unknown> } | undefined;
  const error = body?.error;
  if (error === undefined || Object.keys(body ?? {}).join() !== 'error') throw new Error(`not OpenAI's error shape: ${answer.text}`);
  const keys = Object.keys(error).sort().join();
  if (keys !== 'code,message,param,type') throw new Error(`error fields ${keys}: ${answer.text}`);
  if (error['code'] !== code || error['type'] !== type) throw new Error(`expected ${code}/${type}: ${answer.text}`);
  if (typeof error['message'] !== 'string' || /\n\s+at /.test(error['message'])) throw new Error(`message with a stack or none: ${answer.text}`);
  return { message: error['message'], param: (error['param'] as string | null) ?? null };
}

/** The `mcpctl_gateway_*` sample lines of a /metrics text that start with `prefix`. */
export function samples(text: string, prefix: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

export interface StateEntry {
  name: string;
  pool: string | null;
  inFlight: number;
  cooldown: { since: string; until: string; reason: string } | null;
}

/** GET /v1/mcpctl/state's members. */
export async function stateOf(url: string, headers?: Record<string, string>): Promise<StateEntry[]> {
  const answer = await get(`${url}/v1/mcpctl/state`, headers);
  if (answer.status !== 200) throw new Error(`GET /v1/mcpctl/state answered ${answer.status}: ${answer.text}`);
  return (answer.json as { members: StateEntry[] }).members;
}

/** GET /v1/models' ids. */
export async function modelIds(url: string, headers?: Record<string, string>): Promise<string[]> {
  const answer = await get(`${url}/v1/models`, headers);
  if (answer.status !== 200) throw new Error(`GET /v1/models answered ${answer.status}: ${answer.text}`);
  return (answer.json as { data: { id: string }[] }).data.map((m) => m.id);
}

export async function metricsText(url: string): Promise<string> {
  return (await get(`${url}/metrics`)).text;
}
