// Renders the whole TUI with ink-testing-library against a FakeSource, with a pinned clock, and
// waits on the frame with predicates (never a fixed sleep).
import { render } from 'ink-testing-library';
import type { InformerOptions } from '../../../client/informer.js';
import { TuiApp } from '../../../cli/tui/app.js';
import { FakeSource } from './fake-source.js';
import { NOW_MS } from './tui-fleet.js';

export const KEYS = {
  up: '\u001b[A',
  down: '\u001b[B',
  enter: '\r',
  escape: '\u001b',
  backspace: '\u007f',
  tab: '\t',
  shiftTab: '\u001b[Z',
  pageDown: '\u001b[6~',
} as const;

export interface RenderOptions {
  columns?: number;
  rows?: number;
  color?: boolean;
  now?: () => number;
  tickMs?: number;
  sleep?: InformerOptions['sleep'];
  /** Off unless a test asks for it. */
  resyncMs?: number;
}

export type Rendered = ReturnType<typeof render> & {
  source: FakeSource;
  /** The current frame (never undefined). */
  frame(): string;
  /** Waits until the frame satisfies `predicate`; fails with the last frame otherwise. */
  waitFor(predicate: (frame: string) => boolean, what?: string): Promise<string>;
  /** Types keys one at a time, letting the app handle each. */
  press(...keys: string[]): Promise<void>;
};

export async function renderTui(source: FakeSource, options: RenderOptions = {}): Promise<Rendered> {
  const instance = render(
    <TuiApp
      source={source}
      color={options.color ?? false}
      size={{ columns: options.columns ?? 80, rows: options.rows ?? 24 }}
      now={options.now ?? (() => NOW_MS)}
      tickMs={options.tickMs ?? 0}
      sleep={options.sleep}
      resyncMs={options.resyncMs ?? 0}
    />,
  );
  const frame = (): string => instance.lastFrame() ?? '';
  const waitFor = async (predicate: (frame: string) => boolean, what = 'the expected frame'): Promise<string> => {
    const deadline = Date.now() + 5_000;
    while (!predicate(frame())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last frame:\n${frame()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return frame();
  };
  const press = async (...keys: string[]): Promise<void> => {
    for (const key of keys) {
      instance.stdin.write(key);
      // Ink flushes a lone ESC on the next check phase (setImmediate), otherwise ESC followed
      // by a key would read as alt+key; let it, and React's render, run before the next key.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const rendered = Object.assign(instance, { source, frame, waitFor, press });
  return rendered;
}
