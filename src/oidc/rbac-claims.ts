// The optional `roles` and `permissions` claims of an access token (RBAC, services/rbac.ts), for
// the APIs that ask for them (apis.token_claims), through the provider's extraTokenClaims. Every
// input is at hand without a round trip: the API and a client's roles in the client catalog, a
// user's roles with the account the request read (account.ts).
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import { type HeldRole, rbacClaims } from '../services/rbac.ts';
import { requestReads } from './request-reads.ts';

/** What extraTokenClaims sees of a token (lib/models/access_token.js, client_credentials.js). */
export interface IssuedToken {
  kind: string;
  clientId?: string;
  accountId?: string;
  scopes: Set<string>;
  resourceServer?: { audience?: string };
}

export function rbacTokenClaims(clients: Pick<ClientCatalog, 'apiGrant' | 'rbac'>) {
  return async function rbacTokenClaims(
    ctx: KoaContextWithOIDC | undefined,
    token: IssuedToken,
  ): Promise<Record<string, string[]> | undefined> {
    const audience = token.resourceServer?.audience;
    if (!audience || !token.clientId) return undefined;
    const grant = await clients.apiGrant(token.clientId, audience);
    if (!grant || grant.api.tokenClaims.length === 0) return undefined;
    let roles: HeldRole[] | undefined;
    if (token.kind === 'ClientCredentials') roles = (await clients.rbac(token.clientId)).roles;
    else if (token.accountId) roles = userRoles(ctx, token.accountId);
    // A token whose subject's roles this request did not read (token exchange) claims nothing
    // rather than claiming none.
    return roles && rbacClaims(grant.api, roles, token.scopes);
  };
}

function userRoles(ctx: KoaContextWithOIDC | undefined, accountId: string): HeldRole[] | undefined {
  const loaded = ctx?.oidc?.account as { accountId: string; roles?: HeldRole[] } | undefined;
  if (loaded?.accountId === accountId) return loaded.roles ?? [];
  const read = requestReads()?.accounts.get(accountId);
  return read ? read.roles : undefined;
}
