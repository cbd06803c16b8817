// Views of one Plan value (schema/plan.ts): Terraform-like text for terminals, the Plan itself
// as JSON, and markdown for pull-request comments, bounded to what a GitHub comment holds.
import type { FieldChange, Finding, LlmChange, LlmPoolChange, Plan, PlanAction, PlanValue, PolicyViolation, PoolSizeChange } from '../../schema/plan.js';
import { padVisible, paint, type Tone } from './color.js';

export type PlanFormat = 'text' | 'json' | 'markdown';

export interface PlanFormatOptions {
  /** ANSI colour for text (the caller decides: TTY, NO_COLOR). */
  color?: boolean;
}

/** GitHub refuses comments over 65,536 characters; keep a margin. */
export const MARKDOWN_LIMIT = 65_000;

export function formatPlan(plan: Plan, format: PlanFormat, options: PlanFormatOptions = {}): string {
  switch (format) {
    case 'text':
      return formatPlanText(plan, options.color === true);
    case 'json':
      return `${JSON.stringify(plan, null, 2)}\n`;
    case 'markdown':
      return formatPlanMarkdown(plan);
  }
}

/** `Plan: 1 to add, 2 to change, 0 to remove.`: Llms and LlmPool documents alike. */
export function formatPlanLine(plan: Plan): string {
  const { add, change, remove } = plan.summary;
  return `Plan: ${add} to add, ${change} to change, ${remove} to remove.`;
}

export function formatNoChangesLine(plan: Plan): string {
  return `No changes. Desired state matches ${plan.base.label}.`;
}

// ---------------------------------------------------------------------------------------------
// Shared wording

type Mark = '+' | '~' | '-';

const MARK_OF_ACTION: Record<PlanAction, Mark> = { create: '+', update: '~', delete: '-' };
const TONE_OF_MARK: Record<Mark, Tone> = { '+': 'green', '~': 'yellow', '-': 'red' };

/** Plain when unambiguous, JSON-quoted otherwise (empty, spaces, a string that reads as a boolean or number). */
export function formatPlanValue(value: PlanValue): string {
  if (value === null) return '(none)';
  if (typeof value !== 'string') return String(value);
  const plain = /^[A-Za-z0-9._/:@+-][A-Za-z0-9._/:@+=~-]*$/.test(value) && !/^(true|false|null|[-+]?[0-9][0-9._]*)$/.test(value);
  return plain ? value : JSON.stringify(value);
}

/** How one field reads inside a change: `~ spec.poolName: a → b`, `+ path: v`, `- path: v`. */
function describeField(field: FieldChange): { mark: Mark; text: string } {
  if (field.before === null) return { mark: '+', text: `${field.path}: ${formatPlanValue(field.after)}` };
  if (field.after === null) return { mark: '-', text: `${field.path}: ${formatPlanValue(field.before)}` };
  return { mark: '~', text: `${field.path}: ${formatPlanValue(field.before)} → ${formatPlanValue(field.after)}` };
}

function where(file: string | null, line: number | null): string {
  // A base rebuilt from served views may not know where a resource was declared.
  if (file === null || file === '') return '';
  return line === null || line === 0 ? file : `${file}:${line}`;
}

/** `  # file:line` after a diff line, or nothing when the place is unknown. */
function trailingWhere(file: string | null, line: number | null): string {
  const at = where(file, line);
  return at === '' ? '' : `  # ${at}`;
}

function poolMark(pool: PoolSizeChange): Mark {
  if (pool.sizeBefore === 0) return '+';
  if (pool.sizeAfter === 0) return '-';
  return '~';
}

function membersWord(n: number): string {
  return n === 1 ? 'member' : 'members';
}

function describePoolSize(pool: PoolSizeChange): string {
  return `${pool.sizeBefore} → ${pool.sizeAfter} ${membersWord(pool.sizeAfter)}`;
}

function describeViolation(v: PolicyViolation): string {
  return `${v.pool}: ${v.reason}`;
}

function describePolicyOk(): string {
  return 'no pool falls below its minActive.';
}

// ---------------------------------------------------------------------------------------------
// Text

