// The gateway's view of the fleet: the informer of client/ (list, then /api/v1/watch, re-list on
// every reconnect) feeding an Llm cache, and the route table built from it. While the reconciler
// is away the last view stays in use: a gateway that still routes must not go dark because the
// control plane blinked.
import { INFORMER_BACKOFF, runInformer, sleepUnlessAborted, type InformerSink, type InformerSource, type Snapshot } from '../client/informer.js';
import { applyCacheEvent, applyHeartbeats, createCache, relistCache, type LlmCache } from '../client/llm-cache.js';
import type { ReconcilerApi } from '../client/reconciler-client.js';
import type { WatchEvent } from '../client/watch-stream.js';
import type { BackoffPolicy } from '../client/backoff.js';
import { buildRouteTable, type RouteTable } from './route-table.js';

export interface FollowerOptions {
  reconciler: ReconcilerApi;
  /** Transitions worth a log line: first view, reconciler lost, reconciler back. */
  log(level: 'info' | 'warn', line: string): void;
  now?: () => number;
  backoff?: BackoffPolicy;
  /** How often to list again while watching (a missed event heals by then); default 30 s. */
  resyncMs?: number;
}

export interface Readiness {
  /** A first view was loaded: the gateway can route. */
  loaded: boolean;
  /** When the reconciler was last found unreachable, while it still is; null while connected. */
  unreachableSinceMs: number | null;
  /** Why, while unreachable. */
  reason: string | null;
}

export class ReconcilerFollower {
  private cache: LlmCache = createCache([]);
  private poolKeys: string[] = [];
  private table: RouteTable = buildRouteTable([]);
  private loaded = false;
  private unreachableSinceMs: number | null = null;
  private reason: string | null = null;
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: FollowerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts following; resolves at once (the first view arrives through `onChange`). */
  start(): void {
    if (this.running !== null) return;
    const source = sourceOf(this.options.reconciler);
    const sink: InformerSink = {
      connecting: () => undefined,
      listed: (snapshot) => this.listed(snapshot),
      event: (event) => this.event(event),
      policies: (pools) => this.setPoolKeys(pools.map((p) => p.key)),
      unreachable: (message) => this.unreachable(message),
    };
    this.running = runInformer(source, sink, this.stop.signal, {
      sleep: sleepUnlessAborted,
      backoff: this.options.backoff ?? INFORMER_BACKOFF,
      resyncMs: this.options.resyncMs ?? 30_000,
    });
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  routes(): RouteTable {
    return this.table;
  }

  readiness(): Readiness {
    return { loaded: this.loaded, unreachableSinceMs: this.unreachableSinceMs, reason: this.reason };
  }

  /** Called after every change of the route table; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private listed(snapshot: Snapshot): void {
    if (this.unreachableSinceMs !== null) {
      this.options.log('info', `reconciler ${this.options.reconciler.server} is back; routing on its current view`);
      this.unreachableSinceMs = null;
      this.reason = null;
    }
    if (!this.loaded) this.options.log('info', `first view of ${this.options.reconciler.server}: ${snapshot.llms.length} Llm(s) in ${snapshot.pools.length} pool(s)`);
    this.loaded = true;
    const next = relistCache(this.cache, snapshot.llms);
    const keys = snapshot.pools.map((p) => p.key);
    this.setCache(next, keys);
  }

  private event(event: WatchEvent): void {
    if (event.type === 'STATUS') return;
    const next = event.type === 'HEARTBEAT' ? applyHeartbeats(this.cache, event.agents, event.loads) : applyCacheEvent(this.cache, event);
    this.setCache(next, this.poolKeys);
  }

  private setPoolKeys(keys: string[]): void {
    this.setCache(this.cache, keys);
  }

  private setCache(cache: LlmCache, poolKeys: string[]): void {
    const keysChanged = poolKeys.length !== this.poolKeys.length || poolKeys.some((k, i) => k !== this.poolKeys[i]);
    if (cache === this.cache && !keysChanged) return;
    this.cache = cache;
    this.poolKeys = poolKeys;
    this.table = buildRouteTable(cache.values(), poolKeys);
    for (const listener of this.listeners) listener();
  }

  private unreachable(message: string): void {
    if (this.unreachableSinceMs === null) {
      this.unreachableSinceMs = this.now();
      this.options.log('warn', this.loaded ? `${message}; routing on the last view until it is back` : `${message}; no view yet, nothing to route`);
    }
    this.reason = message;
  }
}

function sourceOf(reconciler: ReconcilerApi): InformerSource {
  return {
    async list() {
      const [llms, pools, status] = await Promise.all([reconciler.listLlms(), reconciler.listPools(), reconciler.status()]);
      return { llms: llms.items, pools: pools.items, status };
    },
    async listPools() {
      return (await reconciler.listPools()).items;
    },
    watch: (onEvent, signal) => reconciler.watch(onEvent, signal),
  };
}
