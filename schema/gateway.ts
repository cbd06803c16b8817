// What a pool gateway serves about itself (DESIGN §8): the answer of GET /v1/mcpctl/state, per
// member its pool, the requests in flight through this gateway and its cooldown. `drain --wait`,
// `get pools -o wide` and the TUI read it through client/gateway-client.ts. Unknown keys are
// dropped, so that a newer gateway's additions do not break an older CLI.
import { z } from 'zod';

export const gatewayCooldownSchema = z.object({
  since: z.string(),
  until: z.string(),
  reason: z.string(),
});
export type GatewayCooldown = z.infer<typeof gatewayCooldownSchema>;

export const gatewayMemberStateSchema = z.object({
  name: z.string(),
  /** The member's pool key; null when the gateway's view of the reconciler no longer lists it. */
  pool: z.string().nullable(),
  inFlight: z.number().int().nonnegative(),
  /** Whether the gateway may still send it a new request (active in its view); absent from older gateways. */
  routable: z.boolean().optional(),
  cooldown: gatewayCooldownSchema.nullable(),
});
export type GatewayMemberState = z.infer<typeof gatewayMemberStateSchema>;

/**
 * Members appear when they are routable or when something is happening to them (requests in
 * flight, failures, a cooldown): a member the answer leaves out has nothing in flight.
 */
export const gatewayStateAnswerSchema = z.object({ members: z.array(gatewayMemberStateSchema) });
export type GatewayStateAnswer = z.infer<typeof gatewayStateAnswerSchema>;

/** Requests in flight for `name` in one gateway's answer: 0 when the answer leaves it out. */
export function inFlightOf(answer: GatewayStateAnswer, name: string): number {
  return answer.members.find((m) => m.name === name)?.inFlight ?? 0;
}

/** Whether one gateway's answer says it may still send `name` a new request. */
export function isRoutableIn(answer: GatewayStateAnswer, name: string): boolean {
  return answer.members.find((m) => m.name === name)?.routable === true;
}
