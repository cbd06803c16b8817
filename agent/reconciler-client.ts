// The agent's HTTP client for the reconciler's agent routes (DESIGN §3): register, heartbeat,
// deregister, with a bearer token and a timeout on every call.
import { z } from 'zod';
import type { DesiredForAgent, Heartbeat, Registration, RegistrationAnswer } from '../schema/agent-protocol.js';
import { describeFetchError } from './fetch-error.js';

export interface ReconcilerClientOptions {
  server: string;
  token?: string | undefined;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A call either answers, or fails because the reconciler could not be reached, or says no. */
export type CallResult<T> =
  | { ok: true; value: T }
  | { ok: false; kind: 'unreachable'; reason: string }
  | { ok: false; kind: 'http'; status: number; code: string; message: string };

export interface ReconcilerClient {
  readonly server: string;
  register(body: Registration, signal?: AbortSignal): Promise<CallResult<RegistrationAnswer>>;
  heartbeat(agentId: string, body: Heartbeat, signal?: AbortSignal): Promise<CallResult<RegistrationAnswer>>;
  /** Drops the agent's names; with `leaseId`, only while that lease is still the agent's current one. */
  deregister(agentId: string, leaseId: string | undefined, signal?: AbortSignal): Promise<CallResult<void>>;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

// The answer is parsed at this edge like any other input; unknown extra fields are tolerated so
// that a newer reconciler does not break an older agent.
const desiredSchema = z.object({
  name: z.string(),
  poolName: z.string().nullable(),
  enabled: z.boolean(),
  declared: z.boolean(),
}) satisfies z.ZodType<DesiredForAgent>;

export const registrationAnswerSchema = z.object({
  leaseId: z.string().min(1),
  ttlSeconds: z.number().positive(),
  heartbeatIntervalSeconds: z.number().positive(),
  revision: z.string().nullable(),
  desired: z.array(desiredSchema),
  rejected: z.array(z.object({ name: z.string(), reason: z.string() })),
}) satisfies z.ZodType<RegistrationAnswer>;

export function createReconcilerClient(options: ReconcilerClientOptions): ReconcilerClient {
  const base = options.server.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;

  async function call(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<CallResult<unknown>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
      text = await response.text();
    } catch (error) {
      return { ok: false, kind: 'unreachable', reason: describeFetchError(error, timeoutMs) };
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = readErrorBody(json);
      return { ok: false, kind: 'http', status: response.status, code: error?.code ?? `HTTP${response.status}`, message: error?.message ?? `HTTP ${response.status}` };
    }
    return { ok: true, value: json };
  }

  async function callForAnswer(path: string, body: unknown, signal: AbortSignal | undefined): Promise<CallResult<RegistrationAnswer>> {
    const result = await call('POST', path, body, signal);
    if (!result.ok) return result;
    const parsed = registrationAnswerSchema.safeParse(result.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined ? '' : ` at ${issue.path.join('.') || 'the top'}: ${issue.message}`;
      return { ok: false, kind: 'http', status: 200, code: 'InvalidAnswer', message: `unexpected answer from the reconciler${where}` };
    }
    return { ok: true, value: parsed.data };
  }

  return {
    server: base,
    register: (body, signal) => callForAnswer('/api/v1/agents/register', body, signal),
    heartbeat: (agentId, body, signal) => callForAnswer(`/api/v1/agents/${encodeURIComponent(agentId)}/heartbeat`, body, signal),
    async deregister(agentId, leaseId, signal) {
      const query = leaseId === undefined ? '' : `?leaseId=${encodeURIComponent(leaseId)}`;
      const result = await call('DELETE', `/api/v1/agents/${encodeURIComponent(agentId)}${query}`, undefined, signal);
      return result.ok ? { ok: true, value: undefined } : result;
    },
  };
}

function readErrorBody(json: unknown): { code: string; message: string } | undefined {
  if (typeof json !== 'object' || json === null || !('error' in json)) return undefined;
  const error = json.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  const message = 'message' in error && typeof error.message === 'string' ? error.message : undefined;
  if (code === undefined) return undefined;
  return { code, message: message ?? code };
}
