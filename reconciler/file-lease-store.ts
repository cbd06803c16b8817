// A LeaseStore in one JSON file under --state-dir. Every write replaces the file atomically
// (temp file, fsync, rename, fsync of the folder), so a crash leaves the old or the new file,
// never half of one. Durable writes are group-committed: callers that arrive while a write is
// under way share the next one, so a burst of registrations costs a few writes, not one each.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { removeStaleTemps, writeFileAtomic } from '../gitio/atomic-write.js';
import { join } from 'node:path';
import { z } from 'zod';
import { gpuSchema, healthSchema, type Gpu } from '../schema/agent-protocol.js';
import { llmTypeSchema } from '../schema/resources.js';
import { ALWAYS_AVAILABLE, type CasResult, type LeaseList, type LeaseRecord, type LeaseStore, type LeaseWatcher, type LoadUpdate, type StoreAvailability } from './lease-store.js';
import { LocalLeaseTable } from './local-lease-table.js';

export const LEASE_FILE = 'leases.json';
const FORMAT_VERSION = 1;

const storedLlmSchema = z.object({
  name: z.string(),
  poolName: z.string().optional(),
  type: llmTypeSchema,
  model: z.string(),
  url: z.string(),
  health: healthSchema,
  healthMessage: z.string().optional(),
});

const leaseFileSchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  agents: z.array(
    z.object({
      agentId: z.string(),
      leaseId: z.string(),
      host: z.string(),
      version: z.string(),
      gpus: z.array(gpuSchema),
      lastHeartbeatAt: z.number(),
      llms: z.array(storedLlmSchema),
    }),
  ),
});

export interface FileLeaseStoreOptions {
  dir: string;
  /** How long batched (heartbeat) changes may wait before they are written. */
  batchMs?: number;
  /** Reports a failed batched write; durable writes reject their callers instead. */
  onError?: (error: Error) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class FileLeaseStore implements LeaseStore {
  readonly kind = 'file';
  readonly endpoints: readonly string[] = [];
  private readonly table = new LocalLeaseTable();
  private readonly file: string;
  private readonly batchMs: number;
  private loaded = false;
  private dirty = false;
  private writing: Promise<void> | null = null;
  private waiters: Waiter[] = [];
  private batchTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: FileLeaseStoreOptions) {
    this.file = join(options.dir, LEASE_FILE);
    this.batchMs = options.batchMs ?? 2000;
  }

  /** A failed write rejects its caller (or is reported and retried); the store itself stays usable. */
  availability(): StoreAvailability {
    return ALWAYS_AVAILABLE;
  }

  /** The first call reads the file (what the last run left); later ones answer from memory. */
  async list(): Promise<LeaseList> {
    if (!this.loaded) {
      this.table.load(await this.readFile());
      this.loaded = true;
    }
    return this.table.list();
  }

  watch(afterRevision: number, watcher: LeaseWatcher): () => void {
    return this.table.watch(afterRevision, watcher);
  }

  compareAndSet(agentId: string, expectedRevision: number, next: LeaseRecord | null): Promise<CasResult> {
    const result = this.table.compareAndSet(agentId, expectedRevision, next);
    if (!result.ok) return Promise.resolve(result);
    return this.commit().then(() => result);
  }

  putLater(expectedRevision: number, next: LeaseRecord): CasResult {
    const result = this.table.compareAndSet(next.agentId, expectedRevision, next);
    if (result.ok) this.scheduleBatch();
    return result;
  }

  touch(agentId: string, lastHeartbeatAt: number, gpus?: Gpu[], loads?: readonly LoadUpdate[]): boolean {
    if (!this.table.touch(agentId, lastHeartbeatAt, gpus, loads)) return false;
    this.scheduleBatch();
    return true;
  }

  async flush(): Promise<void> {
    if (this.batchTimer !== null) {
      clearTimeout(this.batchTimer);
      this.batchTimer = null;
    }
    if (this.dirty) await this.commit();
    else if (this.writing !== null) await this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private async readFile(): Promise<LeaseRecord[]> {
    await mkdir(this.options.dir, { recursive: true });
    // Temp files are only ever complete after their rename; leftovers are from a crash mid-write
    // (`leases.json.tmp-*` is how versions before gitio/ named them).
    await removeStaleTemps(this.file);
    for (const entry of await readdir(this.options.dir)) {
      if (entry.startsWith(`${LEASE_FILE}.tmp-`)) await rm(join(this.options.dir, entry), { force: true });
    }
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`${this.file}: not valid JSON (${(error as Error).message}); move it away to start with no registrations`);
    }
    const parsed = leaseFileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined ? '' : `${issue.path.join('.')}: ${issue.message}`;
      throw new Error(`${this.file}: unexpected content (${where}); move it away to start with no registrations`);
    }
    return parsed.data.agents.map(stripUndefined);
  }

  /** Resolves once a write that started after this call has reached the disk. */
  private commit(): Promise<void> {
    this.dirty = true;
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.startWrite();
    });
  }

  private scheduleBatch(): void {
    this.dirty = true;
    if (this.batchTimer !== null) return;
    this.batchTimer = setTimeout(() => {
      this.batchTimer = null;
      this.commit().catch((error: unknown) => this.options.onError?.(error as Error));
    }, this.batchMs);
    this.batchTimer.unref();
  }

  private startWrite(): void {
    if (this.writing !== null || !this.dirty) return;
    // The snapshot is taken now, synchronously: everything put before this point is in it.
    const text = this.serialize();
    const waiters = this.waiters;
    this.waiters = [];
    this.dirty = false;
    this.writing = this.writeAtomically(text).then(
      () => {
        for (const waiter of waiters) waiter.resolve();
      },
      (error: unknown) => {
        this.dirty = true;
        for (const waiter of waiters) waiter.reject(error as Error);
      },
    );
    void this.writing.finally(() => {
      this.writing = null;
      if (this.waiters.length > 0) this.startWrite();
    });
  }

  private serialize(): string {
    const agents = this.table.sortedRecords();
    return `${JSON.stringify({ formatVersion: FORMAT_VERSION, agents })}\n`;
  }

  private writeAtomically(text: string): Promise<void> {
    return writeFileAtomic(this.file, text, { mode: 0o600, durable: true });
  }
}

function stripUndefined(agent: z.infer<typeof leaseFileSchema>['agents'][number]): LeaseRecord {
  return {
    ...agent,
    llms: agent.llms.map((llm) => {
      const out: LeaseRecord['llms'][number] = { name: llm.name, type: llm.type, model: llm.model, url: llm.url, health: llm.health };
      if (llm.poolName !== undefined) out.poolName = llm.poolName;
      if (llm.healthMessage !== undefined) out.healthMessage = llm.healthMessage;
      return out;
    }),
  };
}
