// Scope strings (RFC 6749 §3.3): space-separated tokens of printable ASCII except '"' and '\'.
import { InvalidInput } from '../errors.ts';

/** The OpenID Connect scopes Tessera's provider knows; every other scope belongs to an API. */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'address', 'phone'] as const;
const oidcScopes = new Set<string>(OIDC_SCOPES);

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isOidcScope(scope: string): boolean {
  return oidcScopes.has(scope);
}

/** Splits, validates and de-duplicates a scope string, keeping the order given. */
export function parseScopes(value: string, options: { forApi?: boolean } = {}): string[] {
  const scopes = [...new Set(value.split(/\s+/).filter(Boolean))];
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) throw new InvalidInput(`scope ${JSON.stringify(scope)} has characters RFC 6749 §3.3 does not allow`);
    if (options.forApi && isOidcScope(scope)) throw new InvalidInput(`scope ${scope} is an OpenID Connect scope and cannot belong to an API`);
  }
  return scopes;
}
