/** The authentication scheme a refusal challenges with: Bearer (RFC 6750) or DPoP (RFC 9449). */
export type Scheme = 'Bearer' | 'DPoP';
/** Base class of every refusal; `code` is the RFC error code, `status` the HTTP status. */
export declare class ResourceServerError extends Error {
    readonly status: number;
    readonly code: string;
    /** The scheme of the `WWW-Authenticate` challenge; none for 503. */
    readonly scheme: Scheme | undefined;
    constructor(message: string, status: number, code: string, scheme: Scheme | undefined);
}
/**
 * No credentials at all (RFC 6750 §3.1: "the resource server SHOULD NOT include an error code
 * or other error information"): 401 with a bare challenge.
 */
export declare class MissingToken extends ResourceServerError {
    constructor();
}
/** RFC 6750 §3.1 `invalid_request`: the request itself is malformed (400). */
export declare class InvalidRequest extends ResourceServerError {
    constructor(message: string, scheme?: Scheme);
}
/** RFC 6750 §3.1 `invalid_token`: expired, revoked, malformed, or not for this API (401). */
export declare class InvalidToken extends ResourceServerError {
    constructor(message: string, scheme?: Scheme);
}
/** RFC 9449 §7.1 `invalid_dpop_proof`: the DPoP proof is missing or does not check out (401). */
export declare class InvalidDpopProof extends ResourceServerError {
    constructor(message: string);
}
/** RFC 6750 §3.1 `insufficient_scope`: a good token without the scopes this route needs (403). */
export declare class InsufficientScope extends ResourceServerError {
    readonly scope: string;
    constructor(required: string[], scheme?: Scheme);
}
/**
 * An API key whose quota is spent (Tessera's introspection says `reason: "quota_exceeded"`):
 * 429 with `Retry-After` (RFC 6585 §4), the seconds until the key has quota again.
 */
export declare class QuotaExceeded extends ResourceServerError {
    readonly retryAfter: number;
    constructor(retryAfter: number);
}
/**
 * The authorization server (its discovery document, JWKS or introspection endpoint) could not
 * be reached or answered nonsense. The kit fails closed: 503, and the caller may retry.
 */
export declare class AuthorizationServerUnavailable extends ResourceServerError {
    constructor(message: string);
}
