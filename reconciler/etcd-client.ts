// An etcd3 client for the fleet's election and revision record, and the bound every call gets
// (DESIGN §9: never hang a client on an etcd that does not answer).
import { Etcd3 } from 'etcd3';
import { StoreUnavailable, type EtcdTls } from './etcd-lease-store.js';

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
