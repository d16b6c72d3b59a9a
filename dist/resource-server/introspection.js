// Asking the authorization server whether a token is still active (RFC 7662), for routes that
// must see a revocation before the token expires. The resource server authenticates as its own
// client (registered in Tessera with `--serves <audience>`), with client_secret_basic.
import { createHash } from 'node:crypto';
import { AuthorizationServerUnavailable, InvalidToken } from "./errors.js";
import { FETCH_TIMEOUT_MS } from "./issuer-metadata.js";
// The cache holds at most this many answers (a few MB); past it the oldest are dropped first,
// which only costs another introspection request.
const MAX_ENTRIES = 10_000;
// RFC 6749 §2.3.1: client_id and secret are form-urlencoded before Basic encoding.
const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
/** `now` (milliseconds since the epoch) ages the cached answers; tests move it on. */
export function introspector(options, metadata, now = Date.now) {
    const cacheTtl = (options.cacheTtl ?? 5) * 1000;
    // Keyed by the token's hash: the cache never holds a usable token.
    const cache = new Map();
    async function ask(token, hint = 'access_token') {
        const endpoint = (await metadata()).introspection_endpoint;
        if (!endpoint)
            throw new AuthorizationServerUnavailable('the authorization server has no introspection endpoint');
        let body;
        try {
            const res = await fetch(endpoint, {
                method: 'POST',
                headers: {
                    authorization: basic(options.clientId, options.clientSecret),
                    'content-type': 'application/x-www-form-urlencoded',
                    accept: 'application/json',
                },
                body: new URLSearchParams({ token, token_type_hint: hint }),
                signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
            });
            if (!res.ok)
                throw new Error(`status ${res.status}`);
            body = (await res.json());
            if (typeof body !== 'object' || body === null)
                throw new Error('not an object');
        }
        catch {
            throw new AuthorizationServerUnavailable('the authorization server could not introspect the token');
        }
        return body;
    }
    /** The cache entry for `token`, kept by the hash of the token only. */
    const cacheKey = (token) => createHash('sha256').update(token).digest('base64url');
    function remember(key, entry, at) {
        cache.delete(key);
        if (cache.size >= MAX_ENTRIES)
            cache.delete(cache.keys().next().value);
        if (entry.until > at)
            cache.set(key, entry);
    }
    return {
        /** Throws invalid_token unless the issuer says the token (already verified locally) is active. */
        async checkActive(token, exp, scheme) {
            const key = cacheKey(token);
            const at = now();
            let entry = cache.get(key);
            if (!entry || entry.until <= at) {
                const answer = await ask(token);
                // RFC 7662 §2.2: `active` is a boolean; anything but `true` is inactive.
                const active = answer.active === true;
                entry = { answer: { active }, until: active ? Math.min(at + cacheTtl, exp * 1000) : exp * 1000 };
                remember(key, entry, at);
            }
            if (entry.answer.active !== true)
                throw new InvalidToken('the access token is not active', scheme);
        },
        /**
         * The issuer's answer about an API key, reused for `cacheTtl` whether active or not: a key
         * has no local expiry to keep an inactive answer until, and a spent quota comes back. An
         * answer about a spent quota is kept no longer than its retry_after.
         */
        async apiKey(token) {
            const key = cacheKey(token);
            const at = now();
            let entry = cache.get(key);
            if (!entry || entry.until <= at) {
                const answer = await ask(token, 'api_key');
                const retry = typeof answer.retry_after === 'number' ? answer.retry_after * 1000 : cacheTtl;
                const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : Number.POSITIVE_INFINITY;
                entry = { answer, until: Math.min(at + Math.min(cacheTtl, retry), exp) };
                remember(key, entry, at);
            }
            return entry.answer;
        },
    };
}
