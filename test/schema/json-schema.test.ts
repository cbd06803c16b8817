import { describe, expect, it } from 'vitest';
import { buildResourceJsonSchema, renderResourceJsonSchema } from '../../schema/json-schema.js';

describe('schema/llm.schema.json', () => {
  it('is the one generated from the zod schemas (UPDATE_GOLDEN=1 rewrites it)', async () => {
    await expect(renderResourceJsonSchema()).toMatchFileSnapshot('../../schema/llm.schema.json');
  });

  it('carries the static-needs-url rule, which zod refinements do not emit by themselves', () => {
    const text = JSON.stringify(buildResourceJsonSchema());
    expect(text).toContain('"if":{"properties":{"source":{"const":"static"}},"required":["source"]},"then":{"required":["url"]}');
  });
});
