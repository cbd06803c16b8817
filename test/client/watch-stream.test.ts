// The /watch stream parser: SSE blocks split across chunks, events typed by their schema, and
// anything else (comments, unknown names, bad JSON, views of the wrong shape) dropped.
import { describe, expect, test } from 'vitest';
import { parseSseBlock, parseWatchEvent, WatchStreamParser, type WatchEvent } from '../../client/watch-stream.js';
import { buildStatus, buildTuiFleet } from '../tui/support/tui-fleet.js';

const fleet = buildTuiFleet();

describe('parseSseBlock', () => {
  test.each([
    ['event: ADDED\ndata: {"a":1}', { event: 'ADDED', data: '{"a":1}' }],
    ['event:MODIFIED\ndata:1', { event: 'MODIFIED', data: '1' }],
    ['data: [1,\ndata: 2]', { event: 'message', data: '[1,\n2]' }],
    [': keep-alive\nevent: STATUS\ndata: {}', { event: 'STATUS', data: '{}' }],
  ])('%j is %j', (block, message) => {
    expect(parseSseBlock(block)).toEqual(message);
  });

  test('a comment-only block (the keep-alive) is no message', () => {
    expect(parseSseBlock(': keep-alive')).toBeNull();
  });
});

describe('parseWatchEvent', () => {
  test('Llm events carry a view; STATUS carries the status; anything else is dropped', () => {
    const view = fleet.view('vllm-gpu1-qwen3');
    expect(parseWatchEvent({ event: 'MODIFIED', data: JSON.stringify(view) })).toEqual({ type: 'MODIFIED', view });
    const status = buildStatus(fleet.views);
    expect(parseWatchEvent({ event: 'STATUS', data: JSON.stringify(status) })).toEqual({ type: 'STATUS', status });
    expect(parseWatchEvent({ event: 'ADDED', data: '{"metadata":{"name":"x"}}' })).toBeNull();
    expect(parseWatchEvent({ event: 'DELETED', data: '"vllm-gpu1-qwen3"' })).toBeNull();
    expect(parseWatchEvent({ event: 'STATUS', data: '{"revision":"r"}' })).toBeNull();
    expect(parseWatchEvent({ event: 'ADDED', data: '{not json' })).toBeNull();
    expect(parseWatchEvent({ event: 'message', data: JSON.stringify(view) })).toBeNull();
  });

  test('HEARTBEAT carries agent ids and their newest beat; a malformed one is dropped', () => {
    const agents = { gpu1: '2025-01-01T00:00:05.000Z' };
    expect(parseWatchEvent({ event: 'HEARTBEAT', data: JSON.stringify({ agents }) })).toEqual({ type: 'HEARTBEAT', agents });
    expect(parseWatchEvent({ event: 'HEARTBEAT', data: '{"agents":{"gpu1":5}}' })).toBeNull();
    expect(parseWatchEvent({ event: 'HEARTBEAT', data: '{}' })).toBeNull();
  });

  test('a view with a phase the schema does not know is dropped', () => {
    const view = fleet.view('vllm-gpu1-qwen3');
    const odd = { ...view, status: { ...view.status, phase: 'up' } };
    expect(parseWatchEvent({ event: 'MODIFIED', data: JSON.stringify(odd) })).toBeNull();
  });
});

describe('WatchStreamParser', () => {
  test('events split anywhere across chunks come out whole, in order', () => {
    const a = fleet.view('vllm-gpu1-qwen3');
    const b = fleet.view('ollama-laptop');
    const text = `: hello\n\nevent: ADDED\ndata: ${JSON.stringify(a)}\n\nevent: BOGUS\ndata: {}\n\nevent: DELETED\ndata: ${JSON.stringify(b)}\n\n`;
    for (const size of [1, 7, 64, text.length]) {
      const events: WatchEvent[] = [];
      const parser = new WatchStreamParser((e) => events.push(e));
      for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
      expect(events).toEqual([
        { type: 'ADDED', view: a },
        { type: 'DELETED', view: b },
      ]);
    }
  });

  test('a block without its blank line yet waits for the next chunk', () => {
    const events: WatchEvent[] = [];
    const parser = new WatchStreamParser((e) => events.push(e));
    parser.push(`event: ADDED\ndata: ${JSON.stringify(fleet.view('ollama-laptop'))}\n`);
    expect(events).toEqual([]);
    parser.push('\n');
    expect(events.map((e) => e.type)).toEqual(['ADDED']);
  });
});
