// The JSON Schema for editors (schema/llm.schema.json), generated from the zod schemas.
import { z } from 'zod';
import { NAME_PATTERN } from './names.js';
import { llmPoolSchema, llmSchema } from './resources.js';

export function buildResourceJsonSchema(): Record<string, unknown> {
  const union = z.union([llmSchema, llmPoolSchema]);
  const generated = z.toJSONSchema(union, { target: 'draft-07', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
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
