// The --auth file (DESIGN §3): tokens stored as SHA-256, roles per token, name globs for
// register:llms. Parsing reports `file:line:col: message`; a presented token is hashed and
// compared with crypto.timingSafeEqual against every entry.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { authFileSchema, authTokenSchema, matchesNameGlob, type Role } from '../schema/auth.js';
import { compareDiagnostics, formatDiagnostic, type Diagnostic } from '../schema/diagnostics.js';
import { createKnownFieldsLookup, findValueOffset, locateYamlErrors, locateZodIssues, resolveDocumentData } from '../schema/yaml-diagnostics.js';

export interface AuthToken {
  name: string;
  sha256: Buffer;
  roles: ReadonlySet<Role>;
  /** Name globs a register:llms token is limited to; null for no limit. */
  names: readonly string[] | null;
}

export interface AuthConfig {
  file: string;
  tokens: readonly AuthToken[];
}

/** Who is calling: the matched token's entry. */
export type Principal = AuthToken;

export type AuthParse = { ok: true; config: AuthConfig } | { ok: false; errors: string[] };

const knownFieldsAt = createKnownFieldsLookup({ '': Object.keys(authFileSchema.shape), 'tokens[]': Object.keys(authTokenSchema.shape) });

export function parseAuthFile(file: string, text: string): AuthParse {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const fail = (diagnostics: Diagnostic[]): AuthParse => ({ ok: false, errors: diagnostics.sort(compareDiagnostics).map(formatDiagnostic) });
  if (doc.errors.length > 0) return fail(locateYamlErrors(file, doc, text, lineCounter));
  const resolved = resolveDocumentData(file, doc, lineCounter);
  if (!resolved.ok) return fail([resolved.diagnostic]);
  const parsed = authFileSchema.safeParse(resolved.data, { reportInput: true });
  // Never echo a sha256 value: a token pasted there by mistake would end up in logs.
  if (!parsed.success) return fail(locateZodIssues(file, doc, lineCounter, parsed.error.issues, { data: resolved.data, knownFieldsAt, secretFields: ['sha256'] }));
  const duplicates: Diagnostic[] = [];
  const seen = new Map<string, string>();
  parsed.data.tokens.forEach((token, index) => {
    const first = seen.get(token.sha256);
    if (first !== undefined) {
      const { line, col } = lineCounter.linePos(findValueOffset(doc, ['tokens', index, 'sha256']) ?? 0);
      duplicates.push({ code: 'InvalidValue', file, line, col, path: `tokens.${index}.sha256`, message: `the same hash as token ${JSON.stringify(first)}` });
    }
    seen.set(token.sha256, token.name);
  });
  if (duplicates.length > 0) return fail(duplicates);
  return {
    ok: true,
    config: {
      file,
      tokens: parsed.data.tokens.map((token) => ({
        name: token.name,
        sha256: Buffer.from(token.sha256, 'hex'),
        roles: new Set(token.roles),
        names: token.names ?? null,
      })),
    },
  };
}

/** Reads and parses the file; throws an Error whose message lists every problem, one per line. */
export async function loadAuthFile(path: string): Promise<AuthConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read --auth file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const result = parseAuthFile(path, text);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

/** The token entry matching an `Authorization: Bearer …` header, or null. */
export function authenticate(config: AuthConfig, header: string | undefined): Principal | null {
  if (header === undefined) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (match === null || match[1] === undefined) return null;
  const presented = createHash('sha256').update(match[1], 'utf8').digest();
  let found: Principal | null = null;
  // Every entry is compared, so the time taken does not say which one matched.
  for (const token of config.tokens) {
    if (timingSafeEqual(presented, token.sha256) && found === null) found = token;
  }
  return found;
}

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The first name the principal may not publish, or null when all are allowed. */
export function firstNameOutsideGlobs(principal: Principal, names: Iterable<string>): string | null {
  if (principal.names === null) return null;
  for (const name of names) {
    if (!principal.names.some((glob) => matchesNameGlob(glob, name))) return name;
  }
  return null;
}
