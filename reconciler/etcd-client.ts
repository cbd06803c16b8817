// An etcd3 client for the fleet's election and revision record, and the bound every call gets
// (DESIGN §9: never hang a client on an etcd that does not answer).
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
  if (tls !== undefined) dropIpServerNameWarning();
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

let ipServerNameWarningDropped = false;

/**
 * grpc-js gives TLS the endpoint's host as ServerName, an IP address too (etcd://127.0.0.1:2379),
 * and Node then prints a deprecation warning (DEP0123) on the reconciler's stderr. Node sends no
 * SNI for an address and still checks the certificate against it, so that one warning is dropped.
 */
function dropIpServerNameWarning(): void {
  if (ipServerNameWarningDropped) return;
  ipServerNameWarningDropped = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]): void => {
    const code = typeof args[1] === 'object' && args[1] !== null ? (args[1] as { code?: unknown }).code : args[2];
    if (code !== 'DEP0123') emitWarning(...args);
  }) as typeof process.emitWarning;
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
