// Live views brought to what a declared base says, for the pool policy check of one change: the
// reconciler may serve a revision behind the base (commits not pushed yet), and a check of
// "before and after this change" must not blame those earlier commits.
import type { DeclaredSet } from './plan.js';
import { poolKeyOf } from './pools.js';
import { llmEnabledOf, type Llm } from './resources.js';
import type { LlmView } from './views.js';

/**
 * Each active view as the base would have it: an Llm drained or deleted there no longer counts as
 * active, one moved there counts in its new pool. Views that are not active, and published Llms
 * the base never declared, stay as they are.
 */
export function projectLiveOntoBase(live: readonly LlmView[], base: DeclaredSet): LlmView[] {
  const declared = new Map<string, Llm>(base.llms.map((l) => [l.resource.metadata.name, l.resource]));
  return live.map((view) => {
    if (view.status.phase !== 'active') return view;
    const llm = declared.get(view.metadata.name);
    if (llm === undefined) {
      // Published but not declared stays in its pool; declared once but deleted by the base leaves it.
      return view.status.kind === 'virtual' ? view : { ...view, status: { ...view.status, phase: 'draining' } };
    }
    if (!llmEnabledOf(llm.spec)) return { ...view, status: { ...view.status, phase: 'draining' } };
    const key = poolKeyOf({ name: llm.metadata.name, poolName: llm.spec.poolName });
    if (key === view.status.pool.key) return view;
    return { ...view, status: { ...view.status, pool: { key, explicit: llm.spec.poolName !== undefined } } };
  });
}
