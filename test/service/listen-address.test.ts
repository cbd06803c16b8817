// --listen parsing and the loopback rule that allows serving without --auth.
import { describe, expect, it } from 'vitest';
import { formatUrl, isLoopbackHost, parseListenAddress } from '../../service/listen-address.js';

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:7420', { host: '127.0.0.1', port: 7420 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:7420', { host: '::1', port: 7420 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['reconciler.lan:7420', { host: 'reconciler.lan', port: 7420 }],
  ])('reads %s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each(['7420', '127.0.0.1', '127.0.0.1:', ':7420', '127.0.0.1:65536', '::1:7420', '[nothost]:1'])('refuses %s', (text) => {
    expect(() => parseListenAddress(text)).toThrow(/^--listen: /);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.3.2.1', true],
    ['::1', true],
    ['localhost', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['reconciler.lan', false],
    ['localhost.evil.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('formatUrl', () => {
  it('brackets IPv6 hosts', () => {
    expect(formatUrl('::1', 7420)).toBe('http://[::1]:7420');
    expect(formatUrl('127.0.0.1', 1)).toBe('http://127.0.0.1:1');
  });
});
