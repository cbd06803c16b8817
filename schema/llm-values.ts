// The fixed values of the mcpctl/v1 API: its version and the choices of an Llm's fields. A leaf
// without zod schemas, so that reading views (schema/views.ts) does not build the resource schemas.
export const API_VERSION = 'mcpctl/v1';
export const LLM_TYPES = ['vllm', 'openai', 'ollama', 'llamacpp', 'tgi', 'anthropic', 'other'] as const;
export const LLM_SOURCES = ['agent', 'static'] as const;
