// Reloads the agent config when its file changes: a valid edit is handed on, a broken one is
// reported and the running config stays.
import { basename, dirname, resolve } from 'node:path';
import { watch } from 'chokidar';
import { SerialRuns } from '../service/serial-runs.js';
import type { AgentConfigLoad, AgentSettings } from './config.js';

export interface ConfigWatchOptions {
  file: string;
  /** Editors save in bursts (truncate, write, rename): wait this long after the last event. */
  debounceMs?: number;
  load(): Promise<AgentConfigLoad>;
  onValid(config: AgentSettings): void;
  onInvalid(errors: string[]): void;
  /** The watcher itself failed (out of inotify watches, say); the running config stays. */
  onWatchError(message: string): void;
}

export interface ConfigWatch {
  /** Resolves once the watcher is listening, so that an edit made right after is not missed. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchAgentConfig(options: ConfigWatchOptions): ConfigWatch {
  const file = resolve(options.file);
  const dir = dirname(file);
  const debounceMs = options.debounceMs ?? 200;
  // The folder is watched rather than the file so that saves by rename (vim, sed -i, atomic
  // writers) keep being seen after the original inode is gone.
  const watcher = watch(dir, {
    ignoreInitial: true,
    depth: 0,
    ignored: (path: string) => path !== dir && resolve(path) !== file,
  });
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reload = async (): Promise<void> => {
    const result = await options.load();
    if (closed) return;
    if (result.ok) options.onValid(result.config);
    else options.onInvalid(result.errors);
  };
  const reloads = new SerialRuns(() =>
    reload().catch((error: unknown) => options.onInvalid([`${basename(file)}: reload failed: ${error instanceof Error ? error.message : String(error)}`])),
  );
  const trigger = (): void => {
    if (!closed) reloads.run();
  };
  const onEvent = (path: string): void => {
    if (resolve(path) !== file) return;
    clearTimeout(timer);
    timer = setTimeout(trigger, debounceMs);
  };
  watcher.on('add', onEvent).on('change', onEvent);
  // Without a listener an 'error' event would end the process; losing reloads must not.
  watcher.on('error', (error) => options.onWatchError(error instanceof Error ? error.message : String(error)));
  const ready = new Promise<void>((done) => watcher.once('ready', () => done()));

  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
      await reloads.current;
    },
  };
}
