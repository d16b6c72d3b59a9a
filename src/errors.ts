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
