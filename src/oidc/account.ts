// findAccount: the provider's view of a user, with OpenID Connect claims from the users table.
// A disabled or deleted user is no account, so their sessions and refresh tokens stop working.
import type { Account, KoaContextWithOIDC } from 'oidc-provider';
import { isUserId, type UserQueries } from '../db/queries/users.ts';
import { requestReads } from './request-reads.ts';
import type { OrganizationMemberships, OrganizationStanding } from './organizations.ts';
import type { HeldRole } from '../services/rbac.ts';
import type { AccountRoles } from './resource-servers.ts';

/** An account as Tessera's parts read it: for a token of an organization's, the user's standing there. */
export type TesseraAccount = Account & { organization?: OrganizationStanding };

export function accountFinder(users: Pick<UserQueries, 'findAccount'>, memberships?: OrganizationMemberships) {
  return async function findAccount(
    ctx: KoaContextWithOIDC,
    sub: string,
    token?: { grantId?: unknown },
  ): Promise<TesseraAccount | undefined> {
    // A sub that is no uuid is no account; a database failure propagates (503), so that an
    // outage does not read as "no such account" and end the user's sessions.
    if (!isUserId(sub)) return undefined;
    // Read already with the token or Session this request presented (request-reads.ts), or now.
    const reads = requestReads();
    const read = reads?.accounts.get(sub);
    const user = read === undefined ? await users.findAccount(sub) : (read ?? undefined);
    reads?.accounts.set(sub, user ?? null);
    if (!user || user.disabled) return undefined;
    // A code, refresh token or access token of an organization's (oidc/organizations.ts): its user
    // must still be a member, or it is no account's (the provider answers invalid_grant, and
    // userinfo invalid_token); their roles there are read now, for the scopes and claims.
    const organization = token ? await memberships?.forGrant(ctx, token.grantId, user.id) : undefined;
    if (organization === null) return undefined;
    return {
      accountId: user.id,
      ...(organization ? { organization } : {}),
      // RBAC (resource-servers.ts): read in the account's own statement. In an organization's
      // token the roles are the member's roles there (the `roles` and `permissions` claims too).
      roles: organization ? organization.roles : user.roles,
      async claims() {
        const optional = {
          name: user.name,
          given_name: user.givenName,
          family_name: user.familyName,
          nickname: user.nickname,
          preferred_username: user.preferredUsername,
          picture: user.picture,
          website: user.website,
          locale: user.locale,
          zoneinfo: user.zoneinfo,
        };
        return {
          sub: user.id,
          email: user.email,
          email_verified: user.emailVerified,
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
          ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== null)),
          // The organization the token is for (released with the openid scope, provider-config.ts):
          // org_name is what people are shown (its display name), its short name when it has none.
          ...(organization ? { org_id: organization.id, org_name: organization.displayName || organization.name } : {}),
        };
      },
    };
  };
}

/**
 * The signed-in user's roles in a provider request: those of the account the request has loaded
 * (the token endpoint's grants set it before they ask for the resource server), else of the
 * session's account (the authorization endpoint asks before loading it; the read is kept for the
 * request, request-reads.ts, so that loading it later costs nothing). Undefined: no one signed in.
 */
export function accountRoles(findAccount: ReturnType<typeof accountFinder>): AccountRoles {
  return async function accountRoles(ctx) {
    const loaded = ctx.oidc.account as { roles?: HeldRole[] } | undefined;
    if (loaded) return loaded.roles ?? [];
    const accountId = (ctx.oidc as { session?: { accountId?: string } }).session?.accountId;
    if (!accountId) return undefined;
    const account = (await findAccount(ctx, accountId)) as { roles?: HeldRole[] } | undefined;
    return account ? (account.roles ?? []) : undefined;
  };
}