function formatPlanText(plan: Plan, color: boolean): string {
  const mark = (m: Mark): string => paint(m, TONE_OF_MARK[m], color);
  const located = (file: string | null, line: number | null): string => {
    const at = where(file, line);
    return at === '' ? '' : `  ${paint(`(${at})`, 'dim', color)}`;
  };
  const sections: string[][] = [[`Comparing ${plan.desired.label} with ${plan.base.label}.`]];

  const resourceLines = (changes: readonly (LlmChange | LlmPoolChange)[]): string[] => {
    const lines: string[] = [];
    for (const change of changes) {
      lines.push(`  ${mark(MARK_OF_ACTION[change.action])} ${change.name}${located(change.file, change.line)}`);
      for (const field of change.fields) {
        const { mark: m, text } = describeField(field);
        lines.push(`      ${mark(m)} ${text}${located(field.file, field.line)}`);
      }
    }
    return lines;
  };
  if (plan.changes.length > 0) sections.push(['Llms:', ...resourceLines(plan.changes)]);
  if (plan.poolChanges.length > 0) sections.push(['LlmPools:', ...resourceLines(plan.poolChanges)]);

  if (plan.pools.length > 0) {
    const lines = ['Pools:'];
    for (const pool of plan.pools) {
      const moves = [...pool.added.map((n) => `${mark('+')} ${n}`), ...pool.removed.map((n) => `${mark('-')} ${n}`)];
      // Where the first member change is declared; its cause in words when no file says it.
      const because = pool.file === null ? `  ${paint(`(${pool.reason})`, 'dim', color)}` : located(pool.file, pool.line);
      lines.push(`  ${mark(poolMark(pool))} ${pool.key}: ${describePoolSize(pool)} (${moves.join(', ')})${because}`);
    }
    sections.push(lines);
  }

  if (plan.offline) {
    sections.push(['Live: not checked (offline plan).']);
  } else if (plan.findings.length === 0) {
    sections.push(['Live: no findings.']);
  } else {
    const width = Math.max(...plan.findings.map((f) => f.name.length));
    sections.push(['Live:', ...plan.findings.map((f) => `  ${padVisible(f.name, width)}  ${paintFinding(f, color)}${located(f.file, f.line)}`)]);
  }

  if (!plan.policy.checked) {
    sections.push([`Policy: check skipped: ${plan.policy.skippedReason ?? 'no live state'}.`]);
  } else if (plan.policy.violations.length === 0) {
    sections.push([`Policy: ${describePolicyOk()}`]);
  } else {
    sections.push(['Policy:', ...plan.policy.violations.map((v) => `  ${paint('✗', 'red', color)} ${describeViolation(v)}`)]);
  }

  const last = [formatPlanLine(plan)];
  if (plan.empty) last.unshift(formatNoChangesLine(plan));
  sections.push(last);
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

function paintFinding(finding: Finding, color: boolean): string {
  const tone: Tone = finding.type === 'unhealthy' ? 'red' : finding.type === 'pending' ? 'dim' : 'yellow';
  const prefix = `${finding.type}:`;
  if (!finding.reason.startsWith(prefix)) return finding.reason;
  return `${paint(prefix, tone, color)}${finding.reason.slice(prefix.length)}`;
}

// ---------------------------------------------------------------------------------------------
// Markdown (GitHub): every user string escaped, fences longer than any backtick run they hold

/** Room for each secondary section (LlmPools, pools, live, policy); the Llms get the rest. */
const SECTION_LIMIT = 6_000;
/** Kept back for the list of Llms left without details once the budget runs out. */
const LEFT_OUT_RESERVE = 4_000;
const FIELDS_IN_TABLE = 6;
const NAMES_IN_CELL = 10;
const LABEL_LIMIT = 200;

function formatPlanMarkdown(plan: Plan): string {
  const { add, change, remove } = plan.summary;
  const head = [
    `### mcpctl plan: ${add} to add, ${change} to change, ${remove} to remove`,
    `Comparing **${escapeText(clip(plan.desired.label))}** with **${escapeText(clip(plan.base.label))}**.`,
  ].join('\n\n');
  const tail: string[] = [];
  if (plan.poolChanges.length > 0) tail.push(markdownPoolChanges(plan.poolChanges));
  if (plan.pools.length > 0) tail.push(markdownPools(plan.pools));
  tail.push(markdownFindings(plan));
  tail.push(markdownPolicy(plan));
  const last = plan.empty ? `${escapeText(formatNoChangesLine(plan))}\n\n${formatPlanLine(plan)}` : formatPlanLine(plan);

  // Everything but the Llm changes is bounded section by section; the changes get the rest
  // (the joins around them and the final newline included).
  const fixed = [head, ...tail, last].join('\n\n').length + 2 + 1;
  const parts = [head];
  if (plan.changes.length > 0) parts.push(markdownChanges(plan.changes, MARKDOWN_LIMIT - fixed));
  parts.push(...tail, last);
  return `${parts.join('\n\n')}\n`;
}

function markdownChanges(changes: readonly LlmChange[], budget: number): string {
  const table = '| Llm | action | pool | fields changed |\n| --- | --- | --- | --- |';
  const rows = changes.map(markdownRow);
  const blocks = changes.map(markdownDetails);
  const cost = (i: number): number => (rows[i]?.length ?? 0) + 1 + (blocks[i]?.length ?? 0) + 2;
  let total = table.length;
  for (let i = 0; i < changes.length; i++) total += cost(i);
  let shown = changes.length;
  if (total > budget) {
    let used = table.length;
    shown = 0;
    while (shown < changes.length && used + cost(shown) <= budget - LEFT_OUT_RESERVE) used += cost(shown++);
  }
  const out: string[] = [];
  if (shown > 0) out.push([table, ...rows.slice(0, shown)].join('\n'), ...blocks.slice(0, shown));
  if (shown < changes.length) out.push(markdownLeftOut(changes.slice(shown), LEFT_OUT_RESERVE - 200));
  return out.join('\n\n');
}

function markdownRow(change: LlmChange): string {
  const pool =
    change.poolBefore !== null && change.poolAfter !== null && change.poolBefore !== change.poolAfter
      ? `${codeSpan(change.poolBefore)} → ${codeSpan(change.poolAfter)}`
      : codeSpan(change.poolAfter ?? change.poolBefore ?? '');
  const paths = change.fields.slice(0, FIELDS_IN_TABLE).map((f) => codeSpan(f.path));
  if (change.fields.length > FIELDS_IN_TABLE) paths.push(`+${change.fields.length - FIELDS_IN_TABLE} more`);
  return `| ${cell(codeSpan(change.name))} | ${change.action} | ${cell(pool)} | ${cell(paths.join(', '))} |`;
}

function markdownDetails(change: LlmChange): string {
  const lines: string[] = [];
  for (const field of change.fields) {
    const at = trailingWhere(field.file, field.line);
    if (field.before !== null && field.after !== null) {
      lines.push(`- ${field.path}: ${formatPlanValue(field.before)}`);
      lines.push(`+ ${field.path}: ${formatPlanValue(field.after)}${at}`);
    } else {
      const { mark, text } = describeField(field);
      lines.push(`${mark} ${text}${at}`);
    }
  }
  const summary = `<code>${escapeHtml(`${MARK_OF_ACTION[change.action]} ${change.name}`)}</code> ${escapeHtml(where(change.file, change.line))}`;
  return `<details><summary>${summary}</summary>\n\n${fenced('diff', lines)}\n\n</details>`;
}

function markdownLeftOut(left: readonly LlmChange[], budget: number): string {
  const intro = `**${left.length} more changed ${left.length === 1 ? 'Llm' : 'Llms'} without details** (comment size limit; \`mcpctl plan\` shows them all):`;
  const names: string[] = [];
  let used = intro.length;
  for (const change of left) {
    const name = codeSpan(`${MARK_OF_ACTION[change.action]} ${change.name}`);
    if (used + name.length + 2 > budget) break;
    names.push(name);
    used += name.length + 2;
  }
  const notShown = left.length - names.length;
  const out = [`${intro} ${names.join(', ')}`];
  if (notShown > 0) out.push(`… and ${notShown} more ${notShown === 1 ? 'Llm' : 'Llms'} not shown (comment size limit)`);
  return out.join('\n\n');
}

function markdownPoolChanges(changes: readonly LlmPoolChange[]): string {
  const blocks = changes.map((change) => {
    const lines = [`@@ ${MARK_OF_ACTION[change.action]} LlmPool ${change.name}${trailingWhere(change.file, change.line)} @@`];
    for (const field of change.fields) {
      const { mark, text } = describeField(field);
      if (mark === '~') {
        lines.push(`- ${field.path}: ${formatPlanValue(field.before)}`, `+ ${field.path}: ${formatPlanValue(field.after)}${trailingWhere(field.file, field.line)}`);
      } else {
        lines.push(`${mark} ${text}${trailingWhere(field.file, field.line)}`);
      }
    }
    return lines;
  });
  const shown: string[] = [];
  let used = 0;
  let i = 0;
  for (; i < blocks.length; i++) {
    const size = (blocks[i] as string[]).join('\n').length + 1;
    if (used + size > SECTION_LIMIT - 200) break;
    shown.push(...(blocks[i] as string[]));
    used += size;
  }
  const parts = ['#### LlmPools'];
  if (shown.length > 0) parts.push(fenced('diff', shown));
  if (i < blocks.length) parts.push(leftOutNote(blocks.length - i, 'LlmPool', 'LlmPools'));
  return parts.join('\n\n');
}

function markdownPools(pools: readonly PoolSizeChange[]): string {
  // escapeText already escapes pipes for the reason: cell() again would double them.
  const rows = pools.map(
    (pool) =>
      `| ${cell(codeSpan(pool.key))} | ${describePoolSize(pool)} | ${cell(namesCell(pool.added))} | ${cell(namesCell(pool.removed))} | ${escapeText(pool.reason)} |`,
  );
  return ['#### Pools', boundedTable('| pool | members | added | removed | why |\n| --- | --- | --- | --- | --- |', rows, 'pool', 'pools')].join('\n\n');
}

function markdownFindings(plan: Plan): string {
  if (plan.offline) return '#### Live\n\nNot checked: offline plan.';
  if (plan.findings.length === 0) return '#### Live\n\nNo findings.';
  const items = plan.findings.map((f) => {
    const at = where(f.file, f.line);
    return `- ${codeSpan(f.name)} ${escapeText(f.reason)}${at === '' ? '' : ` (${escapeText(at)})`}`;
  });
  return ['#### Live', boundedList(items, 'finding', 'findings')].join('\n\n');
}

function markdownPolicy(plan: Plan): string {
  if (!plan.policy.checked) return `#### Policy\n\nCheck skipped: ${escapeText(plan.policy.skippedReason ?? 'no live state')}.`;
  const violations = plan.policy.violations;
  if (violations.length === 0) return `#### Policy\n\nOK: ${escapeText(describePolicyOk())}`;
  const pools = violations.length === 1 ? 'one pool' : `${violations.length} pools`;
  const alert = `> [!CAUTION]\n> This change would leave ${pools} below ${violations.length === 1 ? 'its' : 'their'} \`minActive\`; \`mcpctl apply\` refuses it without \`--force\`.`;
  const items = violations.map((v) => `- ${codeSpan(v.pool)}: ${escapeText(v.reason)}`);
  return ['#### Policy', alert, boundedList(items, 'violation', 'violations')].join('\n\n');
}

function namesCell(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_IN_CELL).map(codeSpan);
  if (names.length > NAMES_IN_CELL) shown.push(`and ${names.length - NAMES_IN_CELL} more`);
  return shown.join(', ');
}

