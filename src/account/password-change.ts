// Changing a password from the account page, without Koa: the current password, then the policy
// (services/password-policy.ts), then one statement that sets the new hash only if the old one
// is still there and ends every other session, grant and refresh token (db/queries/account-sessions.ts).
import type { AccountSessionQueries } from '../db/queries/account-sessions.ts';
import type { UserRecord } from '../db/queries/users.ts';
import type { SessionsEnded } from '../oidc/backchannel-logout.ts';
import type { Audit } from '../services/audit.ts';
import type { Locale, Message } from '../i18n/messages.ts';
import { checkNewPassword, WeakPassword } from '../services/password-policy.ts';
import { hashPassword, PASSWORD_MAX, verifyPassword } from '../services/passwords.ts';

export type PasswordChangeOutcome =
  | { outcome: 'changed' }
  | { outcome: 'wrong_password' }
  | { outcome: 'weak'; problem: Message }
  | { outcome: 'conflict' };

export function passwordChange(deps: {
  sessions: Pick<AccountSessionQueries, 'changePassword'>;
  /** Back-channel logout for the clients of the other sessions the change ends. */
  sessionsEnded: SessionsEnded;
  audit: Audit;
  passwordMinLength: number;
  /** Tells the user by mail (as a reset does); absent without mail. */
  notify?: (email: string, locale?: Locale) => Promise<void>;
}) {
  return {
    async change(
      user: UserRecord,
      current: string,
      next: string,
      keepSessionId: string,
      ip: string,
      locale?: Locale,
    ): Promise<PasswordChangeOutcome> {
      const stored = user.passwordHash;
      if (!stored || current.length > PASSWORD_MAX || !(await verifyPassword(stored, current)))
        return { outcome: 'wrong_password' };
      try {
        await checkNewPassword(next, deps.passwordMinLength, [user.email, ...(user.name ? [user.name] : [])]);
      } catch (err) {
        if (!(err instanceof WeakPassword)) throw err;
        return { outcome: 'weak', problem: err.problem };
      }
      const ended = await deps.sessions.changePassword(user.id, stored, await hashPassword(next), keepSessionId);
      if (!ended) return { outcome: 'conflict' };
      await deps.sessionsEnded(ended.logouts);
      await deps.audit.record({
        type: 'user.password_changed',
        actor: user.id,
        subject: user.id,
        ip,
        details: { other_sessions_ended: true },
      });
      await deps.notify?.(user.email, locale);
      return { outcome: 'changed' };
    },
  };
}

export type PasswordChange = ReturnType<typeof passwordChange>;
