// The agent's YAML config file (DESIGN §4) and its provider entries (LlmProviderFileEntry).
import { z } from 'zod';
import { nameSchema } from './names.js';
import { llmTypeSchema, urlSchema } from './resources.js';

export const llmProviderFileEntrySchema = z.strictObject({
  name: nameSchema,
  poolName: nameSchema.optional(),
  type: llmTypeSchema,
  model: z.string().min(1).max(256),
  url: urlSchema,
  healthPath: z.string().startsWith('/', "expected a path starting with '/'").optional(),
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
