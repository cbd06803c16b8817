// zod schemas and inferred types for the resources declared in Git (DESIGN §1, §7).
import { z } from 'zod';
import { API_VERSION, LLM_SOURCES, LLM_TYPES } from './llm-values.js';
import { nameSchema } from './names.js';

export { API_VERSION, LLM_SOURCES, LLM_TYPES };

export const llmTypeSchema = z.enum(LLM_TYPES);
export type LlmType = z.infer<typeof llmTypeSchema>;

const stringMapSchema = z.record(z.string(), z.string());

export const urlSchema = z.string().min(1).max(2048).superRefine((value, ctx) => {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, found ${JSON.stringify(value)}` });
    return;
  }
  if (!value.includes('://')) {
    // `gpu1.lan:8000/v1` parses as a URL whose scheme is `gpu1.lan:`; say what is missing instead.
    ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, found ${JSON.stringify(value)} (no http:// or https://)` });
  } else if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, found scheme ${JSON.stringify(parsed.protocol)}` });
  } else {
    const secret = urlSecretOf(parsed);
    if (secret !== null) ctx.addIssue({ code: 'custom', message: `inline secrets are not allowed: ${secret}` });
  }
});

/** Query parameters that carry credentials by their usual names (`?api_key=`, `?token=`). */
const SECRET_QUERY_KEY = /^(api[-_]?key|apikey|key|token|access[-_]?token|auth|authorization|secret|client[-_]?secret|password|passwd|sig|signature)$/i;

/**
 * What in a URL is a secret, in words (a password, a credential in the query); null when
 * nothing is. A URL is shown in every view, so it may carry none (DESIGN §1, §3).
 */
export function urlSecretOf(url: URL): string | null {
  if (url.password !== '') return 'the URL carries a password';
  for (const key of url.searchParams.keys()) {
    if (SECRET_QUERY_KEY.test(key)) return `the URL's query carries a credential (${key}=)`;
  }
  return null;
}

export const apiKeyRefSchema = z.strictObject({
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
});
export type ApiKeyRef = z.infer<typeof apiKeyRefSchema>;

export const llmMetadataSchema = z.strictObject({
  name: nameSchema,
  labels: stringMapSchema.optional(),
  annotations: stringMapSchema.optional(),
});

export const llmSpecSchema = z
  .strictObject({
    type: llmTypeSchema,
    model: z.string().min(1, 'expected 1-256 characters').max(256, 'expected 1-256 characters'),
    url: urlSchema.optional(),
    poolName: nameSchema.optional(),
    source: z.enum(LLM_SOURCES).optional(),
    enabled: z.boolean().optional(),
    apiKeyRef: apiKeyRefSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.source === 'static' && spec.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'a static Llm needs the http(s) URL of its endpoint' });
    }
  });

export const llmSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Llm'),
  metadata: llmMetadataSchema,
  spec: llmSpecSchema,
  // `get -o yaml` output carries status; it is accepted and ignored on input.
  status: z.unknown().optional(),
});

export type LlmMetadata = z.infer<typeof llmMetadataSchema>;
export type LlmSpec = z.infer<typeof llmSpecSchema>;
/** A declared Llm without status, as held in memory and written to files. */
export interface Llm {
  apiVersion: typeof API_VERSION;
  kind: 'Llm';
  metadata: LlmMetadata;
  spec: LlmSpec;
}

export const llmPoolSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('LlmPool'),
  metadata: z.strictObject({
    name: nameSchema,
    labels: stringMapSchema.optional(),
    annotations: stringMapSchema.optional(),
  }),
  spec: z
    .strictObject({
      minActive: z.number({ error: 'expected a whole number ≥ 0' }).int({ error: 'expected a whole number ≥ 0' }).min(0, { error: 'expected a whole number ≥ 0' }).optional(),
      description: z.string().max(1024).optional(),
    })
    // `spec:` left empty (its one field commented out) means no policy, as no spec does.
    .nullable()
    .optional(),
  status: z.unknown().optional(),
});

export interface LlmPool {
  apiVersion: typeof API_VERSION;
  kind: 'LlmPool';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { minActive?: number; description?: string };
}

export type Resource = Llm | LlmPool;
export const RESOURCE_KINDS = ['Llm', 'LlmPool'] as const;

/** Effective defaults of fields that canonical output omits. */
export function llmSourceOf(spec: LlmSpec): 'agent' | 'static' {
  return spec.source ?? 'agent';
}

export function llmEnabledOf(spec: LlmSpec): boolean {
  return spec.enabled ?? true;
}

/** Drops defaulted and empty fields and orders keys canonically (DESIGN §1). */
export function canonicalizeLlm(llm: Llm): Llm {
  const metadata: LlmMetadata = { name: llm.metadata.name };
  if (llm.metadata.labels && Object.keys(llm.metadata.labels).length > 0) metadata.labels = sortedMap(llm.metadata.labels);
  if (llm.metadata.annotations && Object.keys(llm.metadata.annotations).length > 0) {
    metadata.annotations = sortedMap(llm.metadata.annotations);
  }
  const s = llm.spec;
  const spec: LlmSpec = { type: s.type, model: s.model };
  if (s.url !== undefined) spec.url = s.url;
  if (s.poolName !== undefined) spec.poolName = s.poolName;
  if (s.source !== undefined && s.source !== 'agent') spec.source = s.source;
  if (s.enabled !== undefined && s.enabled !== true) spec.enabled = s.enabled;
  if (s.apiKeyRef !== undefined) spec.apiKeyRef = { env: s.apiKeyRef.env };
  return { apiVersion: API_VERSION, kind: 'Llm', metadata, spec };
}

export function canonicalizePool(pool: LlmPool): LlmPool {
  const metadata: LlmPool['metadata'] = { name: pool.metadata.name };
  if (pool.metadata.labels && Object.keys(pool.metadata.labels).length > 0) metadata.labels = sortedMap(pool.metadata.labels);
  if (pool.metadata.annotations && Object.keys(pool.metadata.annotations).length > 0) {
    metadata.annotations = sortedMap(pool.metadata.annotations);
  }
  const spec: LlmPool['spec'] = {};
  // llmPoolSchema lets a document leave out its spec; a pool fresh from the schema may lack it.
  const given = (pool.spec as LlmPool['spec'] | undefined) ?? {};
  if (given.minActive !== undefined && given.minActive !== 0) spec.minActive = given.minActive;
  if (given.description !== undefined) spec.description = given.description;
  return { apiVersion: API_VERSION, kind: 'LlmPool', metadata, spec };
}

export function canonicalizeResource(resource: Resource): Resource {
  return resource.kind === 'Llm' ? canonicalizeLlm(resource) : canonicalizePool(resource);
}

function sortedMap(map: Record<string, string>): Record<string, string> {
  // fromEntries, not assignment: a key named __proto__ must stay a key, not replace the prototype.
  return Object.fromEntries(Object.keys(map).sort().map((key) => [key, map[key] as string]));
}
