// The container: owns the reducer, runs the informer (list, then watch, reconnect with backoff),
// the clock tick and the terminal size, and publishes the state and the actions in two contexts.
import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, type ReactNode } from 'react';
import { useApp, useStdout } from 'ink';
import { RESYNC_MS, runInformer, sleepUnlessAborted, type InformerOptions } from '../../client/informer.js';
import type { TuiDataSource } from './data-source.js';
import { intentOfKey, keyModeOf, type KeyPress } from './keys.js';
import { reduceTui, type TuiAction } from './reducer.js';
import { createInitialState, TABS, type TuiState } from './state.js';

export interface TuiActions {
  dispatch(action: TuiAction): void;
  /** A key press, read in the mode of the newest state (not of the last rendered frame). */
  handleKey(input: string, key: KeyPress): void;
  /** Plans the working tree against the reconciler (the Plan tab shows it). */
  plan(): void;
  /** `a`: asks to confirm the plan on screen, or plans first when there is none. */
  requestApply(): void;
  /** `y` at the question: writes, commits, pushes, syncs and waits, reporting each step. */
  confirmApply(): void;
  /** `tab`: the Plan tab plans on its first visit. */
  switchTab(direction: 1 | -1): void;
  quit(): void;
}

const StateContext = createContext<TuiState | null>(null);
const ActionsContext = createContext<TuiActions | null>(null);

export function useTuiState(): TuiState {
  const state = useContext(StateContext);
  if (state === null) throw new Error('useTuiState must be used inside <TuiProvider>');
  return state;
}

export function useTuiActions(): TuiActions {
  const actions = useContext(ActionsContext);
  if (actions === null) throw new Error('useTuiActions must be used inside <TuiProvider>');
  return actions;
}

export interface TuiProviderProps {
  source: TuiDataSource;
  color: boolean;
  /** A fixed terminal size (tests); without it, the output stream's, followed on resize. */
  size?: { columns: number; rows: number } | undefined;
  now?: (() => number) | undefined;
  /** How often ages and countdowns refresh; 0 turns the tick off (tests pin the clock). */
  tickMs?: number | undefined;
  sleep?: InformerOptions['sleep'] | undefined;
  /** How often to list again while watching, for fresh heartbeat ages; 0 turns it off. */
  resyncMs?: number | undefined;
  /** How often to ask the gateways for requests in flight (when the source knows any). */
  inFlightPollMs?: number | undefined;
  children: ReactNode;
}

export const DEFAULT_TICK_MS = 1000;
export const DEFAULT_IN_FLIGHT_POLL_MS = 1000;

