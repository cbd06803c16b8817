// Words for shell completion: Llm names or pool keys declared in the repository's working tree.
import { loadResources } from '../../schema/codec.js';
import { poolKeyOf } from '../../schema/pools.js';
import type { GlobalOptions } from '../program.js';
import { openRepo, readWorktreeFiles } from '../repo.js';

export async function listNamesForCompletion(what: string, global: GlobalOptions): Promise<string> {
  try {
    const repo = await openRepo(global.repo, global.path);
    const loaded = loadResources(await readWorktreeFiles(repo));
    const names =
      what === 'pools'
        ? new Set([...loaded.llms.map((l) => poolKeyOf({ name: l.resource.metadata.name, poolName: l.resource.spec.poolName })), ...loaded.pools.map((p) => p.resource.metadata.name)])
        : new Set(loaded.llms.map((l) => l.resource.metadata.name));
    return [...names].sort().map((n) => `${n}\n`).join('');
  } catch {
    // Completion must never print an error into the user's shell.
    return '';
  }
}
