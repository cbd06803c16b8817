// The resources a plan changes, as canonical YAML before and after: what the Plan view diffs line
// by line. The plan decides which resources changed; this only dresses them for reading.
import type { Located } from '../../schema/codec.js';
import { toCanonicalYaml } from '../../schema/codec.js';
import type { DeclaredSet, Plan } from '../../schema/plan.js';
import type { Resource } from '../../schema/resources.js';
import type { ResourceDiff } from './data-source.js';

export function buildResourceDiffs(plan: Plan, base: DeclaredSet, desired: DeclaredSet): ResourceDiff[] {
  const yamlOf = (list: readonly Located<Resource>[], name: string): string => {
    const found = list.find((l) => l.resource.metadata.name === name);
    return found === undefined ? '' : toCanonicalYaml([found.resource]);
  };
  const llms: ResourceDiff[] = plan.changes.map((c) => ({
    kind: 'Llm',
    name: c.name,
    action: c.action,
    file: c.file,
    line: c.line,
    beforeYaml: yamlOf(base.llms, c.name),
    afterYaml: yamlOf(desired.llms, c.name),
  }));
  const pools: ResourceDiff[] = plan.poolChanges.map((c) => ({
    kind: 'LlmPool',
    name: c.name,
    action: c.action,
    file: c.file,
    line: c.line,
    beforeYaml: yamlOf(base.pools, c.name),
    afterYaml: yamlOf(desired.pools, c.name),
  }));
  return [...llms, ...pools];
}

/** Canonical YAML of a whole declared set, in name order: equal strings mean equal desired states. */
export function fingerprintDeclared(set: DeclaredSet): string {
  const resources: Resource[] = [...set.llms, ...set.pools]
    .map((l) => l.resource)
    .sort((a, b) => (`${a.kind}\0${a.metadata.name}` < `${b.kind}\0${b.metadata.name}` ? -1 : 1));
  return toCanonicalYaml(resources);
}
