// oidc_payloads: the storage of every oidc-provider model except Client.
import type { PrismaClient } from '../client.ts';
import { Prisma } from '../generated/client.ts';

export interface StoredPayload {
  payload: Record<string, unknown>;
  consumedAt: Date | null;
}

// Bounded batches keep a family revocation from holding one long lock on a large grant.
const REVOKE_BATCH = 500;

export function oidcPayloadQueries(prisma: PrismaClient) {
  const notExpired = () => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] });

  return {
    async upsert(model: string, id: string, payload: Record<string, unknown>, expiresInSeconds: number | undefined) {
      const row = {
        payload: payload as Prisma.InputJsonValue,
        grantId: typeof payload.grantId === 'string' ? payload.grantId : null,
        userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        expiresAt: expiresInSeconds ? new Date(Date.now() + expiresInSeconds * 1000) : null,
      };
      await prisma.oidcPayload.upsert({
        where: { model_id: { model, id } },
        create: { model, id, ...row },
        update: row,
      });
    },

    /**
     * Inserts a row that must not exist yet (a one-time value such as a replay-detection jti);
     * false when a live row has the id already. An expired row left for the cleanup job is taken
     * over. One statement, so that two concurrent inserts cannot both succeed.
     */
    async insertOnce(model: string, id: string, payload: Record<string, unknown>, expiresInSeconds: number): Promise<boolean> {
      const expiresAt = new Date(Date.now() + expiresInSeconds * 1000);
      const inserted = await prisma.$executeRaw`
        INSERT INTO oidc_payloads (model, id, payload, expires_at)
        VALUES (${model}, ${id}, ${JSON.stringify(payload)}::jsonb, ${expiresAt})
        ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at, consumed_at = NULL
        WHERE oidc_payloads.expires_at IS NOT NULL AND oidc_payloads.expires_at <= now()`;
      return inserted === 1;
    },

    async find(model: string, id: string): Promise<StoredPayload | undefined> {
      const row = await prisma.oidcPayload.findFirst({
        where: { model, id, ...notExpired() },
        select: { payload: true, consumedAt: true },
      });
      return row ? { payload: row.payload as Record<string, unknown>, consumedAt: row.consumedAt } : undefined;
    },

    async findByUid(model: string, uid: string): Promise<StoredPayload | undefined> {
      const row = await prisma.oidcPayload.findFirst({
        where: { model, uid, ...notExpired() },
        select: { payload: true, consumedAt: true },
      });
      return row ? { payload: row.payload as Record<string, unknown>, consumedAt: row.consumedAt } : undefined;
    },

    async findByUserCode(model: string, userCode: string): Promise<StoredPayload | undefined> {
      const row = await prisma.oidcPayload.findFirst({
        where: { model, userCode, ...notExpired() },
        select: { payload: true, consumedAt: true },
      });
      return row ? { payload: row.payload as Record<string, unknown>, consumedAt: row.consumedAt } : undefined;
    },

    /**
     * Marks the row consumed only if nobody has yet: one UPDATE with the condition in its
     * WHERE clause, so of two concurrent consumers exactly one sees a row updated.
     */
    async consume(model: string, id: string): Promise<boolean> {
      const { count } = await prisma.oidcPayload.updateMany({
        where: { model, id, consumedAt: null },
        data: { consumedAt: new Date() },
      });
      return count === 1;
    },

    async destroy(model: string, id: string) {
      await prisma.oidcPayload.deleteMany({ where: { model, id } });
    },

    /** A user's live grants (one per client they signed in to, with the scopes approved). */
    async listGrants(accountId: string) {
      const rows = await prisma.oidcPayload.findMany({
        where: { model: 'Grant', payload: { path: ['accountId'], equals: accountId }, ...notExpired() },
        select: { id: true, payload: true, expiresAt: true },
      });
      return rows.map((r) => ({ id: r.id, payload: r.payload as Record<string, unknown>, expiresAt: r.expiresAt }));
    },

    /** Ends a grant and everything issued from it (refresh tokens, codes, stored access tokens). */
    async revokeGrant(grantId: string): Promise<boolean> {
      const [, grant] = await prisma.$transaction([
        prisma.oidcPayload.deleteMany({ where: { grantId } }),
        prisma.oidcPayload.deleteMany({ where: { model: 'Grant', id: grantId } }),
      ]);
      return grant.count === 1;
    },

    async revokeByGrantId(model: string, grantId: string) {
      for (;;) {
        const deleted = await prisma.$executeRaw`
          DELETE FROM oidc_payloads WHERE ctid IN (
            SELECT ctid FROM oidc_payloads WHERE model = ${model} AND grant_id = ${grantId} LIMIT ${REVOKE_BATCH}
          )`;
        if (deleted < REVOKE_BATCH) return;
      }
    },
  };
}

export type OidcPayloadQueries = ReturnType<typeof oidcPayloadQueries>;
