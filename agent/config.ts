// The agent's config file (DESIGN §4): YAML in, a resolved config or located errors out.
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { readApiKey } from './api-key.js';
import { describeFsError } from './fs-error.js';
import { agentConfigSchema, agentServerChoiceSchema, llmProviderFileEntrySchema, type AgentConfig, type LlmProviderFileEntry } from '../schema/agent-config.js';
import { formatDiagnostic, compareDiagnostics, type Diagnostic } from '../schema/diagnostics.js';
import { NAME_MAX_LENGTH } from '../schema/names.js';
import { createKnownFieldsLookup, describeNode, findValueOffset, locateYamlErrors, locateZodIssues, resolveDocumentData } from '../schema/yaml-diagnostics.js';

interface AgentSettingsCommon {
  token: string | undefined;
  agentId: string;
  providers: LlmProviderFileEntry[];
}

/** Settings naming one reconciler: what `server:` gives, and what each reconciler client is made from. */
export type SingleServerSettings = AgentSettingsCommon & { server: string };

/** The config the agent runs with: defaults applied, the token read; `server:` or `servers:` as the file says. */
export type AgentSettings = SingleServerSettings | (AgentSettingsCommon & { servers: string[] });

/** The reconcilers of the settings, in the order the agent tries them (never empty). */
export function serversOf(settings: AgentSettings): string[] {
  return 'servers' in settings ? settings.servers : [settings.server];
}

export type ParsedAgentConfig =
  | {
      ok: true;
      config: AgentConfig;
      tokenFileAt: { line: number; col: number } | undefined;
      /** Where each provider's apiKeyRef is, by the provider's index (undefined where it has none). */
      apiKeyRefsAt: ({ line: number; col: number } | undefined)[];
    }
  | { ok: false; diagnostics: Diagnostic[] };

/** Each error is one line, `file:line:col: path: message`, or `file: message` when the file cannot be read. */
export type AgentConfigLoad = { ok: true; config: AgentSettings } | { ok: false; errors: string[] };

export interface AgentConfigDeps {
  readFile(path: string): Promise<string>;
  hostname(): string;
  /** Where apiKeyRef environment variables are read (the process environment unless given). */
  env?: NodeJS.ProcessEnv;
}

const knownFieldsAt = createKnownFieldsLookup({
  '': Object.keys(agentConfigSchema.shape),
  'providers[]': Object.keys(llmProviderFileEntrySchema.shape),
  'providers[].apiKeyRef': ['env', 'file'],
});

/** Parses and validates the config text. Pure: no file reads, no defaults that need the host. */
export function parseAgentConfig(file: string, text: string): ParsedAgentConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): { line: number; col: number } => lineCounter.linePos(offset ?? 0);
  if (doc.errors.length > 0) return { ok: false, diagnostics: locateYamlErrors(file, doc, text, lineCounter) };
  const root = doc.contents;
  if (!isMap(root)) {
    const found = root === null || (isScalar(root) && root.value === null) ? 'an empty file' : describeNode(root);
    return { ok: false, diagnostics: [{ code: 'NotAMapping', file, ...at(root?.range?.[0]), path: '', message: `expected a mapping with server and providers, found ${found}` }] };
  }
  const resolved = resolveDocumentData(file, doc, lineCounter);
  if (!resolved.ok) return { ok: false, diagnostics: [resolved.diagnostic] };
  const parsed = agentConfigSchema.safeParse(resolved.data, { reportInput: true });
  if (!parsed.success) {
    // The token is a secret: a message about it says what kind of value it is, never the value.
    const options = { data: resolved.data, knownFieldsAt, secretFields: ['token', 'apiKeyRef'], pathStyle: 'brackets' } as const;
    const choice = agentServerChoiceSchema.safeParse(resolved.data);
    // Reported once: a field's first issue is the one kept.
    const issues = choice.success ? parsed.error.issues : [...parsed.error.issues, ...choice.error.issues];
    return { ok: false, diagnostics: locateZodIssues(file, doc, lineCounter, issues, options).sort(compareDiagnostics) };
  }
  const tokenFileOffset = parsed.data.tokenFile === undefined ? undefined : findValueOffset(doc, ['tokenFile']);
  const apiKeyRefsAt = parsed.data.providers.map((provider, index) => {
    const offset = provider.apiKeyRef === undefined ? undefined : findValueOffset(doc, ['providers', index, 'apiKeyRef']);
    return offset === undefined ? undefined : at(offset);
  });
  return { ok: true, config: parsed.data, tokenFileAt: tokenFileOffset === undefined ? undefined : at(tokenFileOffset), apiKeyRefsAt };
}

