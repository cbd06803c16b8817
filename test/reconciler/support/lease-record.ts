// One lease record as the lease store tests write it: an agent with its Llms, healthy.
import type { LeaseRecord } from '../../../reconciler/lease-store.js';

export function leaseRecord(agentId: string, names: string[] = [`${agentId}-llm`], lastHeartbeatAt = 1_000): LeaseRecord {
  return {
    agentId,
    leaseId: `lease-${agentId}`,
    host: `${agentId}.lan`,
    version: '0.1.0',
    gpus: [],
    lastHeartbeatAt,
    llms: names.map((name) => ({ name, type: 'vllm', model: 'm', url: `http://${name}:1/v1`, health: 'ok' })),
  };
}
