// An engine's load as the CLI shows it (describe, `get llm -o wide`, the TUI's member rows): `-`
// for a figure it does not report, and for an Llm whose engine reports no load at all.
import type { LlmView } from '../../schema/views.js';

export type LoadView = NonNullable<NonNullable<LlmView['status']['agent']>['load']>;

const NONE = '-';

/** `3` requests, or `-`. */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : String(Math.round(value));
}

/** `42%` of the KV cache in use, or `-`. */
export function formatKvCache(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : `${Math.round(value * 100)}%`;
}

/** `3 running, 1 waiting, KV cache 42%`; `-` when the engine reports no load. */
export function formatLoad(load: LoadView | null | undefined): string {
  if (load === null || load === undefined) return NONE;
  return `${formatCount(load.running)} running, ${formatCount(load.waiting)} waiting, KV cache ${formatKvCache(load.kvCacheUsage)}`;
}

/** The load of a view's agent, if it reports one. */
export function loadOfView(view: LlmView): LoadView | null {
  return view.status.agent?.load ?? null;
}
