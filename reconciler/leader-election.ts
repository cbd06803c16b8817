// One leader among the reconcilers on one etcd (DESIGN §9). The leader key is created by a
// transaction that succeeds only while the key does not exist, on an etcd lease of about --ttl
// that its holder keeps alive: whoever created it leads until it resigns (a clean stop revokes
// the lease) or the lease ends (kill -9: at most one TTL later). The others watch the key and
// campaign again as soon as it goes. Writes that only the leader may make are fenced by fence().
import type { Etcd3, ICompare, IKeyValue, Lease, Watcher } from 'etcd3';
import { SerialRuns } from '../service/serial-runs.js';
import { callEtcd } from './etcd-client.js';

export interface LeaderInfo {
  /** The leader's reconciler id (the one that names its beats keys). */
  id: string;
  /** The URL the leader serves, once it listens; null before. */
  url: string | null;
}

export interface LeaderElectionOptions {
  client: Etcd3;
  /** The leader key, `<prefix>leader`. */
  key: string;
  id: string;
  ttlSeconds: number;
  callTimeoutMs: number;
  /** Called when this reconciler starts or stops leading (not on stop()). */
  onLeading: (leading: boolean) => void;
  log: (line: string, level: 'info' | 'warn') => void;
}

/** How soon a campaign that etcd did not answer is tried again. */
const RETRY_MS = 1000;

