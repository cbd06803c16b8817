// The agent's YAML config file (DESIGN §4) and its provider entries (LlmProviderFileEntry).
import { z } from 'zod';
import { nameSchema } from './names.js';
import { llmTypeSchema, urlSchema } from './resources.js';

/**
 * Where a provider's API key is read for the probe's `Authorization: Bearer` header: an
 * environment variable of the agent, or a file (relative to the config's folder). Never the key
 * itself: the config is shown and copied around like the Llm files.
 */
export const providerApiKeyRefSchema = z
  .strictObject(
    {
      env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
      file: z.string().min(1).optional(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'expected { env: VAR_NAME } or { file: PATH } (inline secrets are not allowed)' : undefined) },
  )
  .superRefine((ref, ctx) => {
    if ((ref.env === undefined) === (ref.file === undefined)) ctx.addIssue({ code: 'custom', message: 'apiKeyRef takes one of env: VAR_NAME or file: PATH' });
  });
export type ProviderApiKeyRef = z.infer<typeof providerApiKeyRefSchema>;

export const llmProviderFileEntrySchema = z.strictObject({
  name: nameSchema,
  poolName: nameSchema.optional(),
  type: llmTypeSchema,
  model: z.string().min(1).max(256),
  url: urlSchema,
  healthPath: z.string().startsWith('/', "expected a path starting with '/'").optional(),
  apiKeyRef: providerApiKeyRefSchema.optional(),
});
export type LlmProviderFileEntry = z.infer<typeof llmProviderFileEntrySchema>;

export const agentConfigSchema = z
  .strictObject({
    server: urlSchema,
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    agentId: nameSchema.optional(),
    providers: z.array(llmProviderFileEntrySchema).default([]),
  })
  .superRefine((config, ctx) => {
    if (config.token !== undefined && config.tokenFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['tokenFile'], message: 'give token or tokenFile, not both' });
    }
    const seen = new Set<string>();
    config.providers.forEach((provider, index) => {
      if (seen.has(provider.name)) {
        ctx.addIssue({ code: 'custom', path: ['providers', index, 'name'], message: `duplicate provider name ${JSON.stringify(provider.name)}` });
      }
      seen.add(provider.name);
    });
  });
export type AgentConfig = z.infer<typeof agentConfigSchema>;
