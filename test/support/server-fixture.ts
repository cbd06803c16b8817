// Replays a recorded model server (fixtures/servers/*.json) on a real HTTP server at 127.0.0.1:0:
// each route answers the recorded status, content type and body byte for byte; a route under
// `auth.guards` answers `auth.unauthorized` unless the request bears `auth.apiKey`; any other
// route is a 404, as on the real servers.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

interface RecordedAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface ServerFixture {
  /** Which server and version the answers mirror. */
  mirrors: string;
  routes: Record<string, RecordedAnswer>;
  auth?: { apiKey: string; guards: string; unauthorized: RecordedAnswer };
}

export interface ReplayedServer {
  origin: string;
  /** `METHOD path authorization` of each request, in order. */
  requests: string[];
  close(): Promise<void>;
}

const fixturesDir = fileURLToPath(new URL('../../fixtures/servers/', import.meta.url));

export function readServerFixture(name: string): ServerFixture {
  return JSON.parse(readFileSync(`${fixturesDir}${name}.json`, 'utf8')) as ServerFixture;
}

export async function replayServer(name: string): Promise<ReplayedServer> {
  const fixture = readServerFixture(name);
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://fixture').pathname;
    requests.push(`${request.method ?? 'GET'} ${path} ${request.headers.authorization ?? '-'}`);
    const auth = fixture.auth;
    const refused = auth !== undefined && path.startsWith(auth.guards) && request.headers.authorization !== `Bearer ${auth.apiKey}`;
    const answer = refused ? auth.unauthorized : fixture.routes[`${request.method ?? 'GET'} ${path}`];
    if (answer === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'File Not Found', type: 'not_found_error', code: 404 } }));
      return;
    }
    response.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': Buffer.byteLength(answer.body) }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
