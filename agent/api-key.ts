// A provider's API key, read through its apiKeyRef (an environment variable or a file) for the
// probe's `Authorization: Bearer` header. Messages name the reference, never the key.
import type { ProviderApiKeyRef } from '../schema/agent-config.js';
import { describeFsError } from './fs-error.js';

export interface ApiKeyDeps {
  env: NodeJS.ProcessEnv;
  readFile(path: string): Promise<string>;
}

export type ApiKeyRead = { ok: true; key: string } | { ok: false; message: string };

/** Reads the key `ref` points at; a file's path is taken as given (the config loader resolves it). */
export async function readApiKey(ref: ProviderApiKeyRef, deps: ApiKeyDeps): Promise<ApiKeyRead> {
  if (ref.env !== undefined) {
    const key = deps.env[ref.env]?.trim() ?? '';
    return key === '' ? { ok: false, message: `apiKeyRef env ${ref.env} is not set` } : { ok: true, key };
  }
  const path = ref.file ?? '';
  let text: string;
  try {
    text = await deps.readFile(path);
  } catch (error) {
    return { ok: false, message: `apiKeyRef file ${path}: ${describeFsError(error)}` };
  }
  const key = text.trim();
  return key === '' ? { ok: false, message: `apiKeyRef file ${path} is empty` } : { ok: true, key };
}
