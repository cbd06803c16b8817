// The --listen flag: `host:port` (or `[v6]:port`), and the loopback rule that lets the
// reconciler run without --auth only where nothing off the machine can reach it.
import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Throws an Error naming --listen when the text is not `host:port`. */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port > 65535) {
    throw new Error(`--listen: expected host:port such as 127.0.0.1:7420 or [::1]:7420, found ${JSON.stringify(text)}`);
  }
  const host = match[1] ?? match[2] ?? '';
  if (match[1] !== undefined && isIP(host) !== 6) throw new Error(`--listen: ${JSON.stringify(host)} is not an IPv6 address`);
  return { host, port };
}

/** 127.0.0.0/8, ::1 and localhost: addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  // IPv4-mapped IPv6 (::ffff:127.0.0.1).
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped?.[1] !== undefined && mapped[1].startsWith('127.');
}

/** The URL clients use, with IPv6 hosts in brackets. */
export function formatUrl(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
