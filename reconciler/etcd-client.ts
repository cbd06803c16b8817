// An etcd3 client for the fleet's election and revision record, and the bound every call gets
// (DESIGN §9: never hang a client on an etcd that does not answer).
import { isIP } from 'node:net';
import tls from 'node:tls';
import { Etcd3 } from 'etcd3';
import { StoreUnavailable } from './lease-store.js';

/** PEM contents: the CA of the etcd servers, and a client certificate with its key. */
export interface EtcdTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdConnection {
  /** `HOST:PORT` each; https is used when `tls` is given. */
  endpoints: readonly string[];
  tls?: EtcdTls;
  /** Bound on every call. */
  callTimeoutMs: number;
}

export function connectEtcd(connection: EtcdConnection): Etcd3 {
  const scheme = connection.tls === undefined ? 'http' : 'https';
  const { tls } = connection;
  if (tls !== undefined) stopIpServerNames();
  return new Etcd3({
    hosts: connection.endpoints.map((endpoint) => `${scheme}://${endpoint}`),
    dialTimeout: connection.callTimeoutMs,
    ...(tls === undefined
      ? {}
      : {
          credentials: {
            rootCertificate: tls.ca,
            ...(tls.key === undefined ? {} : { privateKey: tls.key }),
            ...(tls.cert === undefined ? {} : { certChain: tls.cert }),
          },
        }),
  });
}

let ipServerNamesStopped = false;

/**
 * grpc-js (1.14, the newest) gives TLS the endpoint's host as ServerName, an IP address too
 * (etcd://127.0.0.1:2379). Node 20 warns about it (DEP0123) and Node 26 refuses it
 * (ERR_INVALID_ARG_VALUE), so TLS to etcd by address would not connect at all there. An address is
 * no server name: it is dropped before the connection, and Node checks the certificate against
 * the host, the address itself, as it does for any connection without a ServerName. Patched on
 * the `tls` module object that grpc-js calls through, once per process, only when TLS is used.
 */
function stopIpServerNames(): void {
  if (ipServerNamesStopped) return;
  ipServerNamesStopped = true;
  const connect = tls.connect;
  tls.connect = function connectWithoutIpServerName(this: unknown, ...args: unknown[]): tls.TLSSocket {
    const options = args[0];
    if (typeof options === 'object' && options !== null && 'servername' in options) {
      const servername = (options as { servername?: unknown }).servername;
      if (typeof servername === 'string' && isIP(servername) !== 0) {
        const { servername: _dropped, ...rest } = options as Record<string, unknown>;
        args[0] = rest;
      }
    }
    return (connect as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
  } as typeof tls.connect;
}

/** One etcd call with a deadline; whatever goes wrong is StoreUnavailable. */
export async function callEtcd<T>(what: string, timeoutMs: number, run: (options: { deadline: number }) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([run({ deadline: Date.now() + timeoutMs }), timeout]);
  } catch (error) {
    throw error instanceof StoreUnavailable ? error : new StoreUnavailable(what, error);
  } finally {
    clearTimeout(timer);
  }
}
