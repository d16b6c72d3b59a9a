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

/** A write refused by a unique constraint (Prisma's P2002): the row exists already. */
export const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === 'P2002';

/**
 * Runs a create and answers a unique violation with Conflict(message). The INSERT decides, not
 * a read before it: of two concurrent creates of one name, one is created and one is a 409
 * (a read first let both through to the INSERT, and the loser was a 500).
 */
export async function createOrConflict<T>(create: () => Promise<T>, message: string): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (isUniqueViolation(err)) throw new Conflict(message);
    throw err;
  }
}

/** If-Match named a version that is no longer the resource's (RFC 9110 §13.1.1). */
export class PreconditionFailed extends TesseraError {
  constructor(message = 'the resource changed since it was read (If-Match does not match its ETag); read it again') {
    super(message, 412, 'precondition_failed');
  }
}

/** An update without If-Match (RFC 6585 §3): two admins must not overwrite each other unknowingly. */
export class PreconditionRequired extends TesseraError {
  constructor(message = 'send If-Match with the ETag of the resource as last read') {
    super(message, 428, 'precondition_required');
  }
}

// A dependency is down, not the request wrong: a client may retry after this many seconds
// (RFC 9110 §10.2.3). Long enough for a PostgreSQL restart or failover to finish, short enough
// that a retrying client is not kept waiting once it has.
export const RETRY_AFTER_SECONDS = 5;

/**
 * An RFC 6749 error raised below both error paths (in the queries): shaped like oidc-provider's
 * own errors (the message is the error code; `expose`, `statusCode`, `error_description`), so
 * that its endpoints render it as they render theirs, and Tessera's error handler the same way.
 */
export class ProtocolError extends Error {
  readonly expose = true;
  readonly status: number;
  readonly statusCode: number;
  readonly error: string;
  readonly error_description: string;
  constructor(status: number, error: string, description: string, options?: { cause?: unknown }) {
    super(error, options);
    this.name = this.constructor.name;
    this.status = status;
    this.statusCode = status;
    this.error = error;
    this.error_description = description;
  }
}

/** The database cannot be reached: 503 temporarily_unavailable, to be retried. */
export class ServiceUnavailable extends ProtocolError {
  constructor(options?: { cause?: unknown }) {
    super(503, 'temporarily_unavailable', 'the database is unavailable; retry shortly', options);
  }
}

/** The request carries a character no parameter may contain (U+0000, RFC 6749 Appendix A). */
export class ForbiddenCharacter extends ProtocolError {
  constructor(options?: { cause?: unknown }) {
    super(400, 'invalid_request', 'the request contains a character that is not allowed', options);
  }
}

/** The request may not do this: a form without this site's token (CSRF), for one. */
export class Forbidden extends TesseraError {
  constructor(message: string) {
    super(message, 403, 'forbidden');
  }
}
