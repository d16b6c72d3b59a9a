// The framework-agnostic core: `createResourceServer(options).verify(request, requirement)`
// answers with the verified token or throws a ResourceServerError that says how to refuse.
import { accessTokenVerifier } from "./access-token.js";
import { API_KEY_PREFIX, headerApiKey, verifyApiKey } from "./api-key.js";
import { presentedToken, singleHeader } from "./authorization-header.js";
import { checkCertificateBinding } from "./certificate-binding.js";
import { errorResponse } from "./challenge.js";
import { dpopChecker } from "./dpop.js";
import { InsufficientScope, InvalidToken } from "./errors.js";
import { introspector } from "./introspection.js";
import { issuerMetadata } from "./issuer-metadata.js";
import { memoryReplayCache } from "./replay-cache.js";
/**
 * A verifier for one API. Create it once per process: it holds the discovered metadata, the
 * JWKS cache, the introspection cache and the DPoP replay cache. Nothing is fetched until the
 * first request.
 */
export function createResourceServer(options) {
    const clockTolerance = options.clockTolerance ?? 10;
    const clock = options.clock ?? Date.now;
    const metadata = issuerMetadata({
        issuer: options.issuer,
        allowedEndpointOrigins: options.allowedEndpointOrigins ?? [],
        maxAge: (options.metadataMaxAge ?? 10_800) * 1000,
        now: clock,
    });
    const verifyAccessToken = accessTokenVerifier({
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance,
        jwksCooldown: options.jwksCooldown ?? 30,
        jwksMaxAge: options.jwksMaxAge ?? 300,
    }, metadata);
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
            const scopesOf = (claims) => typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
            const required = requirement.scopes ?? [];
            if (options.apiKeys && introspection) {
                const inHeader = headerApiKey(request.headers, options.apiKeys);
                const presented = inHeader === undefined ? presentedToken(request.headers) : undefined;
                const key = inHeader ?? (presented?.token.startsWith(API_KEY_PREFIX) ? presented.token : undefined);
                if (key !== undefined) {
                    // A key is a bearer credential: it cannot be DPoP-bound.
                    if (presented?.scheme === 'DPoP')
                        throw new InvalidToken('an API key is not DPoP-bound', 'DPoP');
                    const claims = await verifyApiKey(key, {
                        issuer: options.issuer,
                        audience: options.audience,
                        introspector: introspection,
                    });
                    const scopes = scopesOf(claims);
                    if (!required.every((s) => scopes.includes(s)))
                        throw new InsufficientScope(required);
                    // A key's scopes were granted to it by an admin, by name: they are its permissions too.
                    const needed = requirement.permissions ?? [];
                    if (!needed.every((p) => scopes.includes(p)))
                        throw new InsufficientScope(needed);
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
            }
            else if (scheme === 'DPoP') {
                throw new InvalidToken('the access token is not DPoP-bound', 'DPoP');
            }
            const x5t = claims.cnf?.['x5t#S256'];
            if (x5t !== undefined)
                checkCertificateBinding(x5t, request.clientCertificate, scheme);
            if (requirement.introspect) {
                if (!introspection)
                    throw new Error("introspect: true needs the `introspection` option (the API's client credentials)");
                await introspection.checkActive(token, claims.exp, scheme);
            }
            const scopes = scopesOf(claims);
            if (!required.every((s) => scopes.includes(s)))
                throw new InsufficientScope(required, scheme);
            const permissions = Array.isArray(claims.permissions)
                ? claims.permissions.filter((p) => typeof p === 'string')
                : [];
            const needed = requirement.permissions ?? [];
            // A permission is an API scope that a role grants: a refusal names it as a scope (RFC 6750 §3.1).
            if (!needed.every((p) => permissions.includes(p)))
                throw new InsufficientScope(needed, scheme);
            return { claims, scopes, permissions, scheme, type: 'access_token' };
        },
        errorResponse: (err) => errorResponse(err, realm),
    };
}
