// Tessera's own errors (outside oidc-provider's endpoints, which throw the provider's
// errors.*). Each has an HTTP status and an RFC 6749 style code; the Koa error handler and the
// CLI both render them, and anything that is not one of these is an unexpected server_error.

export class TesseraError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(message: string, status: number, code: string) {
    super(message);
    this.name = this.constructor.name;
    this.status = status;
    this.code = code;
  }
}

/** The caller's input is wrong; the message says what to change. */
export class InvalidInput extends TesseraError {
  constructor(message: string) {
    super(message, 400, 'invalid_request');
  }
}

export class NotFound extends TesseraError {
  constructor(message: string) {
    super(message, 404, 'not_found');
  }
}

export class Conflict extends TesseraError {
  constructor(message: string) {
    super(message, 409, 'conflict');
  }
}

// A dependency is down, not the request wrong: a client may retry after this many seconds
// (RFC 9110 §10.2.3). Long enough for a PostgreSQL restart or failover to finish, short enough
// that a retrying client is not kept waiting once it has.
export const RETRY_AFTER_SECONDS = 5;

/**
 * The database cannot be reached: 503 with RFC 6749's `temporarily_unavailable`. Shaped like
 * oidc-provider's own errors (the message is the error code; `expose`, `statusCode` and
 * `error_description`), so that its endpoints render it as they render theirs, and Tessera's
 * error handler does the same for Tessera's routes.
 */
export class ServiceUnavailable extends Error {
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly error = 'temporarily_unavailable';
  readonly error_description: string;
  constructor(description: string, options?: { cause?: unknown }) {
    super('temporarily_unavailable', options);
    this.name = this.constructor.name;
    this.error_description = description;
  }
}
