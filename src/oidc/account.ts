// findAccount: the provider's view of a user, with OpenID Connect claims from the users table.
// A disabled or deleted user is no account, so their sessions and refresh tokens stop working.
import type { Account, KoaContextWithOIDC } from 'oidc-provider';
import { isUserId, type UserQueries } from '../db/queries/users.ts';

export function accountFinder(users: UserQueries) {
  return async function findAccount(_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> {
    // A sub that is no uuid is no account; a database failure propagates (503), so that an
    // outage does not read as "no such account" and end the user's sessions.
    if (!isUserId(sub)) return undefined;
    const user = await users.findById(sub);
    if (!user || user.disabled) return undefined;
    return {
      accountId: user.id,
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
        };
      },
    };
  };
}
