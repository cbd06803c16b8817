// Turns the desired state and rejections in the reconciler's answers into log lines, once per
// change: the operator sees "Git drained this worker" when it happens, not on every beat.
import type { LlmProviderFileEntry } from '../schema/agent-config.js';
import type { DesiredForAgent, RegistrationAnswer } from '../schema/agent-protocol.js';

/** What has been logged so far, by name. */
export interface DesiredLogState {
  revision: string | null | undefined;
  desired: Map<string, string>;
  rejected: Map<string, string>;
}

export function startDesiredLog(): DesiredLogState {
  return { revision: undefined, desired: new Map(), rejected: new Map() };
}

/** Lines for what changed in `answer` since `previous`, and the state to pass next time. */
export function describeAnswerChanges(
  providers: readonly LlmProviderFileEntry[],
  answer: Pick<RegistrationAnswer, 'revision' | 'desired' | 'rejected'>,
  previous: DesiredLogState,
): { lines: string[]; next: DesiredLogState } {
  const lines: string[] = [];
  const byName = new Map(providers.map((p) => [p.name, p]));
  if (answer.revision !== previous.revision && answer.revision !== null) lines.push(`reconciler: desired revision ${answer.revision}`);

  const rejected = new Map<string, string>();
  for (const { name, reason } of answer.rejected) {
    rejected.set(name, reason);
    if (!isSameReason(previous.rejected.get(name), reason)) lines.push(`reconciler: rejected ${name}: ${reason}`);
  }

  const desired = new Map<string, string>();
  for (const entry of answer.desired) {
    const provider = byName.get(entry.name);
    // The provider's own poolName is part of the key: a config edit can make an override appear or vanish.
    const key = JSON.stringify([entry.poolName, entry.enabled, entry.declared, provider?.poolName ?? null]);
    desired.set(entry.name, key);
    if (previous.desired.get(entry.name) !== key) lines.push(...describeDesired(provider, entry));
  }
  return { lines, next: { revision: answer.revision, desired, rejected } };
}

/** What Git wants for one published name, in words. */
export function describeDesired(provider: LlmProviderFileEntry | undefined, desired: DesiredForAgent): string[] {
  const name = desired.name;
  if (!desired.declared) return [`reconciler: ${name} is not declared in Git; published as a virtual member`];
  const lines: string[] = [];
  const ownPool = provider?.poolName ?? null;
  if (desired.poolName !== ownPool) lines.push(`reconciler: ${name} poolName overridden by Git: ${ownPool ?? '(none)'} → ${desired.poolName ?? '(none)'}`);
  if (!desired.enabled) lines.push(`reconciler: ${name} drained by Git (enabled: false)`);
  if (lines.length === 0) lines.push(`reconciler: ${name} declared in Git, matches this agent (poolName: ${ownPool ?? '(none)'}, enabled: true)`);
  return lines;
}

/**
 * A rejected name is sent again on every beat and its reason may carry an age (`last heartbeat
 * 4s ago`): the same reason with another age is not news.
 */
function isSameReason(before: string | undefined, reason: string): boolean {
  return before !== undefined && withoutAges(before) === withoutAges(reason);
}

function withoutAges(reason: string): string {
  return reason.replace(/\b\d+(ms|s|m|h|d)\b/g, '');
}
