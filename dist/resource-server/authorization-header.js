// Reading the access token from the request. Only the Authorization header: RFC 6750 §2.2
// (form body) and §2.3 (query string) leak tokens into logs and caches, and §2.3 says SHOULD NOT.
import { InvalidRequest, InvalidToken, MissingToken } from "./errors.js";
// RFC 6750 §2.1 b64token / RFC 9449 §7.1 token68: the only characters a token may have.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
/** A header that must appear at most once: several values are a malformed request. */
export function singleHeader(headers, name, scheme = 'Bearer') {
    const value = headers[name];
    if (Array.isArray(value)) {
        if (value.length > 1)
            throw new InvalidRequest(`more than one ${name} header`, scheme);
        return value[0];
    }
    return value;
}
/**
 * The scheme and token of `Authorization: Bearer …` or `Authorization: DPoP …`. The scheme is
 * case-insensitive (RFC 9110 §11.1). No header, or another scheme (say Basic), is "no token" —
 * RFC 6750 §3.1 answers it with a bare challenge.
 */
export function presentedToken(headers) {
    const header = singleHeader(headers, 'authorization');
    if (!header)
        throw new MissingToken();
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    if (scheme !== 'bearer' && scheme !== 'dpop')
        throw new MissingToken();
    const normalized = scheme === 'dpop' ? 'DPoP' : 'Bearer';
    const token = space < 0 ? '' : header.slice(space + 1).trim();
    if (!TOKEN68.test(token))
        throw new InvalidToken('malformed access token', normalized);
    return { scheme: normalized, token };
}
