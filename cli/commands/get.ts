// `mcpctl get llm[s]|pool[s] [NAME]`: tables, YAML, JSON and names from the reconciler; -w follows /watch.
// The YAML codec (yaml, zod) and the watch renderers are imported only by the outputs that use
// them: `get` is the command people run most, and its start-up time is measured (bench/cli.ts).
import type { Llm, LlmPool } from '../../schema/resources.js';
import type { LlmView, PoolSummary } from '../../schema/views.js';
import { checkName } from '../../schema/name-rule.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { NO_RESOURCES } from '../format/table.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'yaml', 'json', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface GetOptions {
  resource: string;
  name?: string | undefined;
  output: OutputFormat;
  pool?: string | undefined;
  watch: boolean;
  showStatus: boolean;
}

export type ResourceKind = 'llm' | 'pool';

/** A name given on the command line follows the one name rule (DESIGN §1), checked before any request. */
export function assertNameArgument(value: string | undefined, where: string): void {
  if (value === undefined) return;
  const problem = checkName(value);
  if (problem !== null) throw new CliError(`${where}: invalid name: ${problem}`);
}

export function resourceKindOf(word: string): ResourceKind {
  const w = word.toLowerCase();
  if (w === 'llm' || w === 'llms') return 'llm';
  if (w === 'pool' || w === 'pools' || w === 'llmpool' || w === 'llmpools') return 'pool';
  throw new CliError(`unknown resource type ${JSON.stringify(word)}: expected llm(s) or pool(s)`);
}

export async function run(options: GetOptions, ctx: CommandContext): Promise<void> {
  const kind = resourceKindOf(options.resource);
  assertNameArgument(options.name, kind === 'llm' ? 'NAME' : 'KEY');
  assertNameArgument(options.pool, '--pool');
  if (kind === 'pool' && options.pool !== undefined) throw new CliError('--pool: applies to get llm; for one pool use `mcpctl get pool KEY`');
  if (kind === 'llm') await getLlms(options, ctx);
  else await getPools(options, ctx);
}

async function getLlms(options: GetOptions, ctx: CommandContext): Promise<void> {
  const client = ctx.client();
  // A table needs the pools too: ask for both at once, and load the renderer while the reconciler answers.
  const tabular = options.output === 'table' || options.output === 'wide';
  const pools = tabular ? client.listPools().then((a) => a.items) : Promise.resolve([]);
  const renderer = tabular ? import('../format/llm-table.js') : null;
  // Awaited below; a failure that comes first (an unknown name) must not surface as an unhandled rejection.
  pools.catch(() => undefined);
  renderer?.catch(() => undefined);
  let views: LlmView[];
  let revision: string | null = null;
  if (options.name !== undefined) {
    const view = await client.getLlm(options.name);
    if (view === null) throw new CliError(`llm ${JSON.stringify(options.name)} not found`);
    views = [view];
  } else {
    const answer = await client.listLlms(options.pool);
    views = answer.items;
    revision = answer.revision;
  }
  switch (options.output) {
    case 'json':
      ctx.out(`${JSON.stringify(options.name !== undefined ? views[0] : { revision, items: views }, null, 2)}\n`);
      return;
    case 'yaml':
      ctx.out(await renderViewsYaml(views, options.showStatus));
      return;
    case 'name': {
      const { formatLlmNames } = await import('../format/llm-table.js');
      const names = formatLlmNames(views);
      ctx.out(names.stdout);
      if (names.stderr !== '') ctx.err(names.stderr);
      return;
    }
    default: {
      const tableOptions = { wide: options.output === 'wide', color: ctx.color, nowMs: ctx.now() };
      const table = options.watch
        ? (await import('../format/watch-line.js')).formatLlmWatchTable(views, await pools, tableOptions)
        : (await (renderer ?? import('../format/llm-table.js'))).formatLlmTable(views, await pools, tableOptions);
      ctx.out(table.stdout);
      if (table.stderr !== '') ctx.err(table.stderr);
      if (options.watch) await watchLlms(options, ctx, views, table.widths);
    }
  }
}

