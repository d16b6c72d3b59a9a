// What the account page and the admin CLI end: a user's sessions, their grants (one per app,
// with its refresh tokens and stored access tokens), and, for "everywhere", the subject's JWT
// access tokens (revoked_principals, read by introspection). Each change is one statement, so
// that no other request sees it half done, and a changed password is compared and set in the
// same statement that ends the rest (no check-then-act between checking the current password
// and setting the new one).
import type pg from 'pg';
import type { Clock } from '../../clock.ts';
import { logoutsOf, readLogouts, type SessionLogout } from './session-logouts.ts';

export interface AccountSessionRow {
  /** The session's uid (oidc_payloads.uid), never its id: the id is the session cookie's value. */
  uid: string;
  loginTs: number | undefined;
  amr: string[];
  expiresAt: Date | null;
}

export interface AppGrantRow {
  clientId: string;
  scope: string;
  grantedAt: number | undefined;
}

export interface EndedCounts {
  sessions: number;
  grants: number;
  /** The clients of the ended sessions to send a logout token (session-logouts.ts). */
  logouts: SessionLogout[];
}

// A JWT access token is checked against revoked_principals only while it can still be valid:
// a day outlives every access-token TTL Tessera issues (at most API_TOKEN_TTL_MAX, 24 h).
const PRINCIPAL_TTL = "interval '1 day'";

// Ends the account $1's sessions except the one whose id is $2 (null: all), all its grants and
// everything issued from them, and revokes the subject's JWT access tokens issued until now.
// `who` is a CTE named `who` with one text column `id` (the account), present or not.
const endAll = (who: string) => `${who}, principal AS (
    INSERT INTO revoked_principals (kind, id, revoked_at, expires_at)
    SELECT 'subject', id, clock_timestamp(), clock_timestamp() + ${PRINCIPAL_TTL} FROM who
    ON CONFLICT (kind, id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at, expires_at = EXCLUDED.expires_at
  ), grants AS (
    SELECT o.id FROM oidc_payloads o JOIN who ON o.model = 'Grant' AND o.payload->>'accountId' = who.id
  ), ended AS (
    DELETE FROM oidc_payloads o USING who
    WHERE (o.model = 'Session' AND o.payload->>'accountId' = who.id AND o.id IS DISTINCT FROM $2)
       OR (o.model = 'Grant' AND o.payload->>'accountId' = who.id)
       OR o.grant_id IN (SELECT id FROM grants)
    RETURNING o.model, CASE WHEN o.model = 'Session' THEN o.payload END AS session
  )
  SELECT (SELECT count(*) FROM who)::int AS found,
    count(*) FILTER (WHERE model = 'Session')::int AS sessions,
    count(*) FILTER (WHERE model = 'Grant')::int AS grants,
    ${logoutsOf('ended', 'session')} AS logouts
  FROM ended`;

type EndedRow = { found: number; sessions: number; grants: number; logouts: unknown };
const counts = (row: EndedRow): EndedCounts => ({
  sessions: row.sessions,
  grants: row.grants,
  logouts: readLogouts(row.logouts),
});

