// The --auth file (DESIGN §3): tokens stored as SHA-256, roles per token, name globs for
// register:llms. Parsing reports `file:line:col: message`; a presented token is hashed and
// compared with crypto.timingSafeEqual against every entry.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { authFileSchema, matchesNameGlob, type Role } from '../schema/auth.js';

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

export function parseAuthFile(file: string, text: string): AuthParse {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): string => {
    const pos = lineCounter.linePos(offset ?? 0);
    return `${file}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `${at(e.pos[0])}: invalid YAML: ${e.message.split('\n')[0] ?? e.message}`) };
  }
  const parsed = authFileSchema.safeParse(doc.toJS(), { reportInput: true });
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        const fieldPath = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0] ?? ''] : path;
        const label = fieldPath.join('.');
        const input = 'input' in issue ? issue.input : undefined;
        // Never echo a sha256 value: a token pasted there by mistake would end up in logs.
        const secret = fieldPath[fieldPath.length - 1] === 'sha256';
        const found = secret || input === undefined || typeof input === 'object' ? '' : `, found ${JSON.stringify(input)}`;
        const message = issue.code === 'unrecognized_keys' ? `unknown field ${JSON.stringify(issue.keys[0])} (expected name, sha256, roles, names)` : `${issue.message}${found}`;
        return `${at(offsetOf(doc, fieldPath, issue.code === 'unrecognized_keys' ? 'key' : 'value'))}: ${label === '' ? '' : `${label}: `}${message}`;
      }),
    };
  }
  const errors: string[] = [];
  const seen = new Map<string, string>();
  parsed.data.tokens.forEach((token, index) => {
    const first = seen.get(token.sha256);
    if (first !== undefined) errors.push(`${at(offsetOf(doc, ['tokens', index, 'sha256']))}: tokens.${index}.sha256: the same hash as token ${JSON.stringify(first)}`);
    seen.set(token.sha256, token.name);
  });
  if (errors.length > 0) return { ok: false, errors };
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

function offsetOf(doc: Document, path: (string | number)[], at: 'key' | 'value' = 'value'): number | undefined {
  // The deepest node of the path that exists: a missing field points at its parent.
  for (let n = path.length; n >= 1; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    const key = path[n - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
      if (pair !== undefined && isScalar(pair.key)) {
        const value = isNode(pair.value) ? pair.value : null;
        return (n === path.length && at === 'value' ? value?.range?.[0] : undefined) ?? pair.key.range?.[0];
      }
    } else if (isSeq(parent) && typeof key === 'number') {
      const item = parent.items[key];
      if (isNode(item) && item.range) return item.range[0];
    }
  }
  return doc.contents?.range?.[0];
}
