// Ports for tests whose server stops and starts again on the same port (a reconciler that goes
// down and comes back, a restart with --state-dir), and for "nothing listens here" URLs.
//
// A port bound with 0 comes from the kernel's ephemeral range, and once closed the kernel may
// hand it to the next server any test file (running in parallel) binds with 0. Then an agent that
// retries its vanished reconciler registers with another test's reconciler (CI saw exactly that:
// an agent's `qwen3` in another test's pool table, and EADDRINUSE when its own came back). These
// ports are taken below the ephemeral range, where nothing bound with 0 lands.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The kernel's ephemeral range's first port (Linux), or a usual value where it cannot be read. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const HIGH = ephemeralLow();
const LOW = Math.max(10_000, HIGH - 20_000);
const handedOut = new Set<number>();

function tryBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port nobody listens on now, outside the range the kernel hands out for port 0: free
 * for a server of this test to stop and take again, and a URL where nothing answers.
 */
export async function stablePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    if (await tryBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${LOW} and ${HIGH}`);
}
