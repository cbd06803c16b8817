// Wires the reconciler's live side: the served revision's index, the leases over a store, the
// effective state and the metrics. The command (main.ts), the tests and the bench all build
// the same graph here, then hand it to buildApp.
import type { DesiredStateView } from './desired-state-api.js';
import { DeclaredIndex } from './declared-index.js';
import { EffectiveState } from './effective-state.js';
import type { LeaseStore } from './lease-store.js';
import { Leases, type UnmanagedMode } from './leases.js';
import { MemoryLeaseStore } from './memory-lease-store.js';
import { ReconcilerMetrics } from './metrics.js';
import { storeStatusOf, type LeaderSource } from './store-status.js';
import type { StoreStatus } from '../schema/views.js';

export interface ServicesOptions {
  desired: DesiredStateView;
  store?: LeaseStore;
  now?: () => number;
  ttlMs: number;
  heartbeatIntervalMs: number;
  gcMs: number;
  unmanaged?: UnmanagedMode;
  /** How often the clock is applied to the leases (stale, GC). Default 1 s. */
  sweepIntervalMs?: number;
  processMetrics?: boolean;
  onError?: (error: Error) => void;
  /** Which reconciler reads Git for the fleet (the etcd election); null by default. */
  leader?: LeaderSource;
}

export interface ReconcilerServices {
  desired: DesiredStateView;
  declared: DeclaredIndex;
  store: LeaseStore;
  leases: Leases;
  state: EffectiveState;
  metrics: ReconcilerMetrics;
  now: () => number;
  /** The `store` part of /api/v1/status: kind, endpoints, leader, and why it is unavailable. */
  storeStatus(): StoreStatus;
  /** Lists and watches the lease store, then starts the effective state and the sweep timer. */
  start(): Promise<void>;
  /** Stops the sweep timer and the watch, and writes what the store has batched. */
  stop(): Promise<void>;
}

export function createServices(options: ServicesOptions): ReconcilerServices {
  const now = options.now ?? Date.now;
  const store = options.store ?? new MemoryLeaseStore();
  const declared = new DeclaredIndex(options.desired);
  const leasesOptions = {
    store,
    declared,
    now,
    ttlMs: options.ttlMs,
    gcMs: options.gcMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    unmanaged: options.unmanaged ?? 'admit',
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  };
  const leases = new Leases(leasesOptions);
  const state = new EffectiveState({
    desired: options.desired,
    declared,
    leases,
    now,
    ttlMs: options.ttlMs,
  });
  let unsubscribe = (): void => {};
  const storeStatus = (): StoreStatus => storeStatusOf(store, options.leader ?? noLeader);
  // The store's part of the status (available or not, who leads) changes without a revision or a
  // lease changing: checked with the sweep, and told to /watch clients as a STATUS event.
  let storeKey = '';
  let storeTimer: NodeJS.Timeout | null = null;
  const checkStore = (): void => {
    const key = JSON.stringify(storeStatus());
    if (key === storeKey) return;
    const first = storeKey === '';
    storeKey = key;
    if (!first) state.statusChanged();
  };
  const metrics = new ReconcilerMetrics({ state, desired: options.desired, leases, processMetrics: options.processMetrics ?? false });
  return {
    desired: options.desired,
    declared,
    store,
    leases,
    state,
    metrics,
    now,
    storeStatus,
    async start() {
      await leases.restore();
      // A new revision can take names away from agents (source: static, --unmanaged reject);
      // the leases hear of it before the effective state recomputes.
      leases.enforceRevision();
      unsubscribe = options.desired.onChange(() => leases.enforceRevision());
      state.start();
      leases.startSweeping(options.sweepIntervalMs ?? 1000);
      checkStore();
      storeTimer = setInterval(checkStore, options.sweepIntervalMs ?? 1000);
      storeTimer.unref();
    },
    async stop() {
      if (storeTimer !== null) clearInterval(storeTimer);
      storeTimer = null;
      unsubscribe();
      leases.stop();
      state.stop();
      await store.close();
    },
  };
}

function noLeader(): null {
  return null;
}
