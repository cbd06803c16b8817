// The Pools tab: every pool with its numbers and bar, then the solo Llms.
import type { ReactNode } from 'react';
import { formatPoolsView, type PoolsModel } from '../pool-rows.js';
import { Lines } from './lines.js';

export interface PoolsViewProps {
  model: PoolsModel;
  selected: string | null;
  listed: boolean;
  server: string;
  filter: string;
  width: number;
  height: number;
  color: boolean;
  /** Requests in flight per member from the gateways; null: no gateway known. */
  inFlight: ReadonlyMap<string, number> | null;
}

export function PoolsView(props: PoolsViewProps): ReactNode {
  const { model } = props;
  if (!props.listed) return <Lines lines={[`Connecting to the reconciler at ${props.server}…`]} height={props.height} />;
  if (model.order.length === 0) {
    const empty =
      props.filter === ''
        ? ['No Llms yet: declare one under llms/ or start an agent.']
        : [`Nothing matches the filter /${props.filter} (esc clears it).`];
    return <Lines lines={empty} height={props.height} />;
  }
  const view = formatPoolsView(model, props.selected, { width: props.width, height: props.height, color: props.color, inFlight: props.inFlight });
  return <Lines lines={[view.header, ...view.lines]} height={props.height} />;
}
