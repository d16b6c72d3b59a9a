// Tessera's managed API keys (`tsk_…`), accepted beside JWT access tokens so that a route is
// protected once for both. A key is opaque: the kit asks Tessera's introspection endpoint
// (RFC 7662) as the API's own client, with the introspection cache (introspection.ts), and
// Tessera answers for the API's keys only, counting each introspection against the key's usage
// and quota. A key whose quota is spent is refused with 429 and Retry-After.
import { singleHeader } from "./authorization-header.js";
import { InvalidRequest, InvalidToken, QuotaExceeded } from "./errors.js";
/** Tessera's API key prefix (tessera api-keys create). */
export const API_KEY_PREFIX = 'tsk_';
// The key's shape: the prefix and base62 (Tessera checks the checksum). Anything else is refused
// here without asking: 200 characters is well above a key's 53.
const API_KEY_SHAPE = /^tsk_[0-9A-Za-z]{1,200}$/;
/** The API key in the configured header, if one is configured and present. */
export function headerApiKey(headers, options) {
    if (!options.header)
        return undefined;
    const value = singleHeader(headers, options.header.toLowerCase());
    if (value === undefined)
        return undefined;
    if (headers.authorization !== undefined)
        throw new InvalidRequest('an API key and an Authorization header at once');
    return value.trim();
}
/** Asks Tessera about the key; the introspection answer as claims, or a refusal. */
export async function verifyApiKey(key, deps) {
    if (!API_KEY_SHAPE.test(key))
        throw new InvalidToken('malformed API key');
    const answer = await deps.introspector.apiKey(key);
    if (answer.reason === 'quota_exceeded' && typeof answer.retry_after === 'number')
        throw new QuotaExceeded(Math.max(1, Math.ceil(answer.retry_after)));
    // Tessera tells an API only about its own keys; the audience is checked here all the same.
    if (answer.active !== true || answer.token_type !== 'api_key' || answer.aud !== deps.audience)
        throw new InvalidToken('the API key is not active');
    // The introspection answer's members (RFC 7662 §2.2): no jti, and exp only for a key that expires.
    return { ...answer, iss: deps.issuer };
}
