// The agent's log: one line per event on stderr, each stamped with the (injectable) clock.

export type Log = (message: string) => void;

export interface LogSink {
  write(text: string): unknown;
}

/** A log that writes `<ISO time> agent: <message>` lines; newlines inside a message are flattened so one event stays one line. */
export function createLineLog(sink: LogSink, nowMs: () => number = Date.now): Log {
  return (message: string) => {
    const flat = message.replace(/\s*\r?\n\s*/g, ' ').trimEnd();
    sink.write(`${new Date(nowMs()).toISOString()} agent: ${flat}\n`);
  };
}
