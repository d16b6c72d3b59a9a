// The authorization server's metadata, found by discovery (OpenID Connect Discovery 1.0 §4, the
// same document RFC 8414 describes). A document whose `issuer` matches may still have been
// tampered with on the way or at the server, and its jwks_uri decides which keys sign valid
// tokens while its introspection_endpoint receives the API's client secret: so every endpoint
// it names must be on the issuer's origin, or on an origin the API allowed by name.
//
// The metadata is read again after `maxAge`, so that a moved endpoint is followed without a
// restart. A re-read that fails (unreachable, or a document that does not pass these checks)
// keeps the last verified metadata and is tried again after RETRY_AFTER_FAILURE_MS. A first
// read that fails is not kept: the next request tries again.
import { AuthorizationServerUnavailable } from "./errors.js";
// A resource server waits at most this long for the authorization server before failing closed
// (503); the client's own HTTP timeout is usually longer, so it gets an answer it can act on.
export const FETCH_TIMEOUT_MS = 5_000;
// After a failed re-read the last good metadata serves on; asking again at most every 30 s (the
// JWKS refetch cooldown's default) keeps a down or misbehaving issuer from being hammered.
const RETRY_AFTER_FAILURE_MS = 30_000;
/** The URL's origin, or undefined when it is not an absolute http(s) URL. */
function originOf(url) {
    const parsed = typeof url === 'string' ? URL.parse(url) : null;
    return parsed && (parsed.protocol === 'https:' || parsed.protocol === 'http:') ? parsed.origin : undefined;
}
export function issuerMetadata(options) {
    const { issuer } = options;
    const allowed = new Set([issuer, ...options.allowedEndpointOrigins].map((url) => {
        const origin = originOf(url);
        if (!origin)
            throw new TypeError(`not an http(s) URL: ${url}`);
        return origin;
    }));
    const allowedEndpoint = (url) => {
        const origin = originOf(url);
        return origin !== undefined && allowed.has(origin);
    };
    async function discover() {
        const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
        let metadata;
        try {
            const res = await fetch(url, {
                headers: { accept: 'application/json' },
                signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
            });
            if (!res.ok)
                throw new Error(`status ${res.status}`);
            metadata = (await res.json());
        }
        catch {
            throw new AuthorizationServerUnavailable("the authorization server's metadata could not be fetched");
        }
        // OpenID Connect Discovery §4.3 / RFC 8414 §3.3: the document must name the issuer we asked
        // for exactly, or an attacker who controls it could substitute their own keys.
        if (metadata.issuer !== issuer || typeof metadata.jwks_uri !== 'string') {
            throw new AuthorizationServerUnavailable("the authorization server's metadata does not match its issuer");
        }
        if (!allowedEndpoint(metadata.jwks_uri) ||
            (metadata.introspection_endpoint !== undefined && !allowedEndpoint(metadata.introspection_endpoint))) {
            throw new AuthorizationServerUnavailable("the authorization server's metadata names an endpoint outside the allowed origins");
        }
        return {
            issuer,
            jwks_uri: metadata.jwks_uri,
            ...(metadata.introspection_endpoint !== undefined
                ? { introspection_endpoint: metadata.introspection_endpoint }
                : {}),
        };
    }
    let current;
    let pending;
    function read() {
        pending ??= discover()
            .then((metadata) => {
            current = { metadata, due: options.now() + options.maxAge };
            return metadata;
        }, (err) => {
            if (!current)
                throw err;
            current.due = options.now() + RETRY_AFTER_FAILURE_MS;
            return current.metadata;
        })
            .finally(() => {
            pending = undefined;
        });
        return pending;
    }
    return () => (current && options.now() < current.due ? Promise.resolve(current.metadata) : read());
}
