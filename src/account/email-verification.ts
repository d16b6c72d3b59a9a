// Email verification, without Koa: a mailed link (48 hours, single use, bound to the address the
// account has when it is issued) that sets users.email_verified, the email_verified claim.
import type { UserTokenQueries } from '../db/queries/user-tokens.ts';
import type { Locale } from '../i18n/messages.ts';
import type { Mailer } from '../mail/mailer.ts';
import { languageQuery, mailLocale } from '../i18n/locale.ts';
import type { Audit } from '../services/audit.ts';
import { linkTokenHash, newLinkToken } from './one-time-token.ts';

// Long enough for someone who signs up in the evening and reads mail the next day but one.
export const VERIFY_TTL_MS = 48 * 3_600_000;
export const verifyPath = '/email/verify';

export interface EmailVerificationDeps {
  issuer: string;
  tokens: UserTokenQueries;
  mail: Mailer;
  audit: Audit;
}

export function emailVerification(deps: EmailVerificationDeps) {
  return {
    /**
     * Mails the user a verification link, in `locale` (the language the user's request asked for)
     * or else the user's own (users.locale); false when there is no such enabled user.
     */
    async send(userId: string, actor: string, ip?: string, requested?: Locale): Promise<boolean> {
      const token = newLinkToken();
      const issued = await deps.tokens.issue(linkTokenHash(token)!, 'email_verification', userId, VERIFY_TTL_MS);
      if (!issued) return false;
      const locale = mailLocale(requested, issued.locale);
      await deps.mail.send(
        issued.email,
        'email-verification',
        {
          email: issued.email,
          link: `${deps.issuer}${verifyPath}?token=${token}${languageQuery(locale) ? `&${languageQuery(locale)}` : ''}`,
          validHours: VERIFY_TTL_MS / 3_600_000,
        },
        locale,
      );
      await deps.audit.record({ type: 'user.verification_sent', actor, subject: userId, ip });
      return true;
    },

    async check(token: unknown) {
      const hash = linkTokenHash(token);
      return hash ? deps.tokens.peek(hash, ['email_verification']) : undefined;
    },

    /**
     * Verifies the address with the link (one statement, which also keeps the page's language
     * `locale` as the user's); the user, or undefined for a dead link.
     */
    async confirm(token: unknown, ip: string, locale?: Locale) {
      const hash = linkTokenHash(token);
      const verified = hash ? await deps.tokens.redeemVerification(hash, locale) : undefined;
      if (verified)
        await deps.audit.record({ type: 'user.email_verified', actor: verified.id, subject: verified.id, ip });
      return verified;
    },
  };
}

export type EmailVerification = ReturnType<typeof emailVerification>;
