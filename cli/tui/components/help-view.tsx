// `?`: every key, in one screen.
import type { ReactNode } from 'react';
import { Lines } from './lines.js';

export const HELP_LINES: readonly string[] = [
  'Keys',
  '  ↑ ↓  j k      move the cursor, or scroll the detail and the plan',
  '  PgUp PgDn     a page up or down (space: down)',
  '  g G           first, last',
  '  enter         open a pool (its members), a member or a solo Llm (its detail)',
  '  esc ⌫         back (and clear a filter)',
  '  tab ⇧tab      next or previous view: Pools, Members, Plan',
  '  p             plan the working tree against the reconciler',
  '  a             apply the plan: confirm; write, commit, push, sync, converge',
  '  /             filter the list by name (enter keeps it, esc clears it)',
  '  ?             this help',
  '  q             quit (ctrl+c too)',
  '',
  'A Degraded pool has fewer active members than its minActive; an Unavailable one has members and none active.',
  'Everything updates live from the reconciler; NO_COLOR turns colour off.',
];

export function HelpView({ height }: { height: number }): ReactNode {
  return <Lines lines={HELP_LINES.slice(0, height)} height={height} />;
}
