// The screen: reads the state from the container, passes keys to its actions, and hands plain
// props to the presentational views.
import type { ReactNode } from 'react';
import { Box, useInput } from 'ink';
import { formatPlanLine } from '../format/plan-format.js';
import { Banner, FooterBar, HeaderBar } from './components/bars.js';
import { HelpView } from './components/help-view.js';
import { MembersView } from './components/members-view.js';
import { PoolsView } from './components/pools-view.js';
import { ScrollView } from './components/scroll-view.js';
import { keyModeOf } from './keys.js';
import {
  selectBannerLines,
  selectBodyHeight,
  selectDetailLines,
  selectMember,
  selectMembersModel,
  selectPlanLines,
  selectPoolKey,
  selectPoolsModel,
} from './selectors.js';
import type { TuiState } from './state.js';
import { formatFooterLine, formatHeaderLine } from './status-bars.js';
import { useTuiActions, useTuiState } from './tui-provider.js';

export function TuiScreen(): ReactNode {
  const state = useTuiState();
  const actions = useTuiActions();
  const mode = keyModeOf(state);
  useInput(actions.handleKey);

  const { columns } = state.viewport;
  const height = selectBodyHeight(state);
  const listFilter = state.tab === 'members' ? state.filters.members : state.tab === 'pools' ? state.filters.pools : '';
  const header = formatHeaderLine({
    tab: state.tab,
    revision: state.status?.lastGoodRevision ?? null,
    llmCount: state.llms.size,
    connection: state.connection,
    filter: state.editingFilter ? '' : listFilter,
    width: columns,
    color: state.color,
  });
  const footer = formatFooterLine({
    mode,
    tab: state.tab,
    detail: state.detail !== null,
    filter: listFilter,
    notice: state.notice,
    planLine: state.plan.state === 'ready' ? formatPlanLine(state.plan.result.plan) : null,
    color: state.color,
  });
  return (
    <Box flexDirection="column" width={columns}>
      <HeaderBar line={header} />
      <Banner lines={selectBannerLines(state)} />
      <Body state={state} height={height} />
      <FooterBar line={footer} />
    </Box>
  );
}

function Body({ state, height }: { state: TuiState; height: number }): ReactNode {
  const { columns } = state.viewport;
  if (state.help) return <HelpView height={height} />;
  if (state.detail !== null) return <ScrollView lines={selectDetailLines(state)} scroll={state.scroll} height={height} />;
  switch (state.tab) {
    case 'pools':
      return (
        <PoolsView
          model={selectPoolsModel(state)}
          selected={selectPoolKey(state)}
          listed={state.listed}
          server={state.server}
          filter={state.filters.pools}
          width={columns}
          height={height}
          color={state.color}
          inFlight={state.inFlight}
        />
      );
    case 'members':
      return (
        <MembersView
          model={selectMembersModel(state)}
          poolKey={selectPoolKey(state)}
          selected={selectMember(state)}
          width={columns}
          height={height}
          color={state.color}
          nowMs={state.nowMs}
          inFlight={state.inFlight}
        />
      );
    case 'plan':
      return <ScrollView lines={selectPlanLines(state)} scroll={state.scroll} height={height} />;
  }
}
