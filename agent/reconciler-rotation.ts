// Which reconciler of `servers:` the agent talks to (DESIGN §9): one at a time, the next one
// (wrapping) when the current one does not answer. Several reconcilers share one lease store, so
// the lease goes along. Pure: plain data in, plain data out.
import type { CallResult } from './reconciler-client.js';

export interface Rotation {
  /** The reconciler URLs in the order of the config, without trailing slashes; never empty. */
  readonly servers: readonly string[];
  /** The one talked to now. */
  readonly index: number;
  /** Reconcilers that failed one after another since the last answer or the last full round. */
  readonly failedInRound: number;
}

export function startRotation(servers: readonly string[]): Rotation {
  if (servers.length === 0) throw new Error('a rotation needs at least one reconciler');
  return { servers: servers.map(normalizeServer), index: 0, failedInRound: 0 };
}

export function currentServer(rotation: Rotation): string {
  return rotation.servers[rotation.index] ?? rotation.servers[0] ?? '';
}

/**
 * After the current reconciler failed over (see `isFailover`): the next one, and whether every
 * reconciler has now failed once in a row, so that the agent backs off before the next try
 * rather than trying the next one at once.
 */
export function rotateAfterFailure(rotation: Rotation): { next: Rotation; roundFailed: boolean } {
  const failed = rotation.failedInRound + 1;
  const roundFailed = failed >= rotation.servers.length;
  return {
    next: { servers: rotation.servers, index: (rotation.index + 1) % rotation.servers.length, failedInRound: roundFailed ? 0 : failed },
    roundFailed,
  };
}

/** The current reconciler answered: the next failure starts a fresh round. */
export function rotateAfterAnswer(rotation: Rotation): Rotation {
  return rotation.failedInRound === 0 ? rotation : { ...rotation, failedInRound: 0 };
}

/**
 * A reloaded list: the agent stays with the reconciler it talks to when the list still holds it,
 * and starts at the new list's first one otherwise.
 */
export function replaceServers(rotation: Rotation, servers: readonly string[]): Rotation {
  const next = startRotation(servers);
  const kept = next.servers.indexOf(currentServer(rotation));
  return kept < 0 ? next : { ...next, index: kept };
}

/** Whether two lists share a reconciler, and so (DESIGN §9) one lease store: then a lease stays valid across them. */
export function sharesServer(a: readonly string[], b: readonly string[]): boolean {
  const known = new Set(a.map(normalizeServer));
  return b.some((server) => known.has(normalizeServer(server)));
}

export function sameServers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((server, i) => normalizeServer(server) === normalizeServer(b[i] ?? ''));
}

/**
 * Whether a failed call means "this reconciler cannot serve now, another may": no connection, no
 * answer in time, or 503 (a reconciler whose store is down answers 503 StoreUnavailable). Any other
 * answer is the fleet's answer and would be the same elsewhere.
 */
export function isFailover(result: Exclude<CallResult<unknown>, { ok: true }>): boolean {
  return result.kind === 'unreachable' || result.status === 503;
}

export function normalizeServer(server: string): string {
  return server.replace(/\/+$/, '');
}
