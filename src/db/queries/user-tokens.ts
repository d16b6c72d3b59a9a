// user_tokens: the one-time links Tessera mails (password reset, email verification, invitation).
// Only the SHA-256 of a token is stored. Each redemption is one statement whose WHERE clause is
// the whole check (the purpose, not consumed, not expired, the account still in the state the
// link was issued for), so of two concurrent redemptions of one link exactly one finds the row;
// and a password reset changes the password, ends the user's sessions, grants and tokens and
// marks the principal revoked in that same statement, so there is no moment between them.
import type { Clock } from '../../clock.ts';
import type { PrismaClient } from '../client.ts';
import { logoutsOf, readLogouts, type SessionLogout } from './session-logouts.ts';
import type { Locale } from '../../i18n/messages.ts';
import { keptOrNewLocale } from './users.ts';

export type TokenPurpose = 'password_reset' | 'email_verification' | 'invitation';

/** What a password link is bound to: the SHA-256 (hex) of the account's password hash ('' for none). */
const PASSWORD_BINDING = `encode(sha256(convert_to(coalesce(u.password_hash, ''), 'UTF8')), 'hex')`;

export interface LiveToken {
  userId: string;
  email: string;
  purpose: TokenPurpose;
}

export function userTokenQueries(prisma: PrismaClient, now: Clock = Date.now) {
  return {
    /**
     * Stores a token for the user as the account is now (its password hash or its address);
     * undefined when there is no such enabled user.
     */
    async issue(
      tokenHash: string,
      purpose: TokenPurpose,
      userId: string,
      ttlMs: number,
    ): Promise<{ email: string; locale: string | null } | undefined> {
      const at = now();
      const binding = purpose === 'email_verification' ? 'u.email_normalized' : PASSWORD_BINDING;
      // The address and the language (users.locale) the link is mailed to and in.
      const rows = await prisma.$queryRawUnsafe<{ email: string; locale: string | null }[]>(
        `INSERT INTO user_tokens (token_hash, purpose, user_id, bound_to, expires_at, created_at)
         SELECT $1, $2, u.id, ${binding}, $3, $4 FROM users u WHERE u.id = $5::uuid AND NOT u.disabled
         RETURNING (SELECT email FROM users WHERE id = $5::uuid) AS email,
           (SELECT locale FROM users WHERE id = $5::uuid) AS locale`,
        tokenHash,
        purpose,
        new Date(at + ttlMs),
        new Date(at),
        userId,
      );
      return rows[0];
    },

    /** The token's user, if the token is live and the account unchanged since it was issued. */
    async peek(tokenHash: string, purposes: TokenPurpose[]): Promise<LiveToken | undefined> {
      const rows = await prisma.$queryRawUnsafe<{ user_id: string; email: string; purpose: TokenPurpose }[]>(
        `SELECT t.user_id::text, u.email, t.purpose FROM user_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.purpose = ANY($2) AND t.consumed_at IS NULL AND t.expires_at > $3
           AND NOT u.disabled
           AND t.bound_to = CASE t.purpose WHEN 'email_verification' THEN u.email_normalized ELSE ${PASSWORD_BINDING} END`,
        tokenHash,
        purposes,
        new Date(now()),
      );
      const row = rows[0];
      return row && { userId: row.user_id, email: row.email, purpose: row.purpose };
    },

    /**
     * Sets a new password with a reset or invitation link: consumes the link, sets the password
     * (and email_verified: the link came to that address), deletes the user's sessions and grants
     * with everything issued from them, and revokes the principal (revoked_principals: JWT access
     * tokens already issued stop being accepted), and keeps the language of the page (`locale`,
     * users.locale). One statement. The user, or undefined when the link is unknown, used,
     * expired, or the password changed since it was issued.
     */
    async redeemPassword(
      tokenHash: string,
      purposes: TokenPurpose[],
      passwordHash: string,
      locale?: Locale,
    ): Promise<{ id: string; email: string; locale: string | null; logouts: SessionLogout[] } | undefined> {
      const at = new Date(now());
      const rows = await prisma.$queryRawUnsafe<
        { id: string; email: string; locale: string | null; logouts: unknown }[]
      >(
        `WITH t AS (
           UPDATE user_tokens SET consumed_at = $3
           WHERE token_hash = $1 AND purpose = ANY($2) AND consumed_at IS NULL AND expires_at > $3
           RETURNING user_id, bound_to
         ), changed AS (
           UPDATE users u SET password_hash = $4, email_verified = true, updated_at = $3,
             locale = ${keptOrNewLocale('$5')}
           FROM t WHERE u.id = t.user_id AND NOT u.disabled AND ${PASSWORD_BINDING} = t.bound_to
           RETURNING u.id::text AS id, u.email, u.locale
         ), principal AS (
           INSERT INTO revoked_principals (kind, id, revoked_at, expires_at)
           SELECT 'subject', id, clock_timestamp(), clock_timestamp() + interval '1 day' FROM changed
           ON CONFLICT (kind, id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at, expires_at = EXCLUDED.expires_at
         ), grants AS (
           SELECT o.id FROM oidc_payloads o JOIN changed c ON o.model = 'Grant' AND o.payload->>'accountId' = c.id
         ), ended AS (
           DELETE FROM oidc_payloads o USING changed c
           WHERE (o.model IN ('Session', 'Grant') AND o.payload->>'accountId' = c.id)
              OR o.grant_id IN (SELECT id FROM grants)
           RETURNING CASE WHEN o.model = 'Session' THEN o.payload END AS session
         )
         SELECT id, email, locale, ${logoutsOf('ended', 'session')} AS logouts FROM changed`,
        tokenHash,
        purposes,
        at,
        passwordHash,
        locale ?? null,
      );
      const row = rows[0];
      return row && { id: row.id, email: row.email, locale: row.locale, logouts: readLogouts(row.logouts) };
    },

    /**
     * Marks the address verified with a verification link, if it is still the user's address, and
     * keeps the language of the page (`locale`, users.locale).
     */
    async redeemVerification(tokenHash: string, locale?: Locale): Promise<{ id: string; email: string } | undefined> {
      const at = new Date(now());
      const rows = await prisma.$queryRawUnsafe<{ id: string; email: string }[]>(
        `WITH t AS (
           UPDATE user_tokens SET consumed_at = $2
           WHERE token_hash = $1 AND purpose = 'email_verification' AND consumed_at IS NULL AND expires_at > $2
           RETURNING user_id, bound_to
         )
         UPDATE users u SET email_verified = true, updated_at = $2, locale = ${keptOrNewLocale('$3')}
         FROM t WHERE u.id = t.user_id AND NOT u.disabled AND u.email_normalized = t.bound_to
         RETURNING u.id::text AS id, u.email`,
        tokenHash,
        at,
        locale ?? null,
      );
      return rows[0];
    },
  };
}

export type UserTokenQueries = ReturnType<typeof userTokenQueries>;
