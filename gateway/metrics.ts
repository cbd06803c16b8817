// The gateway's Prometheus metrics, on a registry of its own (two gateways in one process, as in
// tests and the bench, must not collide): requests by pool, member and status; duration and time
// to first byte; in flight and cooling down per member, read from the routing state when scraped.
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { MemberStates } from './member-states.js';
import { isCoolingDown } from './routing.js';

/** prom-client default gauges whose `_total` suffix breaks the Prometheus naming rule (promtool). */
const PROM_CLIENT_TOTAL_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Latency buckets from 5 ms (a fast embedding) to 10 min (a long generation). */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface GatewayMetricsDeps {
  states: MemberStates;
  /** The pool of a member by name, for labels; '' when the reconciler no longer lists it. */
  poolOf(name: string): string | undefined;
  now(): number;
  processMetrics?: boolean;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: RequestCounter;
  readonly duration: PoolHistogram;
  readonly timeToFirstByte: PoolHistogram;
  readonly retries: Counter<'pool'>;
  readonly cooldowns: Counter<'pool' | 'member'>;

  constructor(deps: GatewayMetricsDeps) {
    const registers = [this.registry];
    if (deps.processMetrics === true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'mcpctl_gateway_' });
      for (const total of PROM_CLIENT_TOTAL_GAUGES) this.registry.removeSingleMetric(`mcpctl_gateway_${total}`);
    }
    this.requests = new RequestCounter('mcpctl_gateway_requests_total', 'Requests answered, by pool, member (empty when none was reached) and HTTP status', this.registry);
    this.duration = new PoolHistogram('mcpctl_gateway_request_duration_seconds', 'Time from the request to the last byte of its answer, by pool', SECONDS_BUCKETS, this.registry);
    this.timeToFirstByte = new PoolHistogram('mcpctl_gateway_time_to_first_byte_seconds', "Time from the request to the first byte of the upstream's answer, by pool", SECONDS_BUCKETS, this.registry);
    this.retries = new Counter({ name: 'mcpctl_gateway_retries_total', help: 'Attempts retried on another member, by pool', labelNames: ['pool'], registers });
    this.cooldowns = new Counter({ name: 'mcpctl_gateway_cooldowns_total', help: 'Times a member started cooling down, by pool and member', labelNames: ['pool', 'member'], registers });
    const { states, poolOf, now } = deps;
    new Gauge({
      name: 'mcpctl_gateway_in_flight',
      help: 'Requests in flight through this gateway, by pool and member',
      labelNames: ['pool', 'member'],
      registers,
      collect() {
        this.reset();
        for (const [name, state] of states.view()) if (state.inFlight > 0) this.set({ pool: poolOf(name) ?? '', member: name }, state.inFlight);
      },
    });
    new Gauge({
      name: 'mcpctl_gateway_member_cooldown_until_seconds',
      help: 'Unix time a cooling-down member takes requests again, by pool and member (absent: not cooling down)',
      labelNames: ['pool', 'member'],
      registers,
      collect() {
        this.reset();
        const at = now();
        for (const [name, state] of states.view()) {
          if (isCoolingDown(state, at) && state.cooldown !== null) this.set({ pool: poolOf(name) ?? '', member: name }, state.cooldown.untilMs / 1000);
        }
      },
    });
  }
}

// The two histograms and the counter that every request updates are kept in plain maps and read
// by the registry when scraped, as any prom-client metric is (the same exposition, label for
// label). prom-client's own build and look up a label hash on every observation: bench/gateway's
// profile put them among the larger costs of a forwarded request.

/** One value of a metric as the registry formats it (prom-client's shape). */
interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  metricName?: string;
}

/** `mcpctl_gateway_requests_total`: answers by pool, member and HTTP status. */
export class RequestCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  /** Each series once, in the order they first counted (the registry writes them so). */
  private readonly series: { labels: { pool: string; member: string; status: string }; value: number }[] = [];
  private readonly index = new Map<string, Map<string, Map<string, { value: number }>>>();

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  inc(pool: string, member: string, status: string): void {
    let members = this.index.get(pool);
    if (members === undefined) this.index.set(pool, (members = new Map()));
    let statuses = members.get(member);
    if (statuses === undefined) members.set(member, (statuses = new Map()));
    let series = statuses.get(status);
    if (series === undefined) {
      const created = { labels: { pool, member, status }, value: 0 };
      this.series.push(created);
      statuses.set(status, (series = created));
    }
    series.value++;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    const values = this.series.map(({ labels, value }) => ({ value, labels: { ...labels } }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.length = 0;
    this.index.clear();
  }
}

/** A histogram by pool: how many observations fell at or under each bound, their sum and count. */
export class PoolHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly pools = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  observe(pool: string, value: number): void {
    let series = this.pools.get(pool);
    if (series === undefined) this.pools.set(pool, (series = { counts: this.bounds.map(() => 0), sum: 0, count: 0 }));
    const { bounds } = this;
    const { counts } = series;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        counts[i] = (counts[i] as number) + 1;
        break;
      }
    }
    series.sum += value;
    series.count++;
  }

  /** What the registry writes as text: `le` as the label, `pool` shared (prom-client's own order). */
  getForPromString(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [pool, series] of this.pools) {
      const shared = { pool };
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.counts[i] as number;
        values.push({ value: cumulative, labels: { le: bound }, sharedLabels: shared, metricName: bucket });
      });
      values.push({ value: series.count, labels: { le: '+Inf' }, sharedLabels: shared, metricName: bucket });
      values.push({ value: series.sum, labels: {}, sharedLabels: shared, metricName: `${this.name}_sum` });
      values.push({ value: series.count, labels: {}, sharedLabels: shared, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The same values with every label in `labels` (prom-client's JSON shape). */
  get(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    const text = this.getForPromString();
    return { ...text, values: text.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
  }

  reset(): void {
    this.pools.clear();
  }
}
