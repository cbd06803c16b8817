// The JSON Schema for editors (schema/llm.schema.json), generated from the zod schemas.
import { z } from 'zod';
import { NAME_PATTERN } from './names.js';
import { llmPoolSchema, llmSchema, llmSpecSchema } from './resources.js';

export function buildResourceJsonSchema(): Record<string, unknown> {
  const union = z.union([llmSchema, llmPoolSchema]);
  const generated = z.toJSONSchema(union, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      // The one cross-field rule of an Llm spec (a zod refinement, which JSON Schema output leaves
      // out): an editor flags a static Llm without its URL as the codec does.
      if (ctx.zodSchema === llmSpecSchema) {
        ctx.jsonSchema.if = { properties: { source: { const: 'static' } }, required: ['source'] };
        ctx.jsonSchema.then = { required: ['url'] };
      }
    },
  }) as Record<string, unknown>;
  return {
    $id: 'https://mcpctl.dev/schema/llm.schema.json',
    title: 'mcpctl resource (Llm or LlmPool)',
    description: `Names: ${NAME_PATTERN.source}, 1-63 characters.`,
    ...generated,
  };
}

export function renderResourceJsonSchema(): string {
  return `${JSON.stringify(buildResourceJsonSchema(), null, 2)}\n`;
}
