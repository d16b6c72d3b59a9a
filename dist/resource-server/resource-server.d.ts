import { type AccessTokenClaims } from './access-token.ts';
import { type ApiKeyOptions } from './api-key.ts';
import { type Headers } from './authorization-header.ts';
import { type ErrorResponse } from './challenge.ts';
import { type ResourceServerError } from './errors.ts';
import { type IntrospectionOptions } from './introspection.ts';
import { type ReplayCache } from './replay-cache.ts';
export interface ResourceServerOptions {
    /** The issuer identifier, exactly as in the tokens' `iss` (e.g. `https://id.example.com`). */
    issuer: string;
    /** This API's audience, as registered with `tessera apis create --audience`. */
    audience: string;
    /** The realm named in challenges (RFC 6750 §3). Default: the audience. */
    realm?: string;
    /**
     * Seconds of clock skew tolerated on exp, nbf and iat. Default 10: servers kept by NTP
     * differ by milliseconds; 10 s covers a badly synchronized one and extends nothing much.
     */
    clockTolerance?: number;
    /**
     * Seconds between JWKS refetches for a token with an unknown kid. Default 30: a key Tessera
     * starts signing with is published an hour earlier, so the refetch is rarely needed at all.
     */
    jwksCooldown?: number;
    /** Seconds a fetched JWKS is used before it is fetched again. Default 300 (Tessera's own Cache-Control). */
    jwksMaxAge?: number;
    /**
     * Origins besides the issuer's where its discovery document may place `jwks_uri` and
     * `introspection_endpoint` (e.g. `['https://keys.example.com']`). Default none: an endpoint on
     * another origin is refused (503), so a tampered document can neither choose the keys tokens
     * are checked with nor receive the API's client secret.
     */
    allowedEndpointOrigins?: string[];
    /**
     * Seconds before the discovery document is read again. Default 10800 (3 h): the endpoints
     * rarely move, and one request per process every few hours follows a move within a working
     * morning. Keys are refreshed on their own schedule (`jwksMaxAge`, `jwksCooldown`).
     */
    metadataMaxAge?: number;
    /**
     * Milliseconds since the epoch, for the metadata schedule and the introspection cache. Default
     * `Date.now` (tests move it on). The JWKS cache keeps jose's own clock (`Date.now`).
     */
    clock?: () => number;
    /** Credentials of the API's own client (`--serves <audience>`), for introspection mode. */
    introspection?: IntrospectionOptions;
    /**
     * Accept Tessera's API keys (`tsk_…`) besides access tokens: as `Authorization: Bearer tsk_…`
     * and, with `header`, in that header. Needs `introspection` (the API's client credentials): a
     * key is checked by introspection, its answer cached for `introspection.cacheTtl`.
     */
    apiKeys?: ApiKeyOptions;
    /** Seconds a DPoP proof is accepted after it was made. Default 60 (RFC 9449 §11.1: short). */
    dpopProofMaxAge?: number;
    /** Where DPoP proof ids are remembered. Default: in this process's memory. */
    replayCache?: ReplayCache;
}
/** What one route requires of the token. */
export interface Requirement {
    /** Every one of these scopes must be in the token's `scope`. */
    scopes?: string[];
    /**
     * Every one of these must be in the token's `permissions` claim (RBAC: the API enforces roles
     * and issues the claim, `tessera apis update --token-claims permissions`). Refused like scopes:
     * 403 insufficient_scope.
     */
    permissions?: string[];
    /** Also ask the issuer whether the token is still active (RFC 7662), so revocation shows at once. */
    introspect?: boolean;
}
/** A request, whatever framework received it. */
export interface ProtectedRequest {
    /** The HTTP method, upper case. */
    method: string;
    /** The absolute URL the client called, as it sees it (for DPoP's htu). */
    url: string;
    /** Header names in lower case, as Node gives them. */
    headers: Headers;
    /** DER of the client's TLS certificate, from the socket or a trusted proxy's header. */
    clientCertificate?: Uint8Array;
}
/** The verified token, handed to the route. */
export interface VerifiedToken {
    claims: AccessTokenClaims;
    /** The token's scopes, split. */
    scopes: string[];
    /** The token's `permissions` claim (RBAC); empty without one. */
    permissions: string[];
    /** How it was presented: `Bearer`, or `DPoP` for a DPoP-bound token. */
    scheme: 'Bearer' | 'DPoP';
    /**
     * `access_token` (a JWT), or `api_key`: then `claims` are Tessera's introspection answer
     * (`sub`, `aud`, `scope`, `client_id` for a client's key, `exp` for a key that expires; no `jti`).
     */
    type: 'access_token' | 'api_key';
}
export interface ResourceServer {
    /** Verifies the request's token for this requirement; throws a ResourceServerError otherwise. */
    verify(request: ProtectedRequest, requirement?: Requirement): Promise<VerifiedToken>;
    /** The status, headers and body to answer a refusal with (RFC 6750 §3, RFC 9449 §7.1). */
    errorResponse(err: ResourceServerError): ErrorResponse;
}
/**
 * A verifier for one API. Create it once per process: it holds the discovered metadata, the
 * JWKS cache, the introspection cache and the DPoP replay cache. Nothing is fetched until the
 * first request.
 */
export declare function createResourceServer(options: ResourceServerOptions): ResourceServer;
