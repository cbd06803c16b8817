// The /api/v1/watch stream: server-sent events, split into blocks, each parsed into a typed watch
// event. An event that does not parse (an unknown event name, bad JSON, a view of the wrong
// shape) is dropped at this edge: the next list brings the truth anyway.
import { heartbeatEventSchema, llmViewSchema, statusAnswerSchema, type LlmView, type StatusAnswer } from '../schema/views.js';

type LoadView = NonNullable<NonNullable<LlmView['status']['agent']>['load']>;

export type WatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; view: LlmView }
  | { type: 'STATUS'; status: StatusAnswer }
  /** Agents that beat since the last such event: agent id → its newest lastHeartbeatAt; Llms whose load moved. */
  | { type: 'HEARTBEAT'; agents: Record<string, string>; loads?: Record<string, LoadView | null> };

/** One server-sent event as written: its `event:` name and its `data:` lines joined. */
export interface SseMessage {
  event: string;
  data: string;
}

/** Feeds text chunks in as they arrive; calls `onEvent` per complete, well-formed watch event. */
export class WatchStreamParser {
  private buffer = '';

  constructor(private readonly onEvent: (event: WatchEvent) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message = parseSseBlock(block);
      const event = message === null ? null : parseWatchEvent(message);
      if (event !== null) this.onEvent(event);
    }
  }
}

/** One SSE block (the lines between blank lines); null for a comment-only block. */
export function parseSseBlock(block: string): SseMessage | null {
  let event = 'message';
  const data: string[] = [];
  let fields = 0;
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    fields++;
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return fields === 0 ? null : { event, data: data.join('\n') };
}

/** The typed watch event an SSE message carries; null when it carries none. */
export function parseWatchEvent(message: SseMessage): WatchEvent | null {
  const { event } = message;
  if (event !== 'ADDED' && event !== 'MODIFIED' && event !== 'DELETED' && event !== 'STATUS' && event !== 'HEARTBEAT') return null;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (event === 'HEARTBEAT') {
    const beats = heartbeatEventSchema.safeParse(data);
    if (!beats.success) return null;
    return beats.data.loads === undefined ? { type: 'HEARTBEAT', agents: beats.data.agents } : { type: 'HEARTBEAT', agents: beats.data.agents, loads: beats.data.loads };
  }
  if (event === 'STATUS') {
    const status = statusAnswerSchema.safeParse(data);
    return status.success ? { type: 'STATUS', status: status.data } : null;
  }
  const view = llmViewSchema.safeParse(data);
  return view.success ? { type: event, view: view.data } : null;
}
