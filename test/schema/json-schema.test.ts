import { describe, expect, it } from 'vitest';
import { renderResourceJsonSchema } from '../../schema/json-schema.js';

describe('schema/llm.schema.json', () => {
  it('is the one generated from the zod schemas (UPDATE_GOLDEN=1 rewrites it)', async () => {
    await expect(renderResourceJsonSchema()).toMatchFileSnapshot('../../schema/llm.schema.json');
  });
});
