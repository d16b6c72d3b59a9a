// oidc_payloads: the storage of every oidc-provider model except Client.
//
// The statements on the flows' path (find, upsert, consume, destroy) go to the pg pool as plain
// SQL: through Prisma each costs ~0.6 ms of CPU, on the pool ~0.15 ms (measured on this table,
// 2,000 finds each), and an authorization-code flow makes about fifteen of them. The schema is
// still Prisma's (schema.prisma, migrations); the administrative reads below stay on Prisma.
//
// The token path's statements are named (prepared once per connection: PostgreSQL parses and
// plans them once instead of on every request) when `prepared` is on (DATABASE_PREPARED_STATEMENTS).
import type pg from 'pg';
import type { Clock } from '../../clock.ts';
import type { PrismaClient } from '../client.ts';
import { logoutsOf, readLogouts, type SessionLogout } from './session-logouts.ts';
import { ACCOUNT_JSON, accountFromJson, accountIdAsUuid, type AccountRecord } from './users.ts';

export interface StoredPayload {
  payload: Record<string, unknown>;
  consumedAt: Date | null;
  /** A rotated refresh token: what its rotation issued, and the retries answered with it. */
  rotation?: Rotation;
}

export interface Rotation {
  /** The refresh token the rotation issued (its id, as the adapter stores every token's). */
  successor: string;
  /** Retries answered with it so far. */
  retries: number;
  /** Whether the successor is still there, unexpired and unused. */
  successorLive: boolean;
}

// Bounded batches keep a family revocation from holding one long lock on a large grant.
const REVOKE_BATCH = 500;

const LIVE = '(expires_at IS NULL OR expires_at > $3)';

/** A row with the Grant it belongs to and the account it is for, read in one statement. */
export interface StoredWithGrant {
  stored: StoredPayload | undefined;
  grant?: { id: string; stored: StoredPayload | undefined };
  account?: { id: string; record: AccountRecord | null };
  /** The Session a token ends with, by its uid. */
  session?: { uid: string; stored: StoredPayload | undefined };
}

const UPSERT_COLUMNS = `ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
           user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`;

// The account a token or Session is for, or the one an Interaction signed in.
const ACCOUNT_ID = `COALESCE(t.payload->>'accountId', t.payload->'result'->'login'->>'accountId')`;

// A token (grant_id column) or a Session (its authorizations[client].grantId) with its Grant, its
// account and, for a token that ends with its session, that Session (by uid): the three reads oidc-provider makes one after the other on the token endpoint and
// on a signed-in authorization request, in one round trip. $4: the client whose grant a Session
// holds (NULL for tokens).
const FIND_WITH_GRANT_AND_ACCOUNT = `SELECT t.payload, t.consumed_at,
    COALESCE(t.grant_id, t.payload->'authorizations'->$4::text->>'grantId') AS grant_id,
    g.payload AS grant_payload, g.consumed_at AS grant_consumed_at,
    ${ACCOUNT_ID} AS account_id, ${ACCOUNT_JSON} AS account,
    t.payload->>'sessionUid' AS session_uid, s.payload AS session_payload, s.consumed_at AS session_consumed_at,
    t.consumed_by, t.retries, (n.id IS NOT NULL AND n.consumed_at IS NULL) AS successor_live
  FROM oidc_payloads t
  LEFT JOIN oidc_payloads g ON g.model = 'Grant'
    AND g.id = COALESCE(t.grant_id, t.payload->'authorizations'->$4::text->>'grantId')
    AND (g.expires_at IS NULL OR g.expires_at > $3)
  LEFT JOIN users u ON u.id = ${accountIdAsUuid(ACCOUNT_ID)}
  LEFT JOIN oidc_payloads s ON s.model = 'Session' AND s.uid = t.payload->>'sessionUid'
    AND (s.expires_at IS NULL OR s.expires_at > $3)
  LEFT JOIN oidc_payloads n ON n.model = t.model AND n.id = t.consumed_by AND (n.expires_at IS NULL OR n.expires_at > $3)
  WHERE t.model = $1 AND t.id = $2 AND (t.expires_at IS NULL OR t.expires_at > $3)
  LIMIT 1`;

