// The body a member gets: the client's bytes with only the top-level `model` value replaced.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestBody, topLevelStringSpan } from '../../gateway/request-body.js';

function parsed(text: string): RequestBody {
  const body = RequestBody.parse(Buffer.from(text));
  if (!(body instanceof RequestBody)) throw new Error(body.problem);
  return body;
}

const forwarded = (text: string, model: string): string => parsed(text).withModel(model);

describe('RequestBody.withModel', () => {
  it.each([
    ['first', '{"model":"p","messages":[]}', '{"model":"Qwen/Qwen3-8B","messages":[]}'],
    ['last, spaced', '{ "messages" : [ ] ,\n  "model" :  "p"  }', '{ "messages" : [ ] ,\n  "model" :  "Qwen/Qwen3-8B"  }'],
    ['beside nested models', '{"tools":[{"model":"p"}],"meta":{"model":"p"},"model":"p"}', '{"tools":[{"model":"p"}],"meta":{"model":"p"},"model":"Qwen/Qwen3-8B"}'],
    ['after strings holding quotes, braces and the key', '{"a":"\\"model\\": \\"p\\" }{","model":"p"}', '{"a":"\\"model\\": \\"p\\" }{","model":"Qwen/Qwen3-8B"}'],
    ['after a string ending in a backslash', '{"a":"c:\\\\","model":"p"}', '{"a":"c:\\\\","model":"Qwen/Qwen3-8B"}'],
    ['named with an escape', '{"mod\\u0065l":"p","x":1}', '{"mod\\u0065l":"Qwen/Qwen3-8B","x":1}'],
    ['repeated (JSON.parse takes the last)', '{"model":"x","model":"p"}', '{"model":"x","model":"Qwen/Qwen3-8B"}'],
    ['beside non-ASCII text', '{"messages":[{"content":"héllo 日本 🚀"}],"model":"p"}', '{"messages":[{"content":"héllo 日本 🚀"}],"model":"Qwen/Qwen3-8B"}'],
  ])('replaces only the top-level value: %s', (_name, text, expected) => {
    expect(forwarded(text, 'Qwen/Qwen3-8B')).toBe(expected);
  });

  it('keeps what parsing would change: a 64-bit seed, 1.0, escapes, key order', () => {
    const text = '{"seed":12345678901234567890,"temperature":1.0,"stop":["\\u00e9"],"model":"p"}';
    expect(forwarded(text, 'm')).toBe('{"seed":12345678901234567890,"temperature":1.0,"stop":["\\u00e9"],"model":"m"}');
  });

  it('writes the new value as JSON', () => {
    expect(JSON.parse(forwarded('{"model":"p"}', 'a "quoted"\\name'))).toEqual({ model: 'a "quoted"\\name' });
  });

  it('tells why a body is no JSON object', () => {
    expect(RequestBody.parse(Buffer.from('{"model":'))).toMatchObject({ problem: expect.stringMatching(/^the request body is not valid JSON: .+/) });
    expect(RequestBody.parse(Buffer.from('[1]'))).toEqual({ problem: 'the request body must be a JSON object' });
    expect(RequestBody.parse(Buffer.from('null'))).toEqual({ problem: 'the request body must be a JSON object' });
  });

  it('finds no span for a model that is no string', () => {
    expect(topLevelStringSpan('{"model":7}', 'model')).toBeNull();
    expect(topLevelStringSpan('{"model":"p","model":null}', 'model')).toBeNull();
    expect(topLevelStringSpan('{"x":{"model":"p"}}', 'model')).toBeNull();
  });

  it('parses as the body with model replaced, for any JSON object, however it is spaced', () => {
    const key = fc.oneof(fc.constantFrom('model', 'messages', 'mod', 'model ', 'Model', 'x'), fc.string());
    const value = fc.jsonValue();
    const object = fc.dictionary(key, value);
    fc.assert(
      fc.property(object, fc.string(), fc.string(), fc.integer({ min: 0, max: 2 }), (json, model, replacement, indent) => {
        const text = JSON.stringify({ ...json, model }, null, indent);
        const out = parsed(text).withModel(replacement);
        expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify({ ...json, model: replacement })));
        // Around the value, the client's text.
        const span = topLevelStringSpan(text, 'model');
        if (span === null) throw new Error(`no span in ${text}`);
        expect(text.slice(span.start, span.end)).toBe(JSON.stringify(model));
        expect(out.slice(0, span.start)).toBe(text.slice(0, span.start));
        expect(out.slice(out.length - (text.length - span.end))).toBe(text.slice(span.end));
      }),
      { numRuns: 400 },
    );
  });
});
