// Every error the gateway answers, in OpenAI's shape (`{"error":{"message","type","param","code"}}`),
// declared once with its HTTP status: OpenAI clients (the official SDKs, LangChain) read `type`
// and `code`, and a gateway answering anything else breaks their retry logic.

export const GATEWAY_ERRORS = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  missing_model: { status: 400, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  permission_denied: { status: 403, type: 'permission_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  no_active_member: { status: 503, type: 'service_unavailable' },
  gateway_closing: { status: 503, type: 'service_unavailable' },
  upstream_error: { status: 502, type: 'upstream_error' },
  internal_error: { status: 500, type: 'server_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;

  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly param: string | null = null,
    /** Extra answer headers: `Retry-After` on a 503, `WWW-Authenticate` on a 401. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = GATEWAY_ERRORS[code].status;
    this.type = GATEWAY_ERRORS[code].type;
  }

  body(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
