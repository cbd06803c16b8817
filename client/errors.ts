// What can go wrong talking to a reconciler, as typed errors. Each message is one complete line;
// a front end (the CLI, the gateway) decides what each means to its user (the CLI: exit codes).

export class ClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientError';
  }
}

/** No answer at all: refused, reset, timed out, or the stream broke. */
export class ReconcilerUnreachable extends ClientError {
  constructor(
    readonly server: string,
    /** A short reason: the socket error code (`ECONNREFUSED`) or `timed out`. */
    readonly reason: string,
  ) {
    super(`cannot reach the reconciler at ${server}: ${reason}`);
    this.name = 'ReconcilerUnreachable';
  }
}

/** The `server` the client was given is not an http(s) URL. */
export class InvalidServerUrl extends ClientError {
  constructor(readonly server: string) {
    super(`server: expected an http(s) URL, found ${JSON.stringify(server)}`);
    this.name = 'InvalidServerUrl';
  }
}

/** The reconciler answered with an error status; `code` is its error code (`LlmNotFound`) or `HTTP<status>`. */
export class HttpError extends ClientError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The reconciler answered 2xx with a body that is not JSON, or not the shape of its route. */
export class MalformedAnswer extends ClientError {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedAnswer';
  }
}

/** No answer at all from a pool gateway: refused, reset or timed out. */
export class GatewayUnreachable extends ClientError {
  constructor(
    readonly gateway: string,
    /** A short reason: the socket error code (`ECONNREFUSED`) or `timed out`. */
    readonly reason: string,
  ) {
    super(`cannot reach the gateway at ${gateway}: ${reason}`);
    this.name = 'GatewayUnreachable';
  }
}

/** A gateway URL (--gateway, MCPCTL_GATEWAY) that is not an http(s) URL. */
export class InvalidGatewayUrl extends ClientError {
  constructor(readonly gateway: string) {
    super(`gateway: expected an http(s) URL, found ${JSON.stringify(gateway)}`);
    this.name = 'InvalidGatewayUrl';
  }
}
