// CSRF tokens for the interaction forms: an HMAC of the interaction's uid under the first cookie
// key. The interaction is already bound to the browser by oidc-provider's signed cookie; the
// token additionally proves the form came from Tessera's page, not another site's.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function csrfToken(key: string, uid: string): string {
  return createHmac('sha256', key).update(`csrf:${uid}`).digest('base64url');
}

export function csrfValid(key: string, uid: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(csrfToken(key, uid));
  const actual = Buffer.from(presented);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
