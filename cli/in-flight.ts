// Requests in flight through the known pool gateways (--gateway, MCPCTL_GATEWAY), read from each
// gateway's GET /v1/mcpctl/state: summed per member for `get pools -o wide` and the TUI, and
// polled for one member until it has none for `drain llm NAME --wait`.
import type { GatewayApi } from '../client/gateway-client.js';
import { inFlightOf, isRoutableIn, type GatewayStateAnswer } from '../schema/gateway.js';
import type { CommandContext } from './context.js';
import { CliError, EXIT, GatewayUnreachableError } from './errors.js';

/** How often `drain --wait` asks every gateway again. */
export const IN_FLIGHT_POLL_MS = 250;

/** Requests in flight per member name, summed over the gateways that answered; a member no gateway lists has none. */
export type InFlightCounts = ReadonlyMap<string, number>;

export interface InFlightReading {
  counts: InFlightCounts;
  /** How many gateways were asked. */
  gateways: number;
  /** The gateways that could not be reached, each with its one-line error. */
  unreachable: { gateway: string; message: string }[];
}

/**
 * Asks every gateway at once. An unreachable gateway is reported, not thrown: a view shows what the
 * others say and warns. Any other failure (a 401, a body of the wrong shape) is thrown.
 */
export async function readInFlight(gateways: readonly GatewayApi[]): Promise<InFlightReading> {
  const answers = await Promise.all(
    gateways.map(async (g) => {
      try {
        return { gateway: g.gateway, answer: await g.state(), error: null };
      } catch (error) {
        if (error instanceof GatewayUnreachableError) return { gateway: g.gateway, answer: null, error };
        throw error;
      }
    }),
  );
  const counts = new Map<string, number>();
  const unreachable: InFlightReading['unreachable'] = [];
  for (const { gateway, answer, error } of answers) {
    if (answer === null) unreachable.push({ gateway, message: error?.message ?? `cannot reach the gateway at ${gateway}` });
    else addCounts(counts, answer);
  }
  return { counts, gateways: gateways.length, unreachable };
}

function addCounts(counts: Map<string, number>, answer: GatewayStateAnswer): void {
  for (const member of answer.members) counts.set(member.name, (counts.get(member.name) ?? 0) + member.inFlight);
}

/**
 * Every gateway's answer once, before anything is committed: a gateway that cannot be reached (exit
 * 3) or refuses the token fails the command while nothing has been written yet.
 */
export async function checkGateways(gateways: readonly GatewayApi[]): Promise<void> {
  await Promise.all(gateways.map((g) => g.state()));
}

/** `10m`, `90s`, `1.5s`: how a --timeout is said back. */
export function formatTimeout(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 100) / 10}s`;
}

export interface IdleWaitOptions {
  /** When to give up (ctx.now() clock). */
  deadlineMs: number;
  /** The whole --timeout, for the message. */
  timeoutMs: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls every gateway until none reports a request in flight for `name`, printing a line whenever a
 * gateway's count changes. Called after checkGateways, so every gateway answered once: one that
 * stops answering now (restarting, overloaded) is waited for until the deadline, since its requests
 * may still be running. Past the deadline: exit 1, as every other `--wait` that runs out of time.
 */
export async function waitUntilIdle(ctx: CommandContext, gateways: readonly GatewayApi[], name: string, options: IdleWaitOptions): Promise<void> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // What was last said per gateway: a count, or `away` while it cannot be reached.
  const said = new Map<string, number | 'away' | 'routable'>();
  for (;;) {
    const polled = await Promise.all(
      gateways.map(async (g) => {
        try {
          const state = await g.state();
          return { gateway: g.gateway, count: inFlightOf(state, name), routable: isRoutableIn(state, name), away: null };
        } catch (error) {
          if (error instanceof GatewayUnreachableError) return { gateway: g.gateway, count: null, routable: false, away: error.reason };
          throw error;
        }
      }),
    );
    for (const { gateway, count, routable, away } of polled) {
      const before = said.get(gateway);
      if (count === null) {
        if (before !== 'away') ctx.out(`gateway ${gateway} stopped answering (${away ?? '?'}); waiting for it\n`);
        said.set(gateway, 'away');
        continue;
      }
      // A gateway whose view lags the reconciler may still send NAME a new request: not drained yet.
      if (routable && before !== 'routable') ctx.out(`waiting for ${gateway} to stop routing to ${name}\n`);
      else if (!routable && count > 0 && count !== before) ctx.out(`waiting for ${count} request(s) in flight on ${name} (${gateway})\n`);
      said.set(gateway, routable ? 'routable' : count);
    }
    const busy = polled.filter((p) => p.count !== 0 || p.routable);
    if (busy.length === 0) {
      ctx.out(`drained: ${name} has no request in flight\n`);
      return;
    }
    if (ctx.now() >= options.deadlineMs) {
      const left = busy.map((p) => (p.count === null ? `${p.gateway} not answering` : p.routable ? `${p.gateway} still routing to it` : `${p.count} on ${p.gateway}`));
      throw new CliError(`timed out after ${formatTimeout(options.timeoutMs)} waiting for the requests in flight on ${name} to finish (${left.join(', ')})`, EXIT.error);
    }
    await sleep(options.pollMs ?? IN_FLIGHT_POLL_MS);
  }
}