function boundedTable(header: string, rows: readonly string[], one: string, many: string): string {
  const shown: string[] = [];
  let used = header.length;
  for (const row of rows) {
    if (used + row.length + 1 > SECTION_LIMIT - 200) break;
    shown.push(row);
    used += row.length + 1;
  }
  const table = [header, ...shown].join('\n');
  // A note straight under a table would read as one more row: a blank line ends the table.
  return shown.length < rows.length ? `${table}\n\n${leftOutNote(rows.length - shown.length, one, many)}` : table;
}

function boundedList(items: readonly string[], one: string, many: string): string {
  const shown: string[] = [];
  let used = 0;
  for (const item of items) {
    if (used + item.length + 1 > SECTION_LIMIT - 200) break;
    shown.push(item);
    used += item.length + 1;
  }
  const list = shown.join('\n');
  return shown.length < items.length ? `${list}\n\n${leftOutNote(items.length - shown.length, one, many)}` : list;
}

function leftOutNote(n: number, one: string, many: string): string {
  return `… and ${n} more ${n === 1 ? one : many} not shown (comment size limit)`;
}

function fenced(language: string, lines: readonly string[]): string {
  let longest = 0;
  for (const run of lines.join('\n').match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${lines.join('\n')}\n${fence}`;
}

/** An inline code span that survives backticks in its text. */
function codeSpan(text: string): string {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const ticks = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${text}${pad}${ticks}`;
}

/** GitHub tables split on every unescaped pipe, code spans included. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function escapeText(text: string): string {
  return text.replace(/[\\`*_[\]<>|~#]/g, '\\$&').replace(/\r?\n/g, ' ');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function clip(text: string): string {
  return text.length > LABEL_LIMIT ? `${text.slice(0, LABEL_LIMIT)}…` : text;
}
