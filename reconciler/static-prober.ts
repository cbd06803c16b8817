// Probes the declared `source: static` endpoints in the background (`GET {url}/models`, through
// probe/models-probe.ts, as the agent probes its providers), so
// that their phase becomes active or unhealthy instead of unknown. Deliberately simple: every
// static Llm once per interval, each with a timeout, results fed to the effective state.
import { isTimeoutError, modelsUrlOf, probeEndpoint } from '../probe/models-probe.js';
import { llmSourceOf } from '../schema/resources.js';
import type { StaticProbe } from '../schema/effective.js';
import type { DeclaredIndex } from './declared-index.js';

export interface StaticProberOptions {
  declared: DeclaredIndex;
  report: (name: string, probe: StaticProbe | undefined) => void;
  intervalMs: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Where apiKeyRef environment variables are read (the process environment by default). */
  env?: NodeJS.ProcessEnv;
}

export class StaticProber {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private probed = new Set<string>();

  constructor(private readonly options: StaticProberOptions) {}

  start(): void {
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Probes every static Llm of the served revision once; overlapping calls share one run. */
  probeAll(): Promise<void> {
    if (this.running === null) {
      this.running = this.runOnce().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async runOnce(): Promise<void> {
    const targets: { name: string; url: string; keyEnv: string | undefined }[] = [];
    for (const [name, located] of this.options.declared.current().byName) {
      const spec = located.resource.spec;
      if (llmSourceOf(spec) === 'static' && spec.url !== undefined) targets.push({ name, url: spec.url, keyEnv: spec.apiKeyRef?.env });
    }
    const current = new Set(targets.map((t) => t.name));
    for (const name of this.probed) if (!current.has(name)) this.options.report(name, undefined);
    this.probed = current;
    await Promise.all(targets.map(async (target) => this.options.report(target.name, await this.probe(target.url, target.keyEnv))));
  }

  private async probe(url: string, keyEnv: string | undefined): Promise<StaticProbe> {
    const timeoutMs = this.options.timeoutMs ?? 5000;
    const key = keyEnv === undefined ? undefined : (this.options.env ?? process.env)[keyEnv];
    const answer = await probeEndpoint(modelsUrlOf(url), {
      timeoutMs,
      ...(key !== undefined && key !== '' ? { headers: { authorization: `Bearer ${key}` } } : {}),
      ...(this.options.fetch === undefined ? {} : { fetch: this.options.fetch }),
    });
    if (answer.ok) return { ok: true };
    return { ok: false, message: answer.status === null ? describeProbeError(answer.error, timeoutMs) : `HTTP ${answer.status} from GET /models` };
  }
}

function describeProbeError(error: unknown, timeoutMs: number): string {
  if (isTimeoutError(error)) return `no answer within ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  if (cause?.code !== undefined) return cause.code;
  return error instanceof Error ? error.message : String(error);
}