export class LeaderElection {
  private readonly key: Buffer;
  private lease: Lease | null = null;
  private leaseId: string | null = null;
  /** The create revision of the leader key while this reconciler holds it; null while it does not lead. */
  private heldRevision: number | null = null;
  private current: LeaderInfo | null = null;
  private url: string | null = null;
  private watcher: Watcher | null = null;
  /** Bumped on every (re)start of the watch: events of an older one are dropped. */
  private watchGeneration = 0;
  /** One campaign at a time; a call during one runs another after it (the key may have moved meanwhile). */
  private readonly campaigns = new SerialRuns(() =>
    this.campaignOnce().catch((error: unknown) => {
      this.options.log(`leader election: ${(error as Error).message}; trying again`, 'warn');
      this.retryLater();
    }),
  );
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: LeaderElectionOptions) {
    this.key = Buffer.from(options.key);
  }

  /** The first campaign: resolves once this reconciler leads or knows who does; throws StoreUnavailable when etcd does not answer. */
  async start(): Promise<void> {
    this.stopped = false;
    const first = this.campaignOnce();
    this.campaigns.adopt(first.catch(() => undefined));
    await first;
  }

  /** The leader as this reconciler last saw it; null while there is none. */
  leader(): LeaderInfo | null {
    return this.current === null ? null : { ...this.current };
  }

  get leading(): boolean {
    return this.heldRevision !== null;
  }

  /** A txn compare that holds only while this reconciler leads: a write fenced by it never lands after a takeover. */
  fence(): ICompare | null {
    if (this.heldRevision === null) return null;
    return { key: this.key, target: 'Create', result: 'Equal', create_revision: this.heldRevision };
  }

  /** Announces the URL this reconciler serves with its leadership (now, if it leads). */
  async advertise(url: string): Promise<void> {
    this.url = url;
    const fence = this.fence();
    const leaseId = this.leaseId;
    if (fence === null || leaseId === null) return;
    const value = this.value();
    await callEtcd('leader url', this.options.callTimeoutMs, (options) =>
      this.options.client.kv.txn({ compare: [fence], success: [{ request_put: { key: this.key, value, lease: leaseId } }], failure: [] }, options),
    );
    if (this.heldRevision !== null) this.current = { id: this.options.id, url };
  }

  /** Resigns (the lease is revoked, so another reconciler leads at once) and stops watching. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopWatch();
    await this.campaigns.current;
    this.heldRevision = null;
    this.current = null;
    const lease = this.lease;
    this.lease = null;
    this.leaseId = null;
    if (lease !== null) await callEtcd('resign', this.options.callTimeoutMs, (options) => lease.revoke(options)).catch(() => lease.release());
  }

  private campaign(): void {
    if (!this.stopped) this.campaigns.run();
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.campaign();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Creates the leader key if there is none, else learns who holds it; then watches it. */
  private async campaignOnce(): Promise<void> {
    const leaseId = await this.ensureLease();
    const { client, callTimeoutMs } = this.options;
    const response = await callEtcd('campaign', callTimeoutMs, (options) =>
      client.kv.txn(
        {
          compare: [{ key: this.key, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: this.key, value: this.value(), lease: leaseId } }],
          failure: [{ request_range: { key: this.key } }],
        },
        options,
      ),
    );
    if (this.stopped) return;
    const revision = Number(response.header.revision);
    if (response.succeeded) {
      this.current = { id: this.options.id, url: this.url };
      this.hold(revision);
    } else {
      const kv = response.responses[0]?.response_range.kvs[0];
      this.current = kv === undefined ? null : parseLeader(kv);
      // Our own key, found again after a broken watch: still ours while our lease lives.
      this.hold(kv !== undefined && String(kv.lease) === leaseId ? Number(kv.create_revision) : null);
    }
    this.watchFrom(revision);
  }

  private watchFrom(revision: number): void {
    this.stopWatch();
    const generation = ++this.watchGeneration;
    const watcher = this.options.client.watch().key(this.key).startRevision(String(revision + 1)).watcher();
    this.watcher = watcher;
    watcher.on('put', (kv: IKeyValue) => {
      if (generation !== this.watchGeneration) return;
      this.current = parseLeader(kv);
      if (this.heldRevision !== null && Number(kv.create_revision) !== this.heldRevision) this.hold(null);
    });
    watcher.on('delete', () => {
      if (generation !== this.watchGeneration) return;
      // The leader resigned or its lease ended (ours too, if we led): campaign now.
      this.current = null;
      this.hold(null);
      this.campaign();
    });
    // A watch etcd cancelled (compacted) or that broke: campaigning reads the key again.
    watcher.on('error', (error: Error) => {
      if (generation !== this.watchGeneration || this.stopped) return;
      this.options.log(`leader election: the watch of ${this.options.key} broke (${error.message}); reading it again`, 'warn');
      this.stopWatch();
      this.campaign();
    });
  }

  private stopWatch(): void {
    this.watchGeneration++;
    const watcher = this.watcher;
    this.watcher = null;
    if (watcher !== null) void watcher.cancel().catch(() => {});
  }

  private async ensureLease(): Promise<string> {
    if (this.lease !== null && this.leaseId !== null) return this.leaseId;
    const lease = this.options.client.lease(this.options.ttlSeconds);
    lease.on('lost', (error: Error) => {
      if (this.lease !== lease) return;
      // The key hung on it is gone (or going): whoever leads now, it is not this reconciler.
      this.lease = null;
      this.leaseId = null;
      if (this.heldRevision !== null) this.options.log(`leader election: lost the leader lease (${error.message})`, 'warn');
      this.hold(null);
      this.campaign();
    });
    try {
      const id = await callEtcd('lease grant', this.options.callTimeoutMs, () => lease.grant());
      this.lease = lease;
      this.leaseId = String(id);
      return this.leaseId;
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  private hold(revision: number | null): void {
    const was = this.heldRevision !== null;
    this.heldRevision = revision;
    const now = revision !== null;
    if (was === now || this.stopped) return;
    this.options.log(now ? `leader election: ${this.options.id} leads` : `leader election: ${this.options.id} no longer leads`, 'info');
    this.options.onLeading(now);
  }

  private value(): Buffer {
    return Buffer.from(JSON.stringify({ id: this.options.id, url: this.url }));
  }
}

/** The leader key's value; a value written by hand that is not ours is shown as its text. */
function parseLeader(kv: IKeyValue): LeaderInfo {
  const text = kv.value.toString();
  try {
    const value = JSON.parse(text) as Partial<LeaderInfo>;
    if (typeof value.id === 'string') return { id: value.id, url: typeof value.url === 'string' ? value.url : null };
  } catch {
    // not JSON: fall through
  }
  return { id: text, url: null };
}
