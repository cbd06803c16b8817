// Prometheus metrics on a registry of our own (never prom-client's global one, so that two
// reconcilers in one process — tests, the bench — do not collide). Gauges are read from the
// effective state when scraped; counters are bumped by the agent routes.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { POOL_HEALTHS } from '../schema/views.js';
import type { DesiredStateView } from './desired-state-api.js';
import type { EffectiveState } from './effective-state.js';
import type { Leases } from './leases.js';

/** prom-client default gauges whose `_total` suffix breaks the Prometheus naming rule. */
const PROM_CLIENT_TOTAL_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface MetricsDeps {
  state: EffectiveState;
  desired: DesiredStateView;
  leases: Leases;
  /** Process metrics (CPU, memory, event loop); off in tests to keep scrapes small. */
  processMetrics?: boolean;
}

export class ReconcilerMetrics {
  readonly registry = new Registry();
  readonly heartbeats: Counter;
  readonly registrations: Counter;
  readonly rejections: Counter;
  readonly leaseNotFound: Counter;
  readonly reconcileDuration: Histogram<'result'>;
  /** Attempts already observed, by identity, so that each is counted once. */
  private seenAttempts = new Set<string>();

  constructor(private readonly deps: MetricsDeps) {
    const registers = [this.registry];
    const { state, desired, leases } = deps;
    if (deps.processMetrics === true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'mcpctl_' });
      // prom-client names three gauges `..._total`, which Prometheus reserves for counters
      // (`promtool check metrics` fails them). Their per-type gauges (`..._active_handles{type}`)
      // carry the same figures, so the totals go.
      for (const total of PROM_CLIENT_TOTAL_GAUGES) this.registry.removeSingleMetric(`mcpctl_${total}`);
    }

    new Gauge({
      name: 'mcpctl_llms',
      help: 'Llms in the effective state by phase and member kind',
      labelNames: ['phase', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const { phase, kind, count } of state.phaseKindCounts()) this.set({ phase, kind }, count);
      },
    });
    const poolGauge = (name: string, help: string, read: (p: ReturnType<EffectiveState['pools']>[number]) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers,
        collect() {
          this.reset();
          for (const pool of state.pools()) this.set({ pool: pool.key }, read(pool));
        },
      });
    };
    poolGauge('mcpctl_pool_members', 'Members of each pool', (p) => p.size);
    poolGauge('mcpctl_pool_active_members', 'Active members of each pool', (p) => p.activeCount);
    poolGauge('mcpctl_pool_min_active', 'The minActive floor of each pool (0 without an LlmPool)', (p) => p.minActive);
    poolGauge('mcpctl_pool_healthy', '1 when the pool has at least minActive active members, else 0', (p) => (p.health === 'Healthy' ? 1 : 0));
    // One series per pool and health, 1 for the pool's health now (the kube-state-metrics way
    // to export an enum): alert on mcpctl_pool_health{health="Unavailable"} == 1.
    new Gauge({
      name: 'mcpctl_pool_health',
      help: 'Health of each pool: 1 for its current health (Healthy, Degraded or Unavailable), 0 for the others',
      labelNames: ['pool', 'health'],
      registers,
      collect() {
        this.reset();
        for (const pool of state.pools()) for (const health of POOL_HEALTHS) this.set({ pool: pool.key, health }, pool.health === health ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mcpctl_agents',
      help: 'Agents holding a lease',
      registers,
      collect() {
        this.set(leases.agentCount);
      },
    });
    new Gauge({
      name: 'mcpctl_source_errors',
      help: 'Errors of the newest revision at the source (0 when it is served)',
      registers,
      collect() {
        this.set(desired.status().errors.length);
      },
    });
    new Gauge({
      name: 'mcpctl_revision_loaded',
      help: '1 once a good revision is served',
      registers,
      collect() {
        this.set(desired.current() === null ? 0 : 1);
      },
    });
    this.heartbeats = new Counter({ name: 'mcpctl_heartbeats_total', help: 'Heartbeats accepted', registers });
    this.registrations = new Counter({ name: 'mcpctl_registrations_total', help: 'Registrations accepted', registers });
    this.rejections = new Counter({ name: 'mcpctl_registration_rejections_total', help: 'Names refused at registration or heartbeat', registers });
    this.leaseNotFound = new Counter({ name: 'mcpctl_lease_not_found_total', help: 'Heartbeats answered 404 LeaseNotFound', registers });
    const observe = (): void => this.observeAttempts();
    this.reconcileDuration = new Histogram({
      name: 'mcpctl_reconcile_duration_seconds',
      help: 'Duration of desired-state reconcile attempts (read, parse, apply)',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
      collect: observe,
    });
  }

  /** Observes the attempts in the desired state's history that have not been observed yet. */
  observeAttempts(): void {
    const history = this.deps.desired.status().history;
    const keys = new Set<string>();
    for (const attempt of history) {
      const key = `${attempt.at}|${attempt.revision ?? ''}|${attempt.result}|${attempt.durationMs}`;
      keys.add(key);
      if (!this.seenAttempts.has(key)) this.reconcileDuration.observe({ result: attempt.result }, attempt.durationMs / 1000);
    }
    // The history holds the last few attempts; remembering only those keeps this bounded.
    this.seenAttempts = keys;
  }

  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
