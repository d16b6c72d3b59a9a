// Password reset, without Koa: a request for a link, the link, and the new password.
//
// No account enumeration: the page that asks for a link does the same work whatever the address
// (it counts the limits and adds one outbox row of kind 'password_reset_request'), and answers
// the same. Whether the address has an account is found out later by the outbox worker
// (resetRequestHandler), which then issues the link and mails it — or does nothing.
import type { UserQueries } from '../db/queries/users.ts';
import { languageQuery, mailLocale } from '../i18n/locale.ts';
import type { UserTokenQueries } from '../db/queries/user-tokens.ts';
import type { Mailer } from '../mail/mailer.ts';
import { backchannelLogouts } from '../oidc/backchannel-logout.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { OutboxHandler } from '../outbox/worker.ts';
import type { Audit } from '../services/audit.ts';
import { DEFAULT_LOCALE, type Locale, LOCALES, type Message } from '../i18n/messages.ts';
import { checkNewPassword, WeakPassword } from '../services/password-policy.ts';
import { hashPassword } from '../services/passwords.ts';
import { normalizeEmail } from '../services/users.ts';
import { linkTokenHash, newLinkToken } from './one-time-token.ts';

export const RESET_REQUEST_KIND = 'password_reset_request';
// OWASP's Forgot Password Cheat Sheet: short-lived; 30 minutes leaves time for a slow mail.
export const RESET_TTL_MS = 30 * 60_000;
// An invitation waits for a person who did not ask for it: a week.
export const INVITATION_TTL_MS = 7 * 86_400_000;

export const resetPath = '/password/reset';
export const forgotPath = '/password/forgot';

export interface PasswordResetDeps {
  issuer: string;
  users: Pick<UserQueries, 'findByEmail'>;
  tokens: UserTokenQueries;
  outbox: Outbox;
  mail: Mailer;
  audit: Audit;
  passwordMinLength: number;
}

export type ResetOutcome =
  | { outcome: 'changed'; userId: string; email: string; invitation: boolean }
  | { outcome: 'invalid_link' }
  | { outcome: 'weak'; problem: Message };

export function passwordReset(deps: PasswordResetDeps) {
  // The link opens its page in the language of the mail (i18n/locale.ts).
  const link = (token: string, locale: Locale = DEFAULT_LOCALE) =>
    `${deps.issuer}${resetPath}?token=${token}${languageQuery(locale) ? `&${languageQuery(locale)}` : ''}`;
  const sessionsEnded = backchannelLogouts(() => deps.outbox);
  return {
    /**
     * Asks for a link for `email`; the same work and the same result whether or not it has an
     * account. `locale`: the language the page asked for, if any (else the account's own).
     */
    async request(email: string, ip: string, locale?: Locale): Promise<void> {
      await deps.outbox.enqueue(RESET_REQUEST_KIND, { email, ip, ...(locale ? { locale } : {}) });
    },

    /** The outbox handler that finds the account and mails it a link (or does nothing). */
    requestHandler(): OutboxHandler {
      return async (payload) => {
        const { email, ip, locale } = payload as { email: string; ip: string; locale?: unknown };
        const user = await deps.users.findByEmail(normalizeEmail(email));
        if (!user || user.disabled) return;
        const token = newLinkToken();
        const issued = await deps.tokens.issue(linkTokenHash(token)!, 'password_reset', user.id, RESET_TTL_MS);
        if (!issued) return;
        // The page's language if it asked for one, else the account's (users.locale), else English.
        const language = mailLocale(
          LOCALES.find((l) => l === locale),
          user.locale,
        );
        await deps.mail.send(
          issued.email,
          'password-reset',
          { email: issued.email, link: link(token, language), validMinutes: RESET_TTL_MS / 60_000 },
          language,
        );
        await deps.audit.record({ type: 'user.password_reset_requested', actor: 'anonymous', subject: user.id, ip });
      };
    },

    /** Mails `email`'s user a reset link now (the CLI's `users reset-password --send-link`), in their language. */
    async sendLink(userId: string, email: string, ttlMs = RESET_TTL_MS): Promise<boolean> {
      const token = newLinkToken();
      const issued = await deps.tokens.issue(linkTokenHash(token)!, 'password_reset', userId, ttlMs);
      if (!issued) return false;
      const locale = mailLocale(undefined, issued.locale);
      await deps.mail.send(
        issued.email,
        'password-reset',
        { email, link: link(token, locale), validMinutes: ttlMs / 60_000 },
        locale,
      );
      return true;
    },

    /**
     * Mails a new account (no password yet) an invitation, in the account's language
     * (users.locale): a link, valid a week, to choose a password.
     */
    async invite(userId: string, actor: string): Promise<boolean> {
      const token = newLinkToken();
      const issued = await deps.tokens.issue(linkTokenHash(token)!, 'invitation', userId, INVITATION_TTL_MS);
      if (!issued) return false;
      const locale = mailLocale(undefined, issued.locale);
      await deps.mail.send(
        issued.email,
        'invitation',
        { email: issued.email, link: link(token, locale), validHours: INVITATION_TTL_MS / 3_600_000 },
        locale,
      );
      await deps.audit.record({ type: 'user.invited', actor, subject: userId });
      return true;
    },

    /** The account a link would reset, if the link is live. */
    async check(token: unknown) {
      const hash = linkTokenHash(token);
      return hash ? deps.tokens.peek(hash, ['password_reset', 'invitation']) : undefined;
    },

    /**
     * Sets the new password with the link: the policy first, then the hash, then one statement
     * that consumes the link and ends every session, grant and token of the user.
     */
    async reset(token: unknown, password: string, ip: string, locale?: Locale): Promise<ResetOutcome> {
      const hash = linkTokenHash(token);
      const live = hash && (await deps.tokens.peek(hash, ['password_reset', 'invitation']));
      if (!hash || !live) return { outcome: 'invalid_link' };
      try {
        await checkNewPassword(password, deps.passwordMinLength, [live.email]);
      } catch (err) {
        if (!(err instanceof WeakPassword)) throw err;
        return { outcome: 'weak', problem: err.problem };
      }
      const changed = await deps.tokens.redeemPassword(
        hash,
        ['password_reset', 'invitation'],
        await hashPassword(password),
        locale,
      );
      if (!changed) return { outcome: 'invalid_link' };
      // Every session of the user ended: each app signed in through one is told (back-channel logout).
      await sessionsEnded(changed.logouts);
      await deps.audit.record({
        type: live.purpose === 'invitation' ? 'user.invitation_accepted' : 'user.password_reset',
        actor: changed.id,
        subject: changed.id,
        ip,
        details: { sessions_ended: true },
      });
      if (live.purpose === 'password_reset')
        await deps.mail.send(
          changed.email,
          'password-changed',
          { email: changed.email, forgotLink: `${deps.issuer}${forgotPath}` },
          mailLocale(locale, changed.locale),
        );
      return {
        outcome: 'changed',
        userId: changed.id,
        email: changed.email,
        invitation: live.purpose === 'invitation',
      };
    },
  };
}

export type PasswordReset = ReturnType<typeof passwordReset>;
