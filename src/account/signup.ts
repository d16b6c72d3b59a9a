// Self-service sign-up (SIGNUP=open), without Koa. The answer is the same whether or not the
// address has an account (no enumeration), and so is the work: the password is checked and
// hashed first either way. An existing account gets no mail and keeps its password; a new one
// starts with email_verified false and is mailed a verification link.
import { isUniqueViolation } from '../errors.ts';
import type { UserQueries } from '../db/queries/users.ts';
import type { Audit } from '../services/audit.ts';
import type { Locale, Message } from '../i18n/messages.ts';
import { checkNewPassword, WeakPassword } from '../services/password-policy.ts';
import { hashPassword } from '../services/passwords.ts';
import { normalizeEmail } from '../services/users.ts';
import type { EmailVerification } from './email-verification.ts';

export type SignupOutcome = { outcome: 'done' } | { outcome: 'weak'; problem: Message };

export function signup(deps: {
  users: Pick<UserQueries, 'findByEmail' | 'create'>;
  verification: EmailVerification;
  audit: Audit;
  passwordMinLength: number;
}) {
  return {
    async register(email: string, password: string, ip: string, locale?: Locale): Promise<SignupOutcome> {
      try {
        await checkNewPassword(password, deps.passwordMinLength, [email]);
      } catch (err) {
        if (!(err instanceof WeakPassword)) throw err;
        return { outcome: 'weak', problem: err.problem };
      }
      const passwordHash = await hashPassword(password);
      const emailNormalized = normalizeEmail(email);
      if (await deps.users.findByEmail(emailNormalized)) return { outcome: 'done' };
      let id: string;
      try {
        id = (
          await deps.users.create({
            email: email.normalize('NFC').trim(),
            emailNormalized,
            passwordHash,
            emailVerified: false,
            // The language of the sign-up page, when it asked for one: the account's mails are in it.
            locale: locale ?? null,
          })
        ).id;
      } catch (err) {
        // The same address signed up at the same moment: one account, the same answer.
        if (isUniqueViolation(err)) return { outcome: 'done' };
        throw err;
      }
      await deps.audit.record({ type: 'user.signed_up', actor: id, subject: id, ip });
      await deps.verification.send(id, id, ip, locale);
      return { outcome: 'done' };
    },
  };
}

export type Signup = ReturnType<typeof signup>;
