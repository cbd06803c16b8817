// The top and bottom lines of the screen: tabs, served revision and connection on top; the key
// hints, the filter being typed, the apply question or a notice at the bottom.
import { shortRevision } from '../../schema/revision.js';
import { measureWidth, paint } from '../format/color.js';
import type { Connection } from './banner.js';
import { formatKeyHints, type KeyMode } from './keys.js';
import type { Tab } from './state.js';

const TAB_LABEL: Record<Tab, string> = { pools: 'Pools', members: 'Members', plan: 'Plan' };
const TAB_ORDER: readonly Tab[] = ['pools', 'members', 'plan'];

export interface HeaderInput {
  tab: Tab;
  /** The served (last good) revision. */
  revision: string | null;
  llmCount: number;
  connection: Connection;
  /** The filter of the list on screen, '' for none. */
  filter: string;
  width: number;
  color: boolean;
}

export function formatConnection(connection: Connection, color: boolean): string {
  switch (connection.state) {
    case 'live':
      return paint('● live', 'green', color);
    case 'connecting':
      return paint('○ connecting', 'yellow', color);
    case 'unreachable':
      return paint('✗ offline', 'red', color);
  }
}

/** `mcpctl  [Pools]  Members   Plan        rev 3f2c1e9 · 6 llms · ● live`; the active tab in brackets. */
export function formatHeaderLine(input: HeaderInput): string {
  const { color } = input;
  const tabs = TAB_ORDER.map((t) => (t === input.tab ? paint(`[${TAB_LABEL[t]}]`, 'bold', color) : ` ${TAB_LABEL[t]} `)).join(' ');
  const filter = input.filter === '' ? '' : `  ${paint(`/${input.filter}`, 'cyan', color)}`;
  const left = `${paint('mcpctl', 'bold', color)}  ${tabs}${filter}`;
  const leftWidth = measureWidth(left);
  const connection = formatConnection(input.connection, color);
  const connectionWidth = measureWidth(connection);
  const revision = `rev ${shortRevision(input.revision)}`;
  const count = `${input.llmCount} llm${input.llmCount === 1 ? '' : 's'}`;
  for (const right of [[revision, count], [revision], []]) {
    const plain = [...right, ''].join(' · ');
    const width = plain.length + connectionWidth;
    if (leftWidth + 2 + width <= input.width) {
      return `${left}${' '.repeat(input.width - leftWidth - width)}${paint(plain, 'dim', color)}${connection}`;
    }
  }
  return left;
}

export interface FooterInput {
  mode: KeyMode;
  tab: Tab;
  detail: boolean;
  /** The filter being typed (mode `filter`). */
  filter: string;
  notice: string | null;
  /** The summary line of the plan awaiting confirmation (mode `confirm`). */
  planLine: string | null;
  color: boolean;
}

export function formatFooterLine(input: FooterInput): string {
  const { color } = input;
  const hints = paint(formatKeyHints(input.mode, input.tab, input.detail), 'dim', color);
  if (input.mode === 'filter') return `${paint('/', 'cyan', color)}${input.filter}▏  ${hints}`;
  if (input.mode === 'confirm') return `${paint(`Apply? ${input.planLine ?? ''}`.trimEnd(), 'bold', color)}  ${hints}`;
  if (input.notice !== null) return paint(input.notice, 'yellow', color);
  return hints;
}
