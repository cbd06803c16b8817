// The release version, shared by the CLI, the reconciler (/healthz) and the agent (registration).
export const VERSION = '0.1.0';
