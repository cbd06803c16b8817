// `mcpctl create llm NAME --type T --model M [...]`: writes llms/NAME.yaml and commits.
import { checkName } from '../../schema/names.js';
import { LLM_TYPES, llmSchema, type Llm, type LlmType } from '../../schema/resources.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { commitChange, loadWorkspace, prepareChange } from '../workspace.js';
import { resourceKindOf } from './get.js';

export interface CreateOptions {
  resource: string;
  name: string;
  type: string;
  model: string;
  url?: string | undefined;
  poolName?: string | undefined;
  source?: string | undefined;
  label: string[];
  dryRun: boolean;
  noCommit: boolean;
  push: boolean;
  /** Create over an existing name edits it in place, and can move it out of a pool: checked like apply. */
  force: boolean;
}

export async function run(options: CreateOptions, ctx: CommandContext): Promise<void> {
  if (resourceKindOf(options.resource) !== 'llm') throw new CliError('create supports llm only');
  const llm = buildLlm(options);
  const ws = await loadWorkspace(ctx, { mayCreateFolder: true });
  const change = prepareChange(ws, { upserts: [llm], deletes: [] });
  const plan = await commitChange(ctx, ws, change, {
    dryRun: options.dryRun,
    noCommit: options.noCommit,
    push: options.push,
    wait: false,
    yes: true,
    force: options.force,
    message: `create llm ${llm.metadata.name}`,
    showPlan: options.dryRun,
  });
  if (change.writes.length === 0) ctx.out(`llm/${llm.metadata.name} unchanged\n`);
  else if (!options.dryRun) ctx.out(`llm/${llm.metadata.name} ${plan.summary.add > 0 ? 'created' : 'configured'} in ${change.writes.map((w) => w.path).join(', ')}\n`);
}

/** Validates every flag before anything is read or written; each error names its flag. */
export function buildLlm(options: CreateOptions): Llm {
  const nameProblem = checkName(options.name);
  if (nameProblem !== null) throw new CliError(`NAME: invalid name: ${nameProblem}`);
  if (!(LLM_TYPES as readonly string[]).includes(options.type)) {
    throw new CliError(`--type: expected one of ${LLM_TYPES.join(', ')}, found ${JSON.stringify(options.type)}`);
  }
  if (options.poolName !== undefined) {
    const poolProblem = checkName(options.poolName);
    if (poolProblem !== null) throw new CliError(`--pool-name: invalid name: ${poolProblem}`);
  }
  if (options.source !== undefined && options.source !== 'agent' && options.source !== 'static') {
    throw new CliError(`--source: expected agent or static, found ${JSON.stringify(options.source)}`);
  }
  const labels: Record<string, string> = {};
  for (const label of options.label) {
    const eq = label.indexOf('=');
    if (eq <= 0) throw new CliError(`--label: expected key=value, found ${JSON.stringify(label)}`);
    labels[label.slice(0, eq)] = label.slice(eq + 1);
  }
  const llm: Llm = {
    apiVersion: 'mcpctl/v1',
    kind: 'Llm',
    metadata: { name: options.name, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
    spec: {
      type: options.type as LlmType,
      model: options.model,
      ...(options.url !== undefined ? { url: options.url } : {}),
      ...(options.poolName !== undefined ? { poolName: options.poolName } : {}),
      ...(options.source === 'static' ? { source: 'static' as const } : {}),
    },
  };
  const parsed = llmSchema.safeParse(llm);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    const flag = FLAG_OF_FIELD[field] ?? field;
    throw new CliError(`${flag}: ${issue?.message ?? 'invalid value'}`);
  }
  return llm;
}

const FLAG_OF_FIELD: Record<string, string> = {
  'spec.model': '--model',
  'spec.url': '--url',
  'spec.poolName': '--pool-name',
  'metadata.labels': '--label',
};