/** YAML of Llms as files would declare them: canonical, status only when asked. */
export async function renderViewsYaml(views: LlmView[], withStatus: boolean): Promise<string> {
  const [{ stringifyResource, toCanonicalYaml }, { canonicalizeLlm }] = await Promise.all([import('../../schema/codec.js'), import('../../schema/resources.js')]);
  if (!withStatus) return toCanonicalYaml(views.map(resourceOfView));
  return views.map((view) => stringifyResource({ ...canonicalizeLlm(resourceOfView(view)), status: view.status })).join('---\n');
}

/**
 * YAML of pools as LlmPool documents would declare them, so that `get pool KEY -o yaml` applies
 * back (`apply -f -`); a pool no document declares comes out as the document that would declare
 * it, without a floor. `--show-status` adds the pool's figures as `status`.
 */
export async function renderPoolsYaml(pools: PoolSummary[], withStatus: boolean): Promise<string> {
  const [{ stringifyResource, toCanonicalYaml }, { canonicalizePool }] = await Promise.all([import('../../schema/codec.js'), import('../../schema/resources.js')]);
  const resources = pools.map(resourceOfPool);
  if (!withStatus) return toCanonicalYaml(resources);
  return pools
    .map((pool, i) => {
      const { key: _key, description: _description, labels: _labels, annotations: _annotations, ...status } = pool;
      return stringifyResource({ ...canonicalizePool(resources[i] as LlmPool), status });
    })
    .join('---\n');
}

export function resourceOfPool(pool: PoolSummary): LlmPool {
  const metadata: LlmPool['metadata'] = { name: pool.key };
  if (pool.labels !== undefined) metadata.labels = pool.labels;
  if (pool.annotations !== undefined) metadata.annotations = pool.annotations;
  const spec: LlmPool['spec'] = {};
  if (pool.declared && pool.minActive > 0) spec.minActive = pool.minActive;
  if (pool.description !== undefined) spec.description = pool.description;
  return { apiVersion: 'mcpctl/v1', kind: 'LlmPool', metadata, spec };
}

export function resourceOfView(view: LlmView): Llm {
  return { apiVersion: view.apiVersion, kind: 'Llm', metadata: view.metadata, spec: view.spec };
}

async function getPools(options: GetOptions, ctx: CommandContext): Promise<void> {
  const client = ctx.client();
  let pools = (await client.listPools()).items;
  if (options.name !== undefined) {
    pools = pools.filter((p) => p.key === options.name);
    if (pools.length === 0) throw new CliError(`pool ${JSON.stringify(options.name)} not found`);
  }
  switch (options.output) {
    case 'json':
      ctx.out(`${JSON.stringify(options.name !== undefined ? pools[0] : { items: pools }, null, 2)}\n`);
      return;
    case 'yaml': {
      // A list prints the LlmPool documents that exist, so that `get pools -o yaml | apply -f -`
      // is no change; one pool asked for by KEY without a document prints the one that would
      // declare it (to start from), and says so.
      const shown = options.name !== undefined ? pools : pools.filter((p) => p.declared);
      if (shown.length === 0) ctx.err(`${NO_RESOURCES}\n`);
      else ctx.out(await renderPoolsYaml(shown, options.showStatus));
      const single = options.name !== undefined ? pools[0] : undefined;
      if (single !== undefined && !single.declared) ctx.err(`mcpctl: note: pool ${JSON.stringify(single.key)} has no LlmPool document; this is the one that would declare it\n`);
      return;
    }
    case 'name':
      ctx.out(pools.map((p) => `pool/${p.key}\n`).join(''));
      if (pools.length === 0) ctx.err(`${NO_RESOURCES}\n`);
      return;
    default: {
      const { formatPoolTable } = await import('../format/pool-table.js');
      // Watch lines have no in-flight cells (a count moving is no /watch event): -w keeps the plain columns.
      const inFlight = options.output === 'wide' && !options.watch ? await readPoolInFlight(ctx) : undefined;
      const table = formatPoolTable(pools, { color: ctx.color, watch: options.watch, ...(inFlight === undefined ? {} : { inFlight }) });
      ctx.out(table.stdout);
      if (table.stderr !== '') ctx.err(table.stderr);
      if (options.watch) await watchPools(ctx, pools, table.widths);
    }
  }
}

