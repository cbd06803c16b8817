// The gateway's Prometheus metrics, on a registry of its own (two gateways in one process, as in
// tests and the bench, must not collide): requests by pool, member and status; duration and time
// to first byte; in flight and cooling down per member, read from the routing state when scraped.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
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
  readonly requests: Counter<'pool' | 'member' | 'status'>;
  readonly duration: Histogram<'pool'>;
  readonly timeToFirstByte: Histogram<'pool'>;
  readonly retries: Counter<'pool'>;
  readonly cooldowns: Counter<'pool' | 'member'>;

  constructor(deps: GatewayMetricsDeps) {
    const registers = [this.registry];
    if (deps.processMetrics === true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'mcpctl_gateway_' });
      for (const total of PROM_CLIENT_TOTAL_GAUGES) this.registry.removeSingleMetric(`mcpctl_gateway_${total}`);
    }
    this.requests = new Counter({
      name: 'mcpctl_gateway_requests_total',
      help: 'Requests answered, by pool, member (empty when none was reached) and HTTP status',
      labelNames: ['pool', 'member', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'mcpctl_gateway_request_duration_seconds',
      help: 'Time from the request to the last byte of its answer, by pool',
      labelNames: ['pool'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.timeToFirstByte = new Histogram({
      name: 'mcpctl_gateway_time_to_first_byte_seconds',
      help: "Time from the request to the first byte of the upstream's answer, by pool",
      labelNames: ['pool'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
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
