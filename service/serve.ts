// What every long-running service does around its HTTP server: listen on a parsed address (the
// real port when it asked for 0) and wait for SIGTERM or SIGINT to shut down; and a free loopback
// port for what must be told its port up front (etcd's URLs).
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import type { ListenAddress } from './listen-address.js';

/** Listens on `address`; rejects with the listen error (EADDRINUSE, EACCES) instead of emitting it. */
export function listenOn(server: Server, address: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Resolves with the first SIGTERM or SIGINT, and stops listening for them. */
export function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** A loopback port nobody listens on right now (bound on port 0, then closed). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