/**
 * Requests in flight per member from the known gateways; undefined when none is known or none
 * answered. A gateway that cannot be reached is one warning line, and the counts leave it out.
 */
async function readPoolInFlight(ctx: CommandContext): Promise<ReadonlyMap<string, number> | undefined> {
  const gateways = ctx.gateways();
  if (gateways.length === 0) return undefined;
  const { readInFlight } = await import('../in-flight.js');
  const reading = await readInFlight(gateways);
  for (const { message } of reading.unreachable) ctx.err(`mcpctl: warning: ${message}; IN-FLIGHT leaves it out\n`);
  return reading.unreachable.length === reading.gateways ? undefined : reading.counts;
}

function waitForInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

async function watchLlms(options: GetOptions, ctx: CommandContext, shown: LlmView[], widths: number[]): Promise<void> {
  const [{ summarizePools }, { formatWatchLine }] = await Promise.all([import('../../schema/pools.js'), import('../format/watch-line.js')]);
  const interrupt = waitForInterrupt();
  // The watch opens with ADDED for every current Llm: a row already printed identically is not repeated.
  const current = new Map(shown.map((v) => [v.metadata.name, v]));
  const printed = new Map(shown.map((v) => [v.metadata.name, JSON.stringify(v)]));
  try {
    await ctx.client().watch((event) => {
      // A heartbeat is not a change of the row (kubectl prints no line for a lease renewal).
      if (event.type === 'STATUS' || event.type === 'HEARTBEAT') return;
      const { view } = event;
      if (options.pool !== undefined && view.status.pool.key !== options.pool) return;
      if (options.name !== undefined && view.metadata.name !== options.name) return;
      const text = JSON.stringify(view);
      if (event.type === 'ADDED' && printed.get(view.metadata.name) === text) return;
      if (event.type === 'DELETED') {
        current.delete(view.metadata.name);
        printed.delete(view.metadata.name);
      } else {
        current.set(view.metadata.name, view);
        printed.set(view.metadata.name, text);
      }
      const pools = summarizePools([...current.values()]);
      ctx.out(formatWatchLine(event.type, view, { color: ctx.color, nowMs: ctx.now(), wide: options.output === 'wide', pools, widths }));
    }, interrupt.signal);
  } finally {
    interrupt.dispose();
  }
}

async function watchPools(ctx: CommandContext, initialPools: PoolSummary[], widths: number[]): Promise<void> {
  const { formatPoolWatchLine } = await import('../format/watch-line.js');
  const interrupt = waitForInterrupt();
  const client = ctx.client();
  const last = new Map(initialPools.map((p) => [p.key, JSON.stringify(p)]));
  let pending: Promise<void> = Promise.resolve();
  try {
    await client.watch((event) => {
      if (event.type === 'STATUS' || event.type === 'HEARTBEAT') return;
      // Pool rows are derived: re-read /pools after a member changes and print the pools that moved.
      pending = pending.then(async () => {
        const pools = (await client.listPools()).items;
        for (const pool of pools) {
          const text = JSON.stringify(pool);
          if (last.get(pool.key) !== text) {
            last.set(pool.key, text);
            ctx.out(formatPoolWatchLine(pool, { color: ctx.color, widths }));
          }
        }
      });
    }, interrupt.signal);
  } finally {
    interrupt.dispose();
  }
  await pending;
}
