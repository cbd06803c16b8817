// Words for shell completion: Llm names, pool keys (implicit ones included) or the pools an LlmPool
// document declares, read from the repository's working tree.
import { loadResources } from '../../schema/codec.js';
import { poolKeyOf } from '../../schema/pools.js';
import type { GlobalOptions } from '../context.js';
import { openRepo, readWorktreeFiles } from '../repo.js';

export async function listNamesForCompletion(what: string, global: GlobalOptions): Promise<string> {
  try {
    const repo = await openRepo(global.repo, global.path);
    const loaded = loadResources(await readWorktreeFiles(repo));
    const declaredPools = loaded.pools.map((p) => p.resource.metadata.name);
    const lists: Record<string, () => string[]> = {
      llms: () => loaded.llms.map((l) => l.resource.metadata.name),
      pools: () => [...loaded.llms.map((l) => poolKeyOf({ name: l.resource.metadata.name, poolName: l.resource.spec.poolName })), ...declaredPools],
      'declared-pools': () => declaredPools,
    };
    const list = Object.hasOwn(lists, what) ? lists[what] : undefined;
    if (list === undefined) return '';
    return [...new Set(list())].sort().map((n) => `${n}\n`).join('');
  } catch {
    // Completion must never print an error into the user's shell.
    return '';
  }
}
