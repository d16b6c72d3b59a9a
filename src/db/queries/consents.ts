// consents: the scopes each user has approved for each client. `scopes` is asked on authorization
// requests (oidc/existing-grant.ts), so it reads on the pool (db/client.ts); the writes are Prisma's.
import type pg from 'pg';
import type { PrismaClient } from '../client.ts';
import { isUserId } from './users.ts';

export function consentQueries(prisma: PrismaClient, pool: pg.Pool) {
  return {
    async scopes(userId: string, clientId: string): Promise<string[]> {
      if (!isUserId(userId)) return [];
      const { rows } = await pool.query<{ scopes: string[] }>(
        'SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2',
        [userId, clientId],
      );
      return rows[0]?.scopes ?? [];
    },
    /** Adds to what the user approved for the client (approvals accumulate). */
    async grant(userId: string, clientId: string, scopes: string[]) {
      const existing = await this.scopes(userId, clientId);
      const merged = [...new Set([...existing, ...scopes])];
      await prisma.consent.upsert({
        where: { userId_clientId: { userId, clientId } },
        create: { userId, clientId, scopes: merged },
        update: { scopes: merged },
      });
    },
    async revoke(userId: string, clientId?: string) {
      await prisma.consent.deleteMany({ where: { userId, ...(clientId ? { clientId } : {}) } });
    },
  };
}

export type ConsentQueries = ReturnType<typeof consentQueries>;