/** The default agent id: the host name, lower-cased and reduced to the name rule. */
export function deriveAgentId(hostname: string): string {
  const reduced = hostname
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, NAME_MAX_LENGTH)
    .replace(/[^a-z0-9]+$/, '');
  return reduced === '' ? 'agent' : reduced;
}

/**
 * Reads the config file (and its tokenFile, relative to the config's folder), applying defaults.
 * Each provider's apiKeyRef must point at a key now (a set variable, a readable non-empty file); a
 * file's path is resolved against the config's folder. The key itself is read again at each probe.
 */
export async function loadAgentConfig(file: string, deps: AgentConfigDeps): Promise<AgentConfigLoad> {
  let text: string;
  try {
    text = await deps.readFile(file);
  } catch (error) {
    return { ok: false, errors: [`${file}: cannot read the agent config: ${describeFsError(error)}`] };
  }
  const parsed = parseAgentConfig(file, text);
  if (!parsed.ok) return { ok: false, errors: parsed.diagnostics.map(formatDiagnostic) };
  const { config } = parsed;
  let token = config.token;
  if (config.tokenFile !== undefined) {
    const tokenPath = isAbsolute(config.tokenFile) ? config.tokenFile : resolve(dirname(file), config.tokenFile);
    const where = parsed.tokenFileAt ?? { line: 1, col: 1 };
    const fail = (message: string): AgentConfigLoad => ({
      ok: false,
      errors: [formatDiagnostic({ code: 'InvalidValue', file, ...where, path: 'tokenFile', message })],
    });
    try {
      token = (await deps.readFile(tokenPath)).trim();
    } catch (error) {
      return fail(`cannot read ${tokenPath}: ${describeFsError(error)}`);
    }
    if (token === '') return fail(`${tokenPath} is empty`);
  }
  const keyDeps = { env: deps.env ?? process.env, readFile: deps.readFile };
  const providers: LlmProviderFileEntry[] = [];
  const errors: string[] = [];
  for (const [index, provider] of config.providers.entries()) {
    const ref = provider.apiKeyRef;
    if (ref === undefined) {
      providers.push(provider);
      continue;
    }
    const resolvedRef = ref.file === undefined ? ref : { file: isAbsolute(ref.file) ? ref.file : resolve(dirname(file), ref.file) };
    const read = await readApiKey(resolvedRef, keyDeps);
    if (!read.ok) {
      const where = parsed.apiKeyRefsAt[index] ?? { line: 1, col: 1 };
      errors.push(formatDiagnostic({ code: 'InvalidValue', file, ...where, path: `providers[${index}].apiKeyRef`, message: `provider ${provider.name}: ${read.message}` }));
    }
    providers.push({ ...provider, apiKeyRef: resolvedRef });
  }
  if (errors.length > 0) return { ok: false, errors };
  const common = { token, agentId: config.agentId ?? deriveAgentId(deps.hostname()), providers };
  if (config.servers !== undefined) return { ok: true, config: { servers: config.servers, ...common } };
  // The schema has already refused a config with neither; this keeps the types honest.
  if (config.server === undefined) return { ok: false, errors: [`${file}: no server or servers`] };
  return { ok: true, config: { server: config.server, ...common } };
}
