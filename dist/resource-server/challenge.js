// The HTTP answer to a refusal: status, `WWW-Authenticate` challenge and JSON body, one
// function for every adapter.
import { InsufficientScope, QuotaExceeded } from "./errors.js";
// RFC 9449 §7.1: a DPoP challenge lists the proof algorithms the resource server accepts.
export const DPOP_ALGS = ['ES256', 'PS256', 'RS256', 'EdDSA'];
/**
 * RFC 9110 §5.6.4 quoted-string. RFC 6750 §3 forbids `"` and `\` in error_description (and the
 * kit's messages have none), so escaping is only a safety net for a realm that has them.
 */
function quote(value) {
    return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
/**
 * Renders a refusal. RFC 6750 §3: `Bearer realm="…", error="…", error_description="…"` (and
 * `scope="…"` for insufficient_scope); with no token, only the realm (§3.1). RFC 9449 §7.1: the
 * same parameters under the `DPoP` scheme, plus `algs`.
 */
export function errorResponse(err, realm) {
    const headers = { 'cache-control': 'no-store' };
    if (err.scheme) {
        const params = [['realm', realm]];
        if (err.code)
            params.push(['error', err.code], ['error_description', err.message]);
        if (err instanceof InsufficientScope)
            params.push(['scope', err.scope]);
        if (err.scheme === 'DPoP')
            params.push(['algs', DPOP_ALGS.join(' ')]);
        headers['www-authenticate'] = `${err.scheme} ${params.map(([k, v]) => `${k}=${quote(v)}`).join(', ')}`;
    }
    if (err.status === 503)
        headers['retry-after'] = '5';
    if (err instanceof QuotaExceeded)
        headers['retry-after'] = String(err.retryAfter);
    const body = err.code
        ? {
            error: err.code,
            error_description: err.message,
            ...(err instanceof InsufficientScope ? { scope: err.scope } : undefined),
        }
        : undefined;
    return { status: err.status, headers, body };
}
