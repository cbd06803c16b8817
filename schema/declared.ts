// What `GET /api/v1/declared` serves: the served revision's declared resources, each with the
// place that declares it, as one snapshot. The plan compares a working tree with exactly this set.
import { z } from 'zod';
import type { LocatedLlm, LocatedPool } from './codec.js';
import type { DeclaredSet } from './plan.js';
import { llmSchema, llmPoolSchema, type Llm, type LlmPool } from './resources.js';

export interface DeclaredAnswer extends DeclaredSet {
  /** The served revision; null (and nothing declared) before the first good one. */
  revision: string | null;
}

const placeSchema = {
  file: z.string(),
  line: z.number().int(),
  col: z.number().int(),
  docIndex: z.number().int(),
  fieldLines: z.record(z.string(), z.number().int()),
};

const locatedLlmSchema = z.object({
  ...placeSchema,
  resource: llmSchema.transform(({ status: _status, ...llm }): Llm => llm),
});

const locatedPoolSchema = z.object({
  ...placeSchema,
  resource: llmPoolSchema.transform(({ status: _status, spec, ...pool }): LlmPool => ({ ...pool, spec: spec ?? {} })),
});

export const declaredAnswerSchema = z.object({
  revision: z.string().nullable(),
  llms: z.array(locatedLlmSchema),
  pools: z.array(locatedPoolSchema),
});

/** The answer as it goes on the wire: the located resources exactly as the reconciler holds them. */
export function declaredAnswerOf(revision: string | null, llms: readonly LocatedLlm[], pools: readonly LocatedPool[]): DeclaredAnswer {
  return { revision, llms: [...llms], pools: [...pools] };
}
