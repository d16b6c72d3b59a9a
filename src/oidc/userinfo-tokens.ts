// Userinfo (OIDC Core §5.3) with Tessera's JWT access tokens (RFC 9068).
//
// oidc-provider's userinfo endpoint (lib/actions/userinfo.js) finds its access token through the
// adapter, as a stored token; a JWT access token is stored nowhere. At userinfo, the adapter
// answers a JWT with what the provider would have stored for it, once Tessera's verifier has
// accepted it (RS256 under the current keys, `exp`, the revocation deny-list, its grant alive)
// and only when its audience names the userinfo resource. The provider then checks everything
// else as for any access token: the `openid` scope, the DPoP or certificate binding, the client,
// the account, the grant, and which claims the granted scopes release.
import type { AdapterPayload } from 'oidc-provider';
import type { AccessTokenVerifier } from './access-token-verifier.ts';
import { storedAccessTokenPayload } from './upstream.ts';

export type UserinfoAccessTokens = (token: string) => Promise<AdapterPayload | undefined>;

export function userinfoAccessTokens(deps: {
  verify: AccessTokenVerifier;
  /** The userinfo endpoint as an audience (resource-servers.ts userinfoResource). */
  userinfoResource: string;
}): UserinfoAccessTokens {
  return async function findUserinfoAccessToken(token) {
    const claims = await deps.verify(token);
    if (!claims || typeof claims.sub !== 'string') return undefined;
    // A token for an API alone is for that API (RFC 9068 §4: the audience must be checked).
    if (![claims.aud].flat().includes(deps.userinfoResource)) return undefined;
    return storedAccessTokenPayload({ ...claims, sub: claims.sub });
  };
}
