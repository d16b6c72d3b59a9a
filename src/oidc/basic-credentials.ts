// The client credentials of an HTTP Basic Authorization header (RFC 6749 §2.3.1): the client id
// and secret, each form-urlencoded, then base64. Decoded as oidc-provider decodes them
// (lib/shared/client_auth.js, 9.13: '+' is a space), so that Tessera and the provider agree on
// which client a header names. Undefined for anything malformed; the provider refuses those.
export function basicCredentials(header: string): { clientId: string; secret: string } | undefined {
  const [scheme, value, extra] = header.split(' ');
  if (extra !== undefined || scheme?.toLowerCase() !== 'basic' || !value || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i <= 0) return undefined;
  try {
    const clientId = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, '%20'));
    const secret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, '%20'));
    return secret ? { clientId, secret } : undefined;
  } catch {
    return undefined;
  }
}