export function TuiProvider(props: TuiProviderProps): ReactNode {
  const { source, color } = props;
  const now = props.now ?? Date.now;
  const tickMs = props.tickMs ?? DEFAULT_TICK_MS;
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [state, dispatchToReact] = useReducer(reduceTui, undefined, () =>
    createInitialState({
      color,
      server: source.server,
      nowMs: now(),
      columns: props.size?.columns ?? stdout.columns ?? 80,
      rows: props.size?.rows ?? stdout.rows ?? 24,
    }),
  );
  // Keys and async work read the newest state: the ref runs the same pure reducer eagerly, so a
  // key that follows another at once (`a` then `y`) sees the first one's effect even before
  // React has rendered it.
  const stateRef = useRef(state);
  const dispatch = useCallback((action: TuiAction): void => {
    stateRef.current = reduceTui(stateRef.current, action);
    dispatchToReact(action);
  }, []);
  const planRequests = useRef(0);

  useEffect(() => {
    const controller = new AbortController();
    const sleep = props.sleep ?? sleepUnlessAborted;
    void runInformer(
      source,
      {
        connecting: () => dispatch({ type: 'connecting' }),
        listed: (snapshot) => dispatch({ type: 'listed', snapshot }),
        event: (event) => dispatch({ type: 'watchEvent', event }),
        policies: (pools) => dispatch({ type: 'policies', pools }),
        unreachable: (message, retryInMs) => dispatch({ type: 'unreachable', message, retryAtMs: now() + retryInMs }),
      },
      controller.signal,
      { sleep, resyncMs: props.resyncMs ?? RESYNC_MS },
    );
    return () => controller.abort();
    // The informer lives as long as its source; a new clock or sleep does not restart it.
  }, [source]);

  // The gateways' in-flight counts: polled, since no gateway streams them.
  const inFlightPollMs = props.inFlightPollMs ?? DEFAULT_IN_FLIGHT_POLL_MS;
  useEffect(() => {
    const read = source.inFlight;
    if (read === undefined || inFlightPollMs <= 0) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = (): void => {
      read().then(
        (reading) => {
          if (!stopped) dispatch({ type: 'inFlight', counts: reading.unreachable.length === reading.gateways ? null : reading.counts });
        },
        () => {
          if (!stopped) dispatch({ type: 'inFlight', counts: null });
        },
      ).finally(() => {
        if (!stopped) timer = setTimeout(poll, inFlightPollMs);
      });
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [source, inFlightPollMs]);

  useEffect(() => {
    if (tickMs <= 0) return;
    const timer = setInterval(() => dispatch({ type: 'tick', nowMs: now() }), tickMs);
    return () => clearInterval(timer);
  }, [tickMs]);

  const fixedSize = props.size;
  useEffect(() => {
    if (fixedSize !== undefined) {
      dispatch({ type: 'resize', columns: fixedSize.columns, rows: fixedSize.rows });
      return;
    }
    const onResize = (): void => dispatch({ type: 'resize', columns: stdout.columns ?? 80, rows: stdout.rows ?? 24 });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixedSize?.columns, fixedSize?.rows]);

  const actions = useMemo<TuiActions>(() => {
    const plan = (afterApply = false): void => {
      const requestId = ++planRequests.current;
      dispatch({ type: 'planStarted', requestId, afterApply });
      source.plan().then(
        (result) => dispatch({ type: 'planLoaded', requestId, result }),
        (error: unknown) => dispatch({ type: 'planFailed', requestId, message: messageOf(error) }),
      );
    };
    const actions: TuiActions = {
      dispatch,
      handleKey: (input, key) => {
        const current = stateRef.current;
        const intent = intentOfKey(input, key, keyModeOf(current));
        if (intent === null) return;
        if (current.notice !== null) dispatch({ type: 'notice', message: null });
        switch (intent.type) {
          case 'plan':
            return actions.plan();
          case 'apply':
            return actions.requestApply();
          case 'confirmApply':
            return actions.confirmApply();
          case 'switchTab':
            return actions.switchTab(intent.direction);
          case 'quit':
            return actions.quit();
          default:
            return dispatch(intent);
        }
      },
      plan: () => plan(),
      requestApply: () => {
        const current = stateRef.current;
        if (current.plan.state === 'idle' || current.plan.state === 'failed') {
          plan();
          dispatch({ type: 'notice', message: 'review the plan, then press a to apply it' });
        } else if (current.plan.state === 'loading') {
          dispatch({ type: 'notice', message: 'still planning; press a again once the plan shows' });
        } else {
          dispatch({ type: 'askApply' });
        }
      },
      confirmApply: () => {
        const current = stateRef.current;
        if (current.apply.state !== 'confirm' || current.plan.state !== 'ready') return;
        const planned = current.plan.result;
        dispatch({ type: 'applyStarted' });
        source.apply(planned, (progress) => dispatch({ type: 'applyProgress', progress })).then(
          (outcome) => {
            dispatch({ type: 'applyFinished', outcome });
            if (outcome.ok) plan(true);
          },
          (error: unknown) => dispatch({ type: 'applyFinished', outcome: { ok: false, message: `apply failed: ${messageOf(error)}` } }),
        );
      },
      switchTab: (direction) => {
        const current = stateRef.current;
        const next = TABS[(TABS.indexOf(current.tab) + direction + TABS.length) % TABS.length];
        if (next === 'plan' && current.plan.state === 'idle') plan();
        else dispatch({ type: 'switchTab', direction });
      },
      quit: () => exit(),
    };
    return actions;
  }, [source, exit, dispatch]);

  return (
    <ActionsContext.Provider value={actions}>
      <StateContext.Provider value={state}>{props.children}</StateContext.Provider>
    </ActionsContext.Provider>
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
