// The Plan view's text: each changed resource as a coloured line diff of its canonical YAML, then
// the same pools, live findings, policy and summary sections that `mcpctl plan` prints.
import { structuredPatch } from 'diff';
import { paint, type Tone } from '../format/color.js';
import { formatPlan } from '../format/plan-format.js';
import type { ApplyOutcome, DiffAction, PlanResult, ResourceDiff, StepProgress, StepState } from './data-source.js';

const MARK: Record<DiffAction, string> = { create: '+', update: '~', delete: '-' };
const TONE: Record<DiffAction, Tone> = { create: 'green', update: 'yellow', delete: 'red' };
const DIFF_CONTEXT_LINES = 3;

/** One resource: `~ Llm name  (file:line)`, then its YAML lines marked `+`, `-` or blank. */
export function formatResourceDiff(diff: ResourceDiff, color: boolean): string[] {
  const where = diff.file === '' ? '' : `  ${paint(`(${diff.file}:${diff.line})`, 'dim', color)}`;
  const lines = [`${paint(MARK[diff.action], TONE[diff.action], color)} ${paint(diff.kind, 'bold', color)} ${diff.name}${where}`];
  const patch = structuredPatch(diff.name, diff.name, diff.beforeYaml, diff.afterYaml, '', '', { context: DIFF_CONTEXT_LINES });
  const several = patch.hunks.length > 1;
  for (const hunk of patch.hunks) {
    if (several) lines.push(paint(`    @@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, 'cyan', color));
    for (const line of hunk.lines) {
      const sign = line[0];
      const body = line.slice(1);
      if (sign === '+') lines.push(paint(`  + ${body}`, 'green', color));
      else if (sign === '-') lines.push(paint(`  - ${body}`, 'red', color));
      else if (sign === ' ') lines.push(`    ${body}`);
      // `\ No newline at end of file` says nothing useful about a resource.
    }
  }
  return lines;
}

/** The whole Plan view body for a computed plan. */
export function formatPlanLines(result: PlanResult, color: boolean): string[] {
  // The CLI's own text without its per-field sections: the YAML diffs take their place.
  const rest = formatPlan({ ...result.plan, changes: [], poolChanges: [] }, 'text', { color }).replace(/\n+$/, '').split('\n\n');
  const [intro = '', ...tail] = rest;
  const out: string[] = [...intro.split('\n')];
  for (const diff of result.diffs) out.push('', ...formatResourceDiff(diff, color));
  for (const section of tail) out.push('', ...section.split('\n'));
  return out;
}

const STEP_MARK: Record<StepState, string> = { pending: '·', running: '…', done: '✓', skipped: '-', failed: '✗' };
const STEP_TONE: Record<StepState, Tone> = { pending: 'dim', running: 'cyan', done: 'green', skipped: 'dim', failed: 'red' };

/** The apply panel: one line per step with its mark and what happened, then the outcome. */
export function formatApplyLines(steps: readonly StepProgress[], outcome: ApplyOutcome | null, color: boolean): string[] {
  const width = Math.max(...steps.map((s) => s.step.length));
  const lines = [paint(outcome === null ? 'Applying…' : 'Apply', 'bold', color)];
  for (const s of steps) {
    // The state in words as well as in its mark and colour; a finished step just says what it did.
    const text = s.state === 'done' ? s.detail : s.detail === '' ? s.state : `${s.state}: ${s.detail}`;
    lines.push(`  ${paint(STEP_MARK[s.state], STEP_TONE[s.state], color)} ${s.step.padEnd(width)}  ${text}`.trimEnd());
  }
  if (outcome !== null) lines.push(paint(outcome.message, outcome.ok ? 'green' : 'red', color));
  return lines;
}
