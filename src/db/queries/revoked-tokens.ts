// revoked_tokens: the deny-list of JWT access tokens revoked before they expired.
import type { PrismaClient } from '../client.ts';

export function revokedTokenQueries(prisma: PrismaClient) {
  return {
    async add(jti: string, clientId: string, expiresAt: Date) {
      // INSERT … ON CONFLICT DO NOTHING: revoking a token twice at once is one revocation. (An
      // upsert with nothing to update reads, then inserts: the second of two simultaneous
      // revocations hit the primary key and answered 500.)
      await prisma.revokedToken.createMany({ data: [{ jti, clientId, expiresAt }], skipDuplicates: true });
    },
    /** Every revoked token that has not expired yet: the deny-list a process keeps in memory. */
    listActive(): Promise<{ jti: string; expiresAt: Date }[]> {
      return prisma.revokedToken.findMany({
        where: { expiresAt: { gt: new Date() } },
        select: { jti: true, expiresAt: true },
      });
    },
    async isRevoked(jti: string): Promise<boolean> {
      return (await prisma.revokedToken.count({ where: { jti } })) > 0;
    },
    /** Deleted clients and disabled or deleted users, with when (revoked_principals, written by triggers). */
    listPrincipals(): Promise<RevokedPrincipal[]> {
      return prisma.revokedPrincipal.findMany({
        where: { expiresAt: { gt: new Date() } },
        select: { kind: true, id: true, revokedAt: true },
      });
    },
    /** The entries for a token's client and subject, when the in-memory list cannot answer. */
    findPrincipals(clientId: string, sub: string | undefined): Promise<RevokedPrincipal[]> {
      return prisma.revokedPrincipal.findMany({
        where: { OR: [{ kind: 'client', id: clientId }, ...(sub === undefined ? [] : [{ kind: 'subject', id: sub }])] },
        select: { kind: true, id: true, revokedAt: true },
      });
    },
  };
}

export interface RevokedPrincipal {
  kind: string;
  id: string;
  revokedAt: Date;
}

export type RevokedTokenQueries = ReturnType<typeof revokedTokenQueries>;
