// revoked_tokens: the deny-list of JWT access tokens revoked before they expired.
import type { PrismaClient } from '../client.ts';

export function revokedTokenQueries(prisma: PrismaClient) {
  return {
    async add(jti: string, clientId: string, expiresAt: Date) {
      await prisma.revokedToken.upsert({
        where: { jti },
        create: { jti, clientId, expiresAt },
        update: {},
      });
    },
    /** Every revoked token that has not expired yet: the deny-list a process keeps in memory. */
    listActive(): Promise<{ jti: string; expiresAt: Date }[]> {
      return prisma.revokedToken.findMany({ where: { expiresAt: { gt: new Date() } }, select: { jti: true, expiresAt: true } });
    },
    async isRevoked(jti: string): Promise<boolean> {
      return (await prisma.revokedToken.count({ where: { jti } })) > 0;
    },
  };
}

export type RevokedTokenQueries = ReturnType<typeof revokedTokenQueries>;
