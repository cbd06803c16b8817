// The Members tab: the members of the pool under the Pools cursor.
import type { ReactNode } from 'react';
import { formatMembersView, type MembersModel } from '../member-rows.js';
import { Lines } from './lines.js';

export interface MembersViewProps {
  model: MembersModel | null;
  poolKey: string | null;
  selected: string | null;
  width: number;
  height: number;
  color: boolean;
  nowMs: number;
  /** Requests in flight per member from the gateways; null: no gateway known. */
  inFlight: ReadonlyMap<string, number> | null;
}

export function MembersView(props: MembersViewProps): ReactNode {
  if (props.model === null) {
    const text =
      props.poolKey === null
        ? 'No pool selected: pick one on the Pools tab (tab or esc) and press enter.'
        : `Pool ${props.poolKey} has no members yet: only an LlmPool names it.`;
    return <Lines lines={[text]} height={props.height} />;
  }
  const view = formatMembersView(props.model, props.selected, { width: props.width, height: props.height, color: props.color, nowMs: props.nowMs, inFlight: props.inFlight });
  return <Lines lines={[...view.header, ...view.lines]} height={props.height} />;
}
