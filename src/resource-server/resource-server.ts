// The framework-agnostic core: `createResourceServer(options).verify(request, requirement)`
// answers with the verified token or throws a ResourceServerError that says how to refuse.
import { accessTokenVerifier, type AccessTokenClaims } from './access-token.ts';
import { API_KEY_PREFIX, headerApiKey, verifyApiKey, type ApiKeyOptions } from './api-key.ts';
import { presentedToken, singleHeader, type Headers } from './authorization-header.ts';
import { checkCertificateBinding } from './certificate-binding.ts';
import { errorResponse, type ErrorResponse } from './challenge.ts';
import { dpopChecker } from './dpop.ts';
import { InsufficientScope, InvalidToken, type ResourceServerError } from './errors.ts';
import { introspector, type IntrospectionOptions } from './introspection.ts';
import { issuerMetadata } from './issuer-metadata.ts';
import { memoryReplayCache, type ReplayCache } from './replay-cache.ts';

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
export function createResourceServer(options: ResourceServerOptions): ResourceServer {
  const clockTolerance = options.clockTolerance ?? 10;
  const clock = options.clock ?? Date.now;
  const metadata = issuerMetadata({
    issuer: options.issuer,
    allowedEndpointOrigins: options.allowedEndpointOrigins ?? [],
    maxAge: (options.metadataMaxAge ?? 10_800) * 1000,
    now: clock,
  });
  const verifyAccessToken = accessTokenVerifier(
    {
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance,
      jwksCooldown: options.jwksCooldown ?? 30,
      jwksMaxAge: options.jwksMaxAge ?? 300,
    },
    metadata,
  );
  const introspection = options.introspection ? introspector(options.introspection, metadata, clock) : undefined;
  if (options.apiKeys && !introspection)
    throw new Error("apiKeys needs the `introspection` option (the API's client credentials)");
  const checkDpopProof = dpopChecker({
    proofMaxAge: options.dpopProofMaxAge ?? 60,
    clockTolerance,
    replayCache: options.replayCache ?? memoryReplayCache(),
  });
  const realm = options.realm ?? options.audience;

  return {
    async verify(request, requirement = {}) {
      const scopesOf = (claims: AccessTokenClaims) =>
        typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
      const required = requirement.scopes ?? [];
      if (options.apiKeys && introspection) {
        const inHeader = headerApiKey(request.headers, options.apiKeys);
        const presented = inHeader === undefined ? presentedToken(request.headers) : undefined;
        const key = inHeader ?? (presented?.token.startsWith(API_KEY_PREFIX) ? presented.token : undefined);
        if (key !== undefined) {
          // A key is a bearer credential: it cannot be DPoP-bound.
          if (presented?.scheme === 'DPoP') throw new InvalidToken('an API key is not DPoP-bound', 'DPoP');
          const claims = await verifyApiKey(key, {
            issuer: options.issuer,
            audience: options.audience,
            introspector: introspection,
          });
          const scopes = scopesOf(claims);
          if (!required.every((s) => scopes.includes(s))) throw new InsufficientScope(required);
          // A key's scopes were granted to it by an admin, by name: they are its permissions too.
          const needed = requirement.permissions ?? [];
          if (!needed.every((p) => scopes.includes(p))) throw new InsufficientScope(needed);
          return { claims, scopes, permissions: scopes, scheme: 'Bearer', type: 'api_key' };
        }
      }
      const { scheme, token } = presentedToken(request.headers);
      const claims = await verifyAccessToken(token, scheme);
      const jkt = claims.cnf?.jkt;
      if (jkt !== undefined) {
        // RFC 9449 §7.1: a DPoP-bound token comes with the DPoP scheme and a proof; as a plain
        // bearer token it is refused (that is what binding is for).
        if (scheme !== 'DPoP')
          throw new InvalidToken('the access token is DPoP-bound: use the DPoP scheme with a proof', 'DPoP');
        await checkDpopProof(singleHeader(request.headers, 'dpop', 'DPoP'), request, token, jkt);
      } else if (scheme === 'DPoP') {
        throw new InvalidToken('the access token is not DPoP-bound', 'DPoP');
      }
      const x5t = claims.cnf?.['x5t#S256'];
      if (x5t !== undefined) checkCertificateBinding(x5t, request.clientCertificate, scheme);
      if (requirement.introspect) {
        if (!introspection)
          throw new Error("introspect: true needs the `introspection` option (the API's client credentials)");
        await introspection.checkActive(token, claims.exp, scheme);
      }
      const scopes = scopesOf(claims);
      if (!required.every((s) => scopes.includes(s))) throw new InsufficientScope(required, scheme);
      const permissions = Array.isArray(claims.permissions)
        ? claims.permissions.filter((p): p is string => typeof p === 'string')
        : [];
      const needed = requirement.permissions ?? [];
      // A permission is an API scope that a role grants: a refusal names it as a scope (RFC 6750 §3.1).
      if (!needed.every((p) => permissions.includes(p))) throw new InsufficientScope(needed, scheme);
      return { claims, scopes, permissions, scheme, type: 'access_token' };
    },
    errorResponse: (err) => errorResponse(err, realm),
  };
}
