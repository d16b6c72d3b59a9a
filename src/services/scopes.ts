// Scope strings (RFC 6749 §3.3): space-separated tokens of printable ASCII except '"' and '\'.
import { InvalidInput } from '../errors.ts';

/**
 * The scopes oidc-provider itself is configured with (its `scopes` setting): sign-in and refresh
 * tokens. A client's allow-list governs them, and the client-credentials fast path leaves them to
 * the provider.
 */
export const PROVIDER_SCOPES = ['openid', 'offline_access'] as const;
/**
 * OpenID Connect's scope names: the provider's, and the standard claims scopes (OIDC Core §5.4).
 * A client's scope string holds these and its APIs' scopes; no API scope may take one of them.
 */
export const OIDC_STANDARD_SCOPES = [...PROVIDER_SCOPES, 'profile', 'email', 'address', 'phone'] as const;
const oidcScopes = new Set<string>(OIDC_STANDARD_SCOPES);

/**
 * A whole scope parameter: scope tokens separated by single spaces (RFC 6749 §3.3), as
 * oidc-provider's is_valid_scope.js checks it. One token alone is a valid parameter.
 */
export const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/u;

/**
 * A scope parameter's tokens, in order, as the protocol splits them (single spaces). Anything but
 * a string (absent, or a claim of the wrong type) has none.
 */
export function scopeTokens(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}

export function isOidcScope(scope: string): boolean {
  return oidcScopes.has(scope);
}

/** Splits, validates and de-duplicates a scope string an admin typed, keeping the order given. */
export function parseScopes(value: string, options: { forApi?: boolean } = {}): string[] {
  const scopes = [...new Set(value.split(/\s+/).filter(Boolean))];
  for (const scope of scopes) {
    // A token has no spaces, so the parameter's syntax is the token's.
    if (!SCOPE_SYNTAX.test(scope))
      throw new InvalidInput(`scope ${JSON.stringify(scope)} has characters RFC 6749 §3.3 does not allow`);
    if (options.forApi && isOidcScope(scope))
      throw new InvalidInput(`scope ${scope} is an OpenID Connect scope and cannot belong to an API`);
  }
  return scopes;
}
