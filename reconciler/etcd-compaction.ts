// The leader compacts etcd's history now and then (DESIGN §9): etcd keeps every revision until
// it is compacted, and every beats write is one. As the Kubernetes API server does, each tick
// compacts to the revision the previous tick saw, so a watch that lags by less than one
// interval never finds its revision gone; and a few thousand revisions are kept however fast
// they come. A reconciler whose watch lags more lists again (the lease store's informer).
import type { Etcd3 } from 'etcd3';
import { callEtcd } from './etcd-client.js';

export interface CompactionSettings {
  /** How often the leader compacts. Default 5 minutes. */
  intervalMs: number;
  /** Revisions always kept, however young. Default 5,000. */
  keepRevisions: number;
}

export const DEFAULT_COMPACTION: CompactionSettings = { intervalMs: 5 * 60_000, keepRevisions: 5_000 };

export interface CompactionTick {
  /** The revision the previous tick saw; null at the first tick. */
  previousTickRevision: number | null;
  currentRevision: number;
  /** The revision compacted to so far (0: none known). */
  compactedRevision: number;
  keepRevisions: number;
}

/** The revision to compact to at this tick, or null when there is nothing to compact. */
export function compactionTarget(tick: CompactionTick): number | null {
  if (tick.previousTickRevision === null) return null;
  const target = Math.min(tick.previousTickRevision, tick.currentRevision - tick.keepRevisions);
  return target > tick.compactedRevision ? target : null;
}

export interface EtcdCompactorOptions extends CompactionSettings {
  client: Etcd3;
  /** A key whose read gives etcd's current revision (any key: the header carries it). */
  probeKey: string;
  callTimeoutMs: number;
  log: (line: string, level: 'info' | 'warn') => void;
}

export class EtcdCompactor {
  private timer: NodeJS.Timeout | null = null;
  private previousTickRevision: number | null = null;
  private compactedRevision = 0;
  private ticking: Promise<void> | null = null;

  constructor(private readonly options: EtcdCompactorOptions) {}

  /** The first tick only notes the revision; the compactions come with the next ones. */
  start(): void {
    if (this.timer !== null) return;
    this.previousTickRevision = null;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
  }

  /** One tick; never throws (a failed one is logged and the next tick tries again). */
  tick(): Promise<void> {
    this.ticking ??= this.compact().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async compact(): Promise<void> {
    const { client, callTimeoutMs } = this.options;
    try {
      const response = await callEtcd('compaction', callTimeoutMs, (options) => client.kv.range({ key: Buffer.from(this.options.probeKey), keys_only: true }, options));
      const currentRevision = Number(response.header.revision);
      const target = compactionTarget({ previousTickRevision: this.previousTickRevision, currentRevision, compactedRevision: this.compactedRevision, keepRevisions: this.options.keepRevisions });
      this.previousTickRevision = currentRevision;
      if (target === null) return;
      try {
        await callEtcd('compaction', callTimeoutMs, (options) => client.kv.compact({ revision: String(target) }, options));
        this.options.log(`compacted etcd's history up to revision ${target} (now ${currentRevision})`, 'info');
      } catch (error) {
        // Compacted further already (by an earlier leader, or etcd's own --auto-compaction).
        if (!/compacted/i.test((error as Error).message)) throw error;
      }
      this.compactedRevision = target;
    } catch (error) {
      this.options.log(`cannot compact etcd: ${(error as Error).message}`, 'warn');
    }
  }
}