export function accountSessionQueries(pool: pg.Pool, now: Clock = Date.now) {
  const live = (at: number) => ({ text: '(expires_at IS NULL OR expires_at > $2)', at: new Date(at) });
  return {
    /** The account's live sessions, newest sign-in first. */
    async sessions(accountId: string): Promise<AccountSessionRow[]> {
      const { text, at } = live(now());
      const { rows } = await pool.query<{
        uid: string;
        login_ts: string | null;
        amr: unknown;
        expires_at: Date | null;
      }>(
        `SELECT uid, payload->>'loginTs' AS login_ts, payload->'amr' AS amr, expires_at FROM oidc_payloads
         WHERE model = 'Session' AND payload->>'accountId' = $1 AND uid IS NOT NULL AND ${text}
         ORDER BY (payload->>'loginTs')::bigint DESC NULLS LAST`,
        [accountId, at],
      );
      return rows.map((r) => ({
        uid: r.uid,
        loginTs: r.login_ts ? Number(r.login_ts) : undefined,
        amr: Array.isArray(r.amr) ? r.amr.map(String) : [],
        expiresAt: r.expires_at,
      }));
    },

    /**
     * Ends one of the account's sessions by its uid: the clients to send a logout token, or
     * undefined when the account has no such session.
     */
    async endSession(accountId: string, uid: string): Promise<SessionLogout[] | undefined> {
      const { rows } = await pool.query<{ ended: number; logouts: unknown }>(
        `WITH s AS (
           DELETE FROM oidc_payloads WHERE model = 'Session' AND uid = $2 AND payload->>'accountId' = $1 RETURNING payload
         )
         SELECT (SELECT count(*) FROM s)::int AS ended, ${logoutsOf('s')} AS logouts`,
        [accountId, uid],
      );
      return rows[0]!.ended > 0 ? readLogouts(rows[0]!.logouts) : undefined;
    },

    /** The apps the account granted access to: one row per client, the scopes of its live grants. */
    async apps(accountId: string): Promise<AppGrantRow[]> {
      const { text, at } = live(now());
      const { rows } = await pool.query<{ client_id: string; scope: string | null; iat: string | null }>(
        `SELECT payload->>'clientId' AS client_id, string_agg(payload->'openid'->>'scope', ' ') AS scope,
           min((payload->>'iat')::bigint)::text AS iat
         FROM oidc_payloads WHERE model = 'Grant' AND payload->>'accountId' = $1 AND ${text}
         GROUP BY payload->>'clientId' ORDER BY payload->>'clientId'`,
        [accountId, at],
      );
      return rows.map((r) => ({
        clientId: r.client_id,
        scope: [...new Set((r.scope ?? '').split(' ').filter(Boolean))].join(' '),
        grantedAt: r.iat ? Number(r.iat) : undefined,
      }));
    },

    /** Ends the account's grants to one client and everything issued from them; how many grants. */
    async revokeApp(accountId: string, clientId: string): Promise<number> {
      const { rows } = await pool.query<{ grants: number }>(
        `WITH g AS (
           SELECT id FROM oidc_payloads WHERE model = 'Grant' AND payload->>'accountId' = $1 AND payload->>'clientId' = $2
         ), gone AS (
           DELETE FROM oidc_payloads WHERE grant_id IN (SELECT id FROM g) OR (model = 'Grant' AND id IN (SELECT id FROM g))
           RETURNING model
         )
         SELECT count(*) FILTER (WHERE model = 'Grant')::int AS grants FROM gone`,
        [accountId, clientId],
      );
      return rows[0]!.grants;
    },

    /** Signs the account out everywhere (but `keepSessionId`'s session, if given). */
    async endAll(accountId: string, keepSessionId?: string): Promise<EndedCounts> {
      const { rows } = await pool.query<EndedRow>(endAll(`WITH who AS (SELECT $1::text AS id)`), [
        accountId,
        keepSessionId ?? null,
      ]);
      return counts(rows[0]!);
    },

    /**
     * Sets the password if the stored hash is still `currentHash` (the one the caller verified),
     * and, in the same statement, ends every other session, every grant and refresh token.
     * Undefined when the password changed in between or the account was disabled.
     */
    async changePassword(
      accountId: string,
      currentHash: string,
      newHash: string,
      keepSessionId: string,
    ): Promise<EndedCounts | undefined> {
      const { rows } = await pool.query<EndedRow>(
        endAll(`WITH who AS (
           UPDATE users SET password_hash = $3, updated_at = $5
           WHERE id = $1::uuid AND password_hash = $4 AND NOT disabled RETURNING id::text AS id
         )`),
        [accountId, keepSessionId, newHash, currentHash, new Date(now())],
      );
      return rows[0]!.found === 1 ? counts(rows[0]!) : undefined;
    },
  };
}

export type AccountSessionQueries = ReturnType<typeof accountSessionQueries>;
