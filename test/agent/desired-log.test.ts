import { describe, expect, it } from 'vitest';
import { describeAnswerChanges, startDesiredLog } from '../../agent/desired-log.js';
import type { LlmProviderFileEntry } from '../../schema/agent-config.js';
import type { DesiredForAgent } from '../../schema/agent-protocol.js';

const provider: LlmProviderFileEntry = { name: 'vllm-gpu1-qwen3', poolName: 'a', type: 'vllm', model: 'Qwen/Qwen3-8B', url: 'http://gpu1:8000/v1' };

function answer(desired: DesiredForAgent[], rejected: { name: string; reason: string }[] = [], revision: string | null = 'rev1') {
  return { revision, desired, rejected };
}

describe('describeAnswerChanges', () => {
  it('logs a poolName override and a drain once, not on every beat', () => {
    const a = answer([{ name: 'vllm-gpu1-qwen3', poolName: 'b', enabled: false, declared: true }]);
    const first = describeAnswerChanges([provider], a, startDesiredLog());
    expect(first.lines).toEqual([
      'reconciler: desired revision rev1',
      'reconciler: vllm-gpu1-qwen3 poolName overridden by Git: a → b',
      'reconciler: vllm-gpu1-qwen3 drained by Git (enabled: false)',
    ]);
    expect(describeAnswerChanges([provider], a, first.next).lines).toEqual([]);
  });

  it('logs again when Git changes its mind', () => {
    const drained = describeAnswerChanges([provider], answer([{ name: 'vllm-gpu1-qwen3', poolName: 'a', enabled: false, declared: true }]), startDesiredLog());
    const undrained = describeAnswerChanges([provider], answer([{ name: 'vllm-gpu1-qwen3', poolName: 'a', enabled: true, declared: true }]), drained.next);
    expect(undrained.lines).toEqual(['reconciler: vllm-gpu1-qwen3 declared in Git, matches this agent (poolName: a, enabled: true)']);
  });

  it('says when a name is not declared, and when a solo entry is given a pool', () => {
    const solo = { ...provider, name: 'qwen3', poolName: undefined };
    const { lines } = describeAnswerChanges(
      [provider, solo],
      answer([
        { name: 'vllm-gpu1-qwen3', poolName: null, enabled: true, declared: false },
        { name: 'qwen3', poolName: 'shared', enabled: true, declared: true },
      ], [], null),
      startDesiredLog(),
    );
    expect(lines).toEqual([
      'reconciler: vllm-gpu1-qwen3 is not declared in Git; published as a virtual member',
      'reconciler: qwen3 poolName overridden by Git: (none) → shared',
    ]);
  });

  it('logs a rejected name with its reason once per reason', () => {
    const a = answer([], [{ name: 'vllm-gpu1-qwen3', reason: 'held by agent gpu2' }]);
    const first = describeAnswerChanges([provider], a, startDesiredLog());
    expect(first.lines).toContain('reconciler: rejected vllm-gpu1-qwen3: held by agent gpu2');
    expect(describeAnswerChanges([provider], a, first.next).lines).toEqual([]);
  });
});
