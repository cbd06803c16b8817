// The --auth file of the reconciler and the gateway: hashed tokens, roles and name globs
// (register:llms: the names a token may publish; use:llms: the pool keys and Llm names it may call).
import { z } from 'zod';

export const ROLES = ['view:llms', 'sync:llms', 'register:llms', 'use:llms'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const authTokenSchema = z
  .strictObject({
    name: z.string().min(1).max(128),
    // sha256sum prints lowercase; other tools print uppercase: both name the same hash.
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits (SHA-256 of the token)')
      .transform((hex) => hex.toLowerCase()),
    roles: z.array(roleSchema).min(1),
    names: z.array(z.string().min(1).max(128)).optional(),
  })
  .superRefine((token, ctx) => {
    if (token.names !== undefined && !token.roles.includes('register:llms') && !token.roles.includes('use:llms')) {
      ctx.addIssue({ code: 'custom', path: ['names'], message: 'names limits what a register:llms token may publish or a use:llms token may call; this token has neither role' });
    }
  });
export type AuthToken = z.infer<typeof authTokenSchema>;

export const authFileSchema = z.strictObject({
  tokens: z.array(authTokenSchema),
});
export type AuthFile = z.infer<typeof authFileSchema>;

/** Whether `name` matches a glob where `*` stands for any run of characters. */
export function matchesNameGlob(glob: string, name: string): boolean {
  const pattern = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${pattern}$`).test(name);
}
