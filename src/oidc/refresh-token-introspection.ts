// Introspection of a refresh token (RFC 7662) says what the token would get now, as a refresh
// would (README "Roles and permissions"): oidc-provider answers with the scope the refresh token
// was issued with (what was consented), while a refresh issues only what the user's roles, or
// their roles in the grant's organization, grant at that moment. So, for a refresh token the
// provider called active:
// - its user disabled or deleted, or no longer a member of the grant's organization (a refresh
//   would be invalid_grant): `active: false`;
// - its `scope` narrowed, per API of the token, to what the current roles grant (the API's OIDC
//   scopes and the scopes of APIs that do not enforce roles stay as they are).
// Access tokens are not touched: a JWT keeps its scopes until it expires (documented).
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import { scopeTokens } from '../services/scopes.ts';
import type { accountFinder } from './account.ts';
import type { HeldRole } from '../services/rbac.ts';
import { resourceServerFor, withinOrganization, withinRoles } from './resource-servers.ts';

/** What the provider's introspection keeps of a refresh token (lib/models/refresh_token.js). */
interface IntrospectedRefreshToken {
  accountId: string;
  clientId: string;
  grantId?: string;
  resource?: string | string[];
}

export function refreshTokenIntrospection(deps: {
  findAccount: ReturnType<typeof accountFinder>;
  clients: Pick<ClientCatalog, 'apiGrant' | 'defaultApiAudience'>;
}) {
  return async function currentRolesInRefreshTokenIntrospection(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    await next();
    if (ctx.oidc?.route !== 'introspection') return;
    const token = ctx.oidc.entities.RefreshToken as IntrospectedRefreshToken | undefined;
    const body = ctx.body as Record<string, unknown> | undefined;
    // A signed or encrypted answer (JWT introspection) is not a plain object: Tessera enables none.
    if (!token || !body || typeof body !== 'object' || body.active !== true) return;
    const account = await deps.findAccount(ctx, token.accountId, token);
    if (!account) {
      ctx.body = { active: false };
      return;
    }
    const resources = token.resource
      ? [token.resource].flat()
      : [await deps.clients.defaultApiAudience(token.clientId)].filter((r): r is string => r !== undefined);
    const apiScopes = new Set<string>();
    const granted = new Set<string>();
    for (const resource of resources) {
      const server = await resourceServerFor(deps.clients, token.clientId, resource);
      if (!server) continue;
      for (const s of scopeTokens(server.scope)) apiScopes.add(s);
      const now = account.organization
        ? withinOrganization(server, account.organization)
        : withinRoles(server, (account.roles as HeldRole[] | undefined) ?? []);
      for (const s of scopeTokens(now.scope)) granted.add(s);
    }
    const scope = scopeTokens(body.scope).filter((s) => !apiScopes.has(s) || granted.has(s));
    body.scope = scope.length > 0 ? scope.join(' ') : undefined;
  };
}
