// oidc_payloads: the storage of every oidc-provider model except Client.
//
// The statements on the flows' path (find, upsert, consume, destroy) go to the pg pool as plain
// SQL: through Prisma each costs ~0.6 ms of CPU, on the pool ~0.15 ms (measured on this table,
// 2,000 finds each), and an authorization-code flow makes about fifteen of them. The schema is
// still Prisma's (schema.prisma, migrations); the administrative reads below stay on Prisma.
import type pg from 'pg';
import type { Clock } from '../../clock.ts';
import type { PrismaClient } from '../client.ts';

export interface StoredPayload {
  payload: Record<string, unknown>;
  consumedAt: Date | null;
}

// Bounded batches keep a family revocation from holding one long lock on a large grant.
const REVOKE_BATCH = 500;

const LIVE = '(expires_at IS NULL OR expires_at > $3)';

/** `now` decides what has expired and stamps consumption; tests move it to expire rows without waiting. */
export function oidcPayloadQueries(prisma: PrismaClient, pool: pg.Pool, now: Clock = Date.now) {
  const notExpired = () => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: new Date(now()) } }] });

  async function findBy(
    column: 'id' | 'uid' | 'user_code',
    model: string,
    value: string,
  ): Promise<StoredPayload | undefined> {
    const { rows } = await pool.query<{ payload: Record<string, unknown>; consumed_at: Date | null }>(
      `SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND ${column} = $2 AND ${LIVE} LIMIT 1`,
      [model, value, new Date(now())],
    );
    const row = rows[0];
    return row ? { payload: row.payload, consumedAt: row.consumed_at } : undefined;
  }

  return {
    async upsert(model: string, id: string, payload: Record<string, unknown>, expiresInSeconds: number | undefined) {
      const str = (v: unknown) => (typeof v === 'string' ? v : null);
      await pool.query(
        `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
           user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
        [
          model,
          id,
          JSON.stringify(payload),
          str(payload.grantId),
          str(payload.userCode),
          str(payload.uid),
          expiresInSeconds ? new Date(now() + expiresInSeconds * 1000) : null,
        ],
      );
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
        'UPDATE oidc_payloads SET consumed_at = $3 WHERE model = $1 AND id = $2 AND consumed_at IS NULL',
        [model, id, new Date(now())],
      );
      return rowCount === 1;
    },

    async destroy(model: string, id: string) {
      await pool.query('DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [model, id]);
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
     * Ends a grant and everything issued from it (refresh tokens, codes, stored access tokens):
     * true when the grant was there. One DELETE, so one round trip and one snapshot for the grant
     * and its family; of concurrent revocations of one grant, the others wait on its row lock and
     * then find it gone, so exactly one reports it. (Prisma's deleteMany cannot say it in one.)
     */
    async revokeGrant(grantId: string): Promise<boolean> {
      const [row] = await prisma.$queryRaw<{ grants: number }[]>`
        WITH gone AS (DELETE FROM oidc_payloads WHERE grant_id = ${grantId} OR (model = 'Grant' AND id = ${grantId}) RETURNING model)
        SELECT count(*) FILTER (WHERE model = 'Grant')::int AS grants FROM gone`;
      return row!.grants === 1;
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
