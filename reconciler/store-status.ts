// The `store` part of /api/v1/status and the store's word in /readyz (DESIGN §9): which lease
// store serves the fleet, where, whether it answers, and which reconciler reads Git.
import type { StoreStatus } from '../schema/views.js';
import type { LeaseStore } from './lease-store.js';

/**
 * The reconciler that reads Git for the fleet (the etcd election's leader: its id or URL); null
 * when none is known, and with a local store (this reconciler reads Git itself).
 */
export type LeaderSource = () => string | null;

export function storeStatusOf(store: LeaseStore, leader: LeaderSource): StoreStatus {
  const status: StoreStatus = { kind: store.kind, endpoints: [...store.endpoints], leader: leader() };
  const availability = store.availability();
  if (!availability.available) status.unavailable = { since: new Date(availability.sinceMs).toISOString(), reason: availability.reason };
  return status;
}

/** One line for /readyz: `available`, or since when and why not, and what that means for callers. */
export function describeStoreReadiness(store: LeaseStore): string {
  const availability = store.availability();
  if (availability.available) return 'available';
  const since = new Date(availability.sinceMs).toISOString();
  return `unavailable since ${since}: ${availability.reason}; read-only: register and heartbeat answer 503 StoreUnavailable, reads serve the last view`;
}
