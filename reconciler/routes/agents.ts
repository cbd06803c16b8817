// The agent routes (DESIGN §3): register, heartbeat, deregister. Thin adapters: parse the body
// at this edge, check the token's name globs, call the lease rules, answer.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { registrationSchema } from '../../schema/agent-protocol.js';
import { assertNamesAllowed } from '../auth-plugin.js';
import { ApiError, describeZodError } from '../errors.js';
import { parseHeartbeatBody } from '../heartbeat-body.js';

// Route parameters are always strings (find-my-way); an unknown agentId is just a missing lease.
interface AgentParams {
  agentId: string;
}
const deleteQuerySchema = z.object({ leaseId: z.string().min(1).optional() });
const register = { config: { role: 'register:llms' as const } };

export const agentRoutes: FastifyPluginAsync = async (app) => {
  const { leases, metrics } = app.services;

  app.post('/agents/register', register, async (request) => {
    const parsed = registrationSchema.safeParse(request.body ?? null);
    if (!parsed.success) throw new ApiError('InvalidRegistration', `invalid registration: ${describeZodError(parsed.error)}`);
    assertNamesAllowed(request, parsed.data.llms.map((llm) => llm.name));
    // A registration replaces the agent's lease and drops what it held: the token must cover that too.
    if (request.principal !== null) assertNamesAllowed(request, leases.namesOf(parsed.data.agentId) ?? []);
    const answer = await leases.register(parsed.data);
    metrics.registrations.inc();
    if (answer.rejected.length > 0) metrics.rejections.inc(answer.rejected.length);
    return answer;
  });

  app.post<{ Params: AgentParams }>('/agents/:agentId/heartbeat', register, async (request) => {
    const { agentId } = request.params;
    const parsed = parseHeartbeatBody(request.body ?? null);
    if (!parsed.success) throw new ApiError('InvalidRegistration', `invalid heartbeat: ${describeZodError(parsed.error)}`);
    if (request.principal !== null) {
      assertNamesAllowed(request, parsed.data.llms.map((llm) => llm.name));
      assertNamesAllowed(request, leases.namesOf(agentId) ?? []);
    }
    const answer = await leases.heartbeat(agentId, parsed.data);
    if (answer === null) {
      metrics.leaseNotFound.inc();
      throw new ApiError('LeaseNotFound', `no lease ${JSON.stringify(parsed.data.leaseId)} for agent ${JSON.stringify(agentId)}: register again`);
    }
    metrics.heartbeats.inc();
    if (answer.rejected.length > 0) metrics.rejections.inc(answer.rejected.length);
    return answer;
  });

  app.delete<{ Params: AgentParams }>('/agents/:agentId', register, async (request) => {
    const { agentId } = request.params;
    const { leaseId } = deleteQuerySchema.parse(request.query);
    if (request.principal !== null) assertNamesAllowed(request, leases.namesOf(agentId) ?? []);
    const released = await leases.deregister(agentId, leaseId);
    if (released === null) {
      const which = leaseId === undefined ? 'no lease' : `no lease ${JSON.stringify(leaseId)}`;
      throw new ApiError('LeaseNotFound', `${which} for agent ${JSON.stringify(agentId)}`);
    }
    return { agentId, released: released.sort() };
  });
};
