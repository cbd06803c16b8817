// The client's request body as the gateway forwards it: the client's own text with only the
// value of the top-level `model` member replaced by the member's spec.model. Parsing the body and
// serialising it again would change what the member gets (an integer beyond 2^53, such as a
// 64-bit `seed`, loses digits; `1.0` becomes `1`) and serialise a long chat history once more
// on every request.

/** A parsed request body, kept with the text it was parsed from. */
export class RequestBody {
  private constructor(
    /** The body parsed: a JSON object. */
    readonly json: Readonly<Record<string, unknown>>,
    private readonly text: string,
    /** Where the top-level `model` string value is in `text` (with its quotes); null when it is no string. */
    private readonly modelSpan: TextSpan | null,
  ) {}

  /**
   * The body parsed, or why it is no JSON object, as the client is told. The text is scanned for
   * `model` only when it is a string, which is all a forwarded body may have.
   */
  static parse(bytes: Buffer): RequestBody | { problem: string } {
    const text = bytes.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { problem: `the request body is not valid JSON: ${(error as Error).message}` };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'the request body must be a JSON object' };
    const json = value as Record<string, unknown>;
    return new RequestBody(json, text, typeof json['model'] === 'string' ? topLevelStringSpan(text, 'model') : null);
  }

  /** The body to send a member whose spec.model is `model`. */
  withModel(model: string): string {
    if (this.modelSpan === null) return JSON.stringify({ ...this.json, model });
    return `${this.text.slice(0, this.modelSpan.start)}${quoted(model)}${this.text.slice(this.modelSpan.end)}`;
  }
}

/** spec.model values as JSON strings: the few models of a fleet, quoted once each. */
const QUOTED = new Map<string, string>();
const QUOTED_MAX = 1024;

function quoted(model: string): string {
  let json = QUOTED.get(model);
  if (json === undefined) {
    if (QUOTED.size >= QUOTED_MAX) QUOTED.clear();
    QUOTED.set(model, (json = JSON.stringify(model)));
  }
  return json;
}

/** Where a JSON value is in a text: `start` is its first character, `end` the one after its last. */
export interface TextSpan {
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/**
 * Where the value of the top-level member `key` is in the JSON object `text`, when that value is
 * a string; the last such member when the key repeats, as JSON.parse takes the last. Null when
 * there is none. `text` must be valid JSON (parsed already): only its structure is followed, and
 * strings are skipped whole.
 */
export function topLevelStringSpan(text: string, key: string): TextSpan | null {
  let depth = 0;
  let found: TextSpan | null = null;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code !== QUOTE) {
      if (code === 0x7b || code === 0x5b) depth++;
      else if (code === 0x7d || code === 0x5d) depth--;
      i++;
      continue;
    }
    const close = closingQuote(text, i);
    if (close === -1) return null;
    if (depth !== 1) {
      i = close + 1;
      continue;
    }
    // In the top-level object a string followed by a colon is a member's name; any other is a value.
    const colon = skipWhitespace(text, close + 1);
    if (text.charCodeAt(colon) !== COLON) {
      i = close + 1;
      continue;
    }
    const valueStart = skipWhitespace(text, colon + 1);
    if (!nameIs(text, i, close, key)) {
      i = valueStart;
      continue;
    }
    if (text.charCodeAt(valueStart) === QUOTE) {
      const valueClose = closingQuote(text, valueStart);
      if (valueClose === -1) return null;
      found = { start: valueStart, end: valueClose + 1 };
      i = valueClose + 1;
    } else {
      found = null;
      i = valueStart;
    }
  }
  return found;
}

/** The index of the quote that closes the string opening at `open`; -1 when there is none. */
function closingQuote(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  for (;;) {
    const code = text.charCodeAt(i);
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return i;
    i++;
  }
}

/** Whether the JSON string between the quotes at `open` and `close` is `name` (escapes decoded). */
function nameIs(text: string, open: number, close: number, name: string): boolean {
  if (close - open - 1 === name.length && text.startsWith(name, open + 1)) return true;
  const backslash = text.indexOf('\\', open + 1);
  return backslash !== -1 && backslash < close && (JSON.parse(text.slice(open, close + 1)) as string) === name;
}
