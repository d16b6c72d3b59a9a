// consents: the scopes each user has approved for each client.
import type { PrismaClient } from '../client.ts';

export function consentQueries(prisma: PrismaClient) {
  return {
    async scopes(userId: string, clientId: string): Promise<string[]> {
      const row = await prisma.consent.findUnique({
        where: { userId_clientId: { userId, clientId } },
        select: { scopes: true },
      });
      return row?.scopes ?? [];
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
