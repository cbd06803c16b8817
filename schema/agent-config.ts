// The agent's YAML config file (DESIGN §4; `servers:` §9) and its provider entries (LlmProviderFileEntry).
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

/** The reconcilers an agent may talk to, in the order it tries them (DESIGN §9): they share one lease store. */
export const agentServersSchema = z
  .array(urlSchema, { error: (issue) => (issue.code === 'invalid_type' ? 'expected a list of http(s) URLs' : undefined) })
  .min(1, 'expected at least one reconciler URL');

/** Exactly one of server and servers. */
function checkServerChoice(config: { server?: unknown; servers?: unknown }, ctx: z.RefinementCtx): void {
  if (config.server === undefined && config.servers === undefined) {
    ctx.addIssue({ code: 'custom', path: ['server'], message: 'expected server: URL or servers: [URL, …]' });
  }
  if (config.server !== undefined && config.servers !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['servers'], message: 'give server or servers, not both' });
  }
}

/**
 * The server/servers rule alone, over any mapping. zod skips an object's refinements once a field
 * has failed with an abort (a bad name does), yet a missing reconciler URL is worth saying along
 * with the rest: the config loader checks this too.
 */
export const agentServerChoiceSchema = z.looseObject({}).superRefine(checkServerChoice);

export const agentConfigSchema = z
  .strictObject({
    server: urlSchema.optional(),
    servers: agentServersSchema.optional(),
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    agentId: nameSchema.optional(),
    providers: z.array(llmProviderFileEntrySchema).default([]),
  })
  .superRefine(checkServerChoice)
  .superRefine((config, ctx) => {
    const urls = new Set<string>();
    config.servers?.forEach((url, index) => {
      const key = url.replace(/\/+$/, '');
      if (urls.has(key)) ctx.addIssue({ code: 'custom', path: ['servers', index], message: `duplicate reconciler URL ${JSON.stringify(url)}` });
      urls.add(key);
    });
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