// Consumes one row and inserts another, or neither: the insert reads its row from the UPDATE's
// RETURNING, so when the old token was consumed already (by a concurrent request: its row lock
// serialises them, and the second re-checks consumed_at after the first commits) nothing is
// inserted. One statement, one commit. The consumed row remembers its successor (consumed_by), so
// that a retry of the rotation can be given the same answer (RETRY).
const CONSUME_AND_INSERT = `WITH consumed AS (
    UPDATE oidc_payloads SET consumed_at = $8, consumed_by = $2 WHERE model = $9 AND id = $10 AND consumed_at IS NULL RETURNING 1)
  INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
  SELECT $1::text, $2::text, $3::jsonb, $4::text, $5::text, $6::text, $7::timestamptz FROM consumed
  ${UPSERT_COLUMNS}`;

// Counts one retry of a rotation and gives its successor, or nothing: when the rotation is older
// than $3 (the grace window), its retries reached $4, or its successor is gone or used. The row
// lock serialises concurrent retries and each re-checks the count after the one before commits,
// so no more than $4 are ever answered. `lapsed`: whether the token was rotated before the grace
// window began (a replay, not a retry: the family is revoked). `rotated`: whether it was rotated at all (from the
// statement's snapshot), to tell reuse from a token consumed some other way.
const RETRY = `WITH counted AS (
    UPDATE oidc_payloads o SET retries = o.retries + 1
    FROM oidc_payloads n
    WHERE o.model = $1 AND o.id = $2 AND o.consumed_at > $3 AND o.retries < $4
      AND n.model = o.model AND n.id = o.consumed_by AND n.consumed_at IS NULL
      AND (n.expires_at IS NULL OR n.expires_at > $5)
    RETURNING o.consumed_by)
  SELECT (SELECT consumed_by FROM counted) AS successor,
    EXISTS (SELECT 1 FROM oidc_payloads WHERE model = $1 AND id = $2 AND consumed_by IS NOT NULL) AS rotated,
    EXISTS (SELECT 1 FROM oidc_payloads WHERE model = $1 AND id = $2 AND consumed_at <= $3) AS lapsed`;

// A request's held writes (oidc/request-reads.ts) in one statement: $1 the rows to upsert, $2 the
// (model, id) of the rows to delete, as JSON arrays; no row is in both.
const WRITE_ALL = `WITH gone AS (
    DELETE FROM oidc_payloads o USING jsonb_to_recordset($2::jsonb) AS d(model text, id text)
    WHERE o.model = d.model AND o.id = d.id)
  INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
  SELECT model, id, payload, grant_id, user_code, uid, expires_at FROM jsonb_to_recordset($1::jsonb)
    AS x(model text, id text, payload jsonb, grant_id text, user_code text, uid text, expires_at timestamptz)
  ${UPSERT_COLUMNS}`;

/**
 * `now` decides what has expired and stamps consumption; tests move it to expire rows without
 * waiting. `prepared`: name the request path's statements (db/client.ts).
 */
