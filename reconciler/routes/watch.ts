// GET /watch: a Kubernetes-style watch over server-sent events (DESIGN §3). On connect every
// current Llm as ADDED, then ADDED/MODIFIED/DELETED on real changes, STATUS when the revision
// or its errors change, and a comment line every keepAliveMs so that proxies keep it open.
// Heartbeats are not changes (a beat that changes nothing sends no MODIFIED), but a watcher that
// shows heartbeat ages needs them: once a second, while anyone watches, one HEARTBEAT event
// carries the agents that beat since the last one, `{agents: {ID: lastHeartbeatAt}}`, and the
// Llms whose engine load moved, `loads: {NAME: load | null}` (load alone is no MODIFIED either).
import type { FastifyPluginAsync } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Load } from '../../schema/agent-protocol.js';
import type { Leases } from '../leases.js';
import type { WatchEvent } from '../effective-state.js';
import { buildStatusAnswer } from '../status-answer.js';

/** A client that lets this much pile up unread is dropped; it reconnects and re-lists. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const INITIAL_SLICE = 500;

export const watchRoutes: FastifyPluginAsync<{ keepAliveMs: number; heartbeatEventMs?: number }> = async (app, options) => {
  const { state, desired, leases } = app.services;
  const open = new Set<ServerResponse>();
  const beats = new HeartbeatTicker(leases, options.heartbeatEventMs ?? HEARTBEAT_EVENT_MS);
  app.addHook('onClose', async () => beats.stop());

  // Streams never end by themselves: close them when the server shuts down.
  app.addHook('preClose', async () => {
    for (const raw of open) raw.end();
    open.clear();
  });

  app.get('/watch', { config: { role: 'view:llms' } }, (request, reply) => {
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    open.add(raw);

    // The initial list may be large; the limit applies to changes piling up behind it.
    let allowedBytes = MAX_BUFFERED_BYTES;
    const send = (chunk: string, listing = false): void => {
      if (raw.writableEnded || raw.destroyed) return;
      if (!listing && raw.writableLength > allowedBytes) {
        request.log.warn('dropping a /watch client that does not read');
        raw.destroy();
        return;
      }
      raw.write(chunk);
    };
    const onEvent = (event: WatchEvent): void => {
      if (event.type === 'STATUS') send(formatEvent('STATUS', buildStatusAnswer(desired.status(), state.counts(), app.services.storeStatus())));
      else send(formatEvent(event.type, event.view));
    };

    // List and subscribe in one synchronous step, so that no change falls between them.
    const initial = state.views();
    const unsubscribe = state.subscribe(onEvent);
    if (initial.length === 0) send(': no Llms yet\n\n', true);
    // In slices, so that a large fleet is not one giant string.
    for (let i = 0; i < initial.length; i += INITIAL_SLICE) {
      send(initial.slice(i, i + INITIAL_SLICE).map((view) => formatEvent('ADDED', view)).join(''), true);
    }
    allowedBytes += raw.writableLength;
    const stopBeats = beats.subscribe((event) => send(formatEvent('HEARTBEAT', event)));
    const keepAlive = setInterval(() => send(': keep-alive\n\n'), options.keepAliveMs);
    keepAlive.unref();

    const cleanup = (): void => {
      clearInterval(keepAlive);
      stopBeats();
      unsubscribe();
      open.delete(raw);
    };
    // The response's close (not the request's, which fires once a GET is read) is the client leaving.
    raw.on('close', cleanup);
  });
};

/** How often watchers hear which agents beat: about the TUI's clock tick. */
export const HEARTBEAT_EVENT_MS = 1000;

/**
 * One timer for all watchers, running only while someone watches: each tick reads every agent's
 * newest heartbeat and hands the ones that moved since the last tick to every subscriber.
 */
class HeartbeatTicker {
  private readonly listeners = new Set<(event: HeartbeatEvent) => void>();
  private timer: NodeJS.Timeout | null = null;
  private last: Beats = { agents: new Map(), loads: new Map() };

  constructor(
    private readonly leases: Pick<Leases, 'readBeats'>,
    private readonly intervalMs: number,
  ) {}

  subscribe(listener: (event: HeartbeatEvent) => void): () => void {
    if (this.listeners.size === 0) {
      this.last = this.read();
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Every agent's newest beat and every held name's load (the stored object: a new one is a move), in one pass. */
  private read(): Beats {
    const beats: Beats = { agents: new Map(), loads: new Map() };
    this.leases.readBeats(
      (agentId, at) => beats.agents.set(agentId, at),
      (name, load) => beats.loads.set(name, load),
    );
    return beats;
  }

  private tick(): void {
    const now = this.read();
    const moved: Record<string, string> = {};
    let any = false;
    for (const [agentId, at] of now.agents) {
      if (this.last.agents.get(agentId) === at) continue;
      moved[agentId] = new Date(at).toISOString();
      any = true;
    }
    let loads: Record<string, Load | null> | undefined;
    for (const [name, load] of now.loads) {
      if (this.last.loads.get(name) === load) continue;
      // A name new since the last tick came with its ADDED view: only a moved load is news.
      if (!this.last.loads.has(name) && load === undefined) continue;
      (loads ??= {})[name] = load ?? null;
    }
    this.last = now;
    if (!any && loads === undefined) return;
    const event: HeartbeatEvent = loads === undefined ? { agents: moved } : { agents: moved, loads };
    for (const listener of this.listeners) listener(event);
  }
}

interface Beats {
  agents: Map<string, number>;
  loads: Map<string, Load | undefined>;
}

interface HeartbeatEvent {
  agents: Record<string, string>;
  loads?: Record<string, Load | null>;
}

function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
