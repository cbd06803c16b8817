// GET /watch: a Kubernetes-style watch over server-sent events (DESIGN §3). On connect every
// current Llm as ADDED, then ADDED/MODIFIED/DELETED on real changes, STATUS when the revision
// or its errors change, and a comment line every keepAliveMs so that proxies keep it open.
import type { FastifyPluginAsync } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { WatchEvent } from '../effective-state.js';
import { buildStatusAnswer } from '../status-answer.js';

/** A client that lets this much pile up unread is dropped; it reconnects and re-lists. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const INITIAL_SLICE = 500;

export const watchRoutes: FastifyPluginAsync<{ keepAliveMs: number }> = async (app, options) => {
  const { state, desired } = app.services;
  const open = new Set<ServerResponse>();

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
      if (event.type === 'STATUS') send(formatEvent('STATUS', buildStatusAnswer(desired.status(), state.counts())));
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
    const keepAlive = setInterval(() => send(': keep-alive\n\n'), options.keepAliveMs);
    keepAlive.unref();

    const cleanup = (): void => {
      clearInterval(keepAlive);
      unsubscribe();
      open.delete(raw);
    };
    // The response's close (not the request's, which fires once a GET is read) is the client leaving.
    raw.on('close', cleanup);
  });
};

function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