export function oidcPayloadQueries(prisma: PrismaClient, pool: pg.Pool, now: Clock = Date.now, prepared = false) {
  const notExpired = () => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: new Date(now()) } }] });
  /** A statement, named when prepared statements are on. */
  const statement = (name: string, text: string, values: unknown[]): pg.QueryConfig => ({
    ...(prepared ? { name: `tessera_${name}` } : {}),
    text,
    values,
  });
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const rowValues = (
    model: string,
    id: string,
    payload: Record<string, unknown>,
    expiresInSeconds: number | undefined,
  ) => [
    model,
    id,
    JSON.stringify(payload),
    str(payload.grantId),
    str(payload.userCode),
    str(payload.uid),
    expiresInSeconds ? new Date(now() + expiresInSeconds * 1000) : null,
  ];

  async function findBy(
    column: 'id' | 'uid' | 'user_code',
    model: string,
    value: string,
  ): Promise<StoredPayload | undefined> {
    const { rows } = await pool.query<{ payload: Record<string, unknown>; consumed_at: Date | null }>(
      statement(
        `find_by_${column}`,
        `SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND ${column} = $2 AND ${LIVE} LIMIT 1`,
        [model, value, new Date(now())],
      ),
    );
    const row = rows[0];
    return row ? { payload: row.payload, consumedAt: row.consumed_at } : undefined;
  }

  return {
    async upsert(model: string, id: string, payload: Record<string, unknown>, expiresInSeconds: number | undefined) {
      await pool.query(
        statement(
          'upsert',
          `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ${UPSERT_COLUMNS}`,
          rowValues(model, id, payload, expiresInSeconds),
        ),
      );
    },

    /** Upserts and deletes of distinct rows, in one statement (no payload: delete). */
    async writeAll(
      writes: { model: string; id: string; payload?: Record<string, unknown>; expiresIn?: number }[],
    ): Promise<void> {
      const upserts = writes.flatMap((w) => {
        if (!w.payload) return [];
        const [model, id, , grantId, userCode, uid, expiresAt] = rowValues(w.model, w.id, w.payload, w.expiresIn);
        return [{ model, id, payload: w.payload, grant_id: grantId, user_code: userCode, uid, expires_at: expiresAt }];
      });
      const deletes = writes.filter((w) => !w.payload).map((w) => ({ model: w.model, id: w.id }));
      await pool.query(statement('write_all', WRITE_ALL, [JSON.stringify(upserts), JSON.stringify(deletes)]));
    },

    /**
     * Consumes `consume` (if nobody has yet) and inserts the new row, in one statement: false,
     * and nothing written, when it was consumed already.
     */
    async consumeAndInsert(
      consume: { model: string; id: string },
      model: string,
      id: string,
      payload: Record<string, unknown>,
      expiresInSeconds: number | undefined,
    ): Promise<boolean> {
      const { rowCount } = await pool.query(
        statement('consume_and_insert', CONSUME_AND_INSERT, [
          ...rowValues(model, id, payload, expiresInSeconds),
          new Date(now()),
          consume.model,
          consume.id,
        ]),
      );
      return rowCount === 1;
    },

    /**
     * Answers one retry of a refresh token's rotation made within `graceMs`, at most `limit`
     * times (RETRY): the successor to answer with, or none; `rotated` says whether it was rotated.
     */
    async retry(
      model: string,
      id: string,
      graceMs: number,
      limit: number,
    ): Promise<{ successor: string | undefined; rotated: boolean; lapsed: boolean }> {
      const { rows } = await pool.query<{ successor: string | null; rotated: boolean; lapsed: boolean }>(
        statement('retry', RETRY, [model, id, new Date(now() - graceMs), limit, new Date(now())]),
      );
      return {
        successor: rows[0]?.successor ?? undefined,
        rotated: rows[0]?.rotated ?? false,
        lapsed: rows[0]?.lapsed ?? false,
      };
    },

    /** A token, or a Session with the grant it holds for `clientId`, read with its Grant and account. */
    async findWithGrantAndAccount(model: string, id: string, clientId?: string): Promise<StoredWithGrant> {
      const { rows } = await pool.query<{
        payload: Record<string, unknown>;
        consumed_at: Date | null;
        grant_id: string | null;
        grant_payload: Record<string, unknown> | null;
        grant_consumed_at: Date | null;
        account_id: string | null;
        account: Record<string, unknown> | null;
        session_uid: string | null;
        session_payload: Record<string, unknown> | null;
        session_consumed_at: Date | null;
        consumed_by: string | null;
        retries: number;
        successor_live: boolean;
      }>(statement('find_with_grant', FIND_WITH_GRANT_AND_ACCOUNT, [model, id, new Date(now()), clientId ?? null]));
      const row = rows[0];
      if (!row) return { stored: undefined };
      return {
        stored: {
          payload: row.payload,
          consumedAt: row.consumed_at,
          ...(row.consumed_by
            ? { rotation: { successor: row.consumed_by, retries: row.retries, successorLive: row.successor_live } }
            : {}),
        },
        ...(row.grant_id
          ? {
              grant: {
                id: row.grant_id,
                stored: row.grant_payload
                  ? { payload: row.grant_payload, consumedAt: row.grant_consumed_at }
                  : undefined,
              },
            }
          : {}),
        ...(row.account_id ? { account: { id: row.account_id, record: accountFromJson(row.account) } } : {}),
        ...(row.session_uid
          ? {
              session: {
                uid: row.session_uid,
                stored: row.session_payload
                  ? { payload: row.session_payload, consumedAt: row.session_consumed_at }
                  : undefined,
              },
            }
          : {}),
      };
    },

    /**
     * Inserts a row that must not exist yet (a one-time value such as a replay-detection jti);
     * false when a live row has the id already. An expired row left for the cleanup job is taken
     * over. One statement, so that two concurrent inserts cannot both succeed.
     */
    async insertOnce(
      model: string,
      id: string,
      payload: Record<string, unknown>,
      expiresInSeconds: number,
    ): Promise<boolean> {
      const { rowCount } = await pool.query(
        `INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at, consumed_at = NULL
         WHERE oidc_payloads.expires_at IS NOT NULL AND oidc_payloads.expires_at <= $5`,
        [model, id, JSON.stringify(payload), new Date(now() + expiresInSeconds * 1000), new Date(now())],
      );
      return rowCount === 1;
    },

    find: (model: string, id: string) => findBy('id', model, id),
    findByUid: (model: string, uid: string) => findBy('uid', model, uid),
    findByUserCode: (model: string, userCode: string) => findBy('user_code', model, userCode),

    /**
     * Marks the row consumed only if nobody has yet: one UPDATE with the condition in its
     * WHERE clause, so of two concurrent consumers exactly one sees a row updated.
     */
    async consume(model: string, id: string): Promise<boolean> {
      const { rowCount } = await pool.query(
        statement(
          'consume',
          'UPDATE oidc_payloads SET consumed_at = $3 WHERE model = $1 AND id = $2 AND consumed_at IS NULL',
          [model, id, new Date(now())],
        ),
      );
      return rowCount === 1;
    },

    async destroy(model: string, id: string) {
      await pool.query(statement('destroy', 'DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [model, id]));
    },

    /** A user's live grants (one per client they signed in to, with the scopes approved). */
    async listGrants(accountId: string) {
      const rows = await prisma.oidcPayload.findMany({
        where: { model: 'Grant', payload: { path: ['accountId'], equals: accountId }, ...notExpired() },
        select: { id: true, payload: true, expiresAt: true },
      });
      return rows.map((r) => ({ id: r.id, payload: r.payload as Record<string, unknown>, expiresAt: r.expiresAt }));
    },

    /**
     * One page of a client's live grants (what each user authorized it), newest first, with the
     * user's address: (iat, id) descending from `before`. Plain SQL: Prisma cannot order by a JSON
     * field. Admin work, unindexed on clientId as the per-user list is on accountId: it reads the
     * Grant rows once per page.
     */
    async listGrantsByClient(clientId: string, take: number, before?: { iat: number; id: string }) {
      const { rows } = await pool.query<{
        id: string;
        payload: Record<string, unknown>;
        expires_at: Date | null;
        email: string | null;
      }>(
        `SELECT g.id, g.payload, g.expires_at, u.email
         FROM oidc_payloads g
         LEFT JOIN users u ON u.id = ${accountIdAsUuid("g.payload->>'accountId'")}
         WHERE g.model = 'Grant' AND g.payload->>'clientId' = $1 AND (g.expires_at IS NULL OR g.expires_at > $2)
           AND ($3::bigint IS NULL OR (COALESCE((g.payload->>'iat')::bigint, 0), g.id) < ($3::bigint, $4::text))
         ORDER BY COALESCE((g.payload->>'iat')::bigint, 0) DESC, g.id DESC
         LIMIT $5`,
        [clientId, new Date(now()), before?.iat ?? null, before?.id ?? null, take],
      );
      return rows.map((r) => ({ id: r.id, payload: r.payload, expiresAt: r.expires_at, email: r.email }));
    },

    /**
     * A user's live sign-in sessions, by uid: the row's id is the session cookie's value, a
     * credential, and never leaves this module.
     */
    async listSessions(accountId: string) {
      const rows = await prisma.oidcPayload.findMany({
        where: { model: 'Session', payload: { path: ['accountId'], equals: accountId }, ...notExpired() },
        select: { uid: true, payload: true, expiresAt: true },
      });
      return rows.map((r) => ({ uid: r.uid!, payload: r.payload as Record<string, unknown>, expiresAt: r.expiresAt }));
    },

    /**
     * Ends the session with this uid and every grant it holds (their refresh tokens and stored
     * tokens with them), in one statement: the clients to send a logout token
     * (session-logouts.ts), or undefined when there was no such session.
     */
    async endSession(uid: string): Promise<SessionLogout[] | undefined> {
      const { rows } = await pool.query<{ ended: number; logouts: unknown }>(
        `WITH s AS (DELETE FROM oidc_payloads WHERE model = 'Session' AND uid = $1 RETURNING payload),
         g AS (SELECT a.value->>'grantId' AS id FROM s, jsonb_each(COALESCE(s.payload->'authorizations', '{}'::jsonb)) a),
         gone AS (DELETE FROM oidc_payloads WHERE grant_id IN (SELECT id FROM g) OR (model = 'Grant' AND id IN (SELECT id FROM g)))
         SELECT (SELECT count(*) FROM s)::int AS ended, ${logoutsOf('s')} AS logouts`,
        [uid],
      );
      return rows[0]!.ended > 0 ? readLogouts(rows[0]!.logouts) : undefined;
    },

    /**
     * Ends a grant and everything issued from it (refresh tokens, codes, stored access tokens):
     * true when the grant was there. One DELETE, so one round trip and one snapshot for the grant
     * and its family; of concurrent revocations of one grant, the others wait on its row lock and
     * then find it gone, so exactly one reports it. (Prisma's deleteMany cannot say it in one.)
     */
    async revokeGrant(grantId: string): Promise<boolean> {
      // On the pool: the token endpoint revokes a family when a refresh token is reused (adapter.ts).
      const { rows } = await pool.query<{ grants: number }>(
        `WITH gone AS (DELETE FROM oidc_payloads WHERE grant_id = $1 OR (model = 'Grant' AND id = $1) RETURNING model)
         SELECT count(*) FILTER (WHERE model = 'Grant')::int AS grants FROM gone`,
        [grantId],
      );
      return rows[0]!.grants === 1;
    },

    async revokeByGrantId(model: string, grantId: string) {
      for (;;) {
        const { rowCount } = await pool.query(
          `DELETE FROM oidc_payloads WHERE ctid IN (
             SELECT ctid FROM oidc_payloads WHERE model = $1 AND grant_id = $2 LIMIT ${REVOKE_BATCH})`,
          [model, grantId],
        );
        if ((rowCount ?? 0) < REVOKE_BATCH) return;
      }
    },
  };
}

export type OidcPayloadQueries = ReturnType<typeof oidcPayloadQueries>;
