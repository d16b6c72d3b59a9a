// findAccount: the provider's view of a user, with OpenID Connect claims from the users table.
// A disabled or deleted user is no account, so their sessions and refresh tokens stop working.
import type { Account, KoaContextWithOIDC } from 'oidc-provider';
import type { UserQueries } from '../db/queries/users.ts';

export function accountFinder(users: UserQueries) {
  return async function findAccount(_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> {
    const user = await users.findById(sub).catch(() => null);
    if (!user || user.disabled) return undefined;
    return {
      accountId: user.id,
      async claims() {
        const optional = {
          name: user.name, given_name: user.givenName, family_name: user.familyName, nickname: user.nickname,
          preferred_username: user.preferredUsername, picture: user.picture, website: user.website,
          locale: user.locale, zoneinfo: user.zoneinfo,
        };
        return {
          sub: user.id,
          email: user.email,
          email_verified: user.emailVerified,
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
          ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== null)),
        };
      },
    };
  };
}
