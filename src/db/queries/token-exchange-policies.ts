// token_exchange_policies: which client may exchange tokens (RFC 8693) towards which API.
import type { PrismaClient } from '../client.ts';

export function tokenExchangePolicyQueries(prisma: PrismaClient) {
  return {
    /** The APIs the client may exchange towards; none: it may not exchange at all. */
    forClient(clientId: string) {
      return prisma.tokenExchangePolicy.findMany({
        where: { clientId },
        select: { api: { select: { id: true, audience: true, scopes: true, accessTokenTtl: true, rbac: true } } },
        orderBy: { createdAt: 'asc' },
      });
    },

    async allow(clientId: string, apiId: string): Promise<boolean> {
      const { count } = await prisma.tokenExchangePolicy.createMany({
        data: [{ clientId, apiId }],
        skipDuplicates: true,
      });
      return count === 1;
    },

    async disallow(clientId: string, apiId: string): Promise<boolean> {
      const { count } = await prisma.tokenExchangePolicy.deleteMany({ where: { clientId, apiId } });
      return count === 1;
    },
  };
}

export type TokenExchangePolicyQueries = ReturnType<typeof tokenExchangePolicyQueries>;
