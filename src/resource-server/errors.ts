// The kit's refusals. Each one knows its HTTP status and the challenge it answers with, so
// that every adapter (Koa, Express, anything else) answers the same, exactly as RFC 6750 §3
// and RFC 9449 §7.1 say. Messages are deliberately short and vague about *why* a signature or
// key did not match (they are read by whoever holds the token, who may be an attacker).

/** The authentication scheme a refusal challenges with: Bearer (RFC 6750) or DPoP (RFC 9449). */
export type Scheme = 'Bearer' | 'DPoP';

/** Base class of every refusal; `code` is the RFC error code, `status` the HTTP status. */
export class ResourceServerError extends Error {
  readonly status: number;
  readonly code: string;
  /** The scheme of the `WWW-Authenticate` challenge; none for 503. */
  readonly scheme: Scheme | undefined;
  constructor(message: string, status: number, code: string, scheme: Scheme | undefined) {
    super(message);
    this.name = this.constructor.name;
    this.status = status;
    this.code = code;
    this.scheme = scheme;
  }
}

/**
 * No credentials at all (RFC 6750 §3.1: "the resource server SHOULD NOT include an error code
 * or other error information"): 401 with a bare challenge.
 */
export class MissingToken extends ResourceServerError {
  constructor() {
    super('no access token', 401, '', 'Bearer');
  }
}

/** RFC 6750 §3.1 `invalid_request`: the request itself is malformed (400). */
export class InvalidRequest extends ResourceServerError {
  constructor(message: string, scheme: Scheme = 'Bearer') {
    super(message, 400, 'invalid_request', scheme);
  }
}

/** RFC 6750 §3.1 `invalid_token`: expired, revoked, malformed, or not for this API (401). */
export class InvalidToken extends ResourceServerError {
  constructor(message: string, scheme: Scheme = 'Bearer') {
    super(message, 401, 'invalid_token', scheme);
  }
}

/** RFC 9449 §7.1 `invalid_dpop_proof`: the DPoP proof is missing or does not check out (401). */
export class InvalidDpopProof extends ResourceServerError {
  constructor(message: string) {
    super(message, 401, 'invalid_dpop_proof', 'DPoP');
  }
}

/** RFC 6750 §3.1 `insufficient_scope`: a good token without the scopes this route needs (403). */
export class InsufficientScope extends ResourceServerError {
  readonly scope: string;
  constructor(required: string[], scheme: Scheme = 'Bearer') {
    super(`this resource needs the scope ${required.join(' ')}`, 403, 'insufficient_scope', scheme);
    this.scope = required.join(' ');
  }
}

/**
 * An API key whose quota is spent (Tessera's introspection says `reason: "quota_exceeded"`):
 * 429 with `Retry-After` (RFC 6585 §4), the seconds until the key has quota again.
 */
export class QuotaExceeded extends ResourceServerError {
  readonly retryAfter: number;
  constructor(retryAfter: number) {
    super('the API key has used up its quota', 429, 'quota_exceeded', undefined);
    this.retryAfter = retryAfter;
  }
}

/**
 * The authorization server (its discovery document, JWKS or introspection endpoint) could not
 * be reached or answered nonsense. The kit fails closed: 503, and the caller may retry.
 */
export class AuthorizationServerUnavailable extends ResourceServerError {
  constructor(message: string) {
    super(message, 503, 'temporarily_unavailable', undefined);
  }
}
