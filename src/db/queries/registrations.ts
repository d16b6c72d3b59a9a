// Dynamic client registration's own state (RFC 7591/7592): initial access tokens and each
// self-registered client's registration access token. Only SHA-256 hashes of the tokens are
// stored (they are 256-bit random values, so a keyed hash would add nothing). Spending an
// initial token is one UPDATE whose WHERE clause is the whole check, so of concurrent
// registrations with a token that has one use left exactly one gets it.
import type { Clock } from '../../clock.ts';
import type { PrismaClient } from '../client.ts';

export interface InitialTokenRow {
  id: string;
  description: string;
  maxUses: number;
  uses: number;
  expiresAt: Date;
  revokedAt: Date | null;
  createdAt: Date;
}

export function registrationQueries(prisma: PrismaClient, now: Clock = Date.now) {
  return {
    async createInitialToken(data: {
      tokenHash: string;
      description: string;
      maxUses: number;
      expiresAt: Date;
    }): Promise<InitialTokenRow> {
      return prisma.dcrInitialToken.create({ data, omit: { tokenHash: true } });
    },

    async listInitialTokens(): Promise<InitialTokenRow[]> {
      return prisma.dcrInitialToken.findMany({ orderBy: { createdAt: 'asc' }, omit: { tokenHash: true } });
    },

    /** Revokes a token by id; false when there is none. */
    async revokeInitialToken(id: string): Promise<boolean> {
      const { count } = await prisma.dcrInitialToken.updateMany({
        where: { id, revokedAt: null },
        data: { revokedAt: new Date(now()) },
      });
      return count === 1;
    },

    /** Spends one use of a live initial token: its id, or undefined (unknown, used up, expired, revoked). */
    async spendInitialToken(tokenHash: string): Promise<string | undefined> {
      const rows = await prisma.$queryRawUnsafe<{ id: string }[]>(
        `UPDATE dcr_initial_tokens SET uses = uses + 1
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND uses < max_uses
         RETURNING id::text`,
        tokenHash,
        new Date(now()),
      );
      return rows[0]?.id;
    },

    /** Gives back a use spent by a registration that then failed validation. */
    async refundInitialToken(id: string): Promise<void> {
      await prisma.$executeRawUnsafe(
        `UPDATE dcr_initial_tokens SET uses = uses - 1 WHERE id = $1::uuid AND uses > 0`,
        id,
      );
    },

    async record(data: {
      clientId: string;
      tokenHash: string;
      initialTokenId: string | undefined;
      registeredFrom: string | undefined;
    }): Promise<void> {
      await prisma.clientRegistration.create({ data });
    },

    /** The client a registration access token belongs to, or undefined. */
    async clientOf(tokenHash: string): Promise<{ clientId: string; approvedAt: Date | null } | undefined> {
      const row = await prisma.clientRegistration.findUnique({
        where: { tokenHash },
        select: { clientId: true, approvedAt: true },
      });
      return row ?? undefined;
    },

    /** Replaces the registration access token (RFC 7592 §2.2: rotated on update) if `oldHash` is still current. */
    async rotateToken(clientId: string, oldHash: string, newHash: string): Promise<boolean> {
      const { count } = await prisma.clientRegistration.updateMany({
        where: { clientId, tokenHash: oldHash },
        data: { tokenHash: newHash },
      });
      return count === 1;
    },

    /** Whether a self-registered client is still unreviewed (false for every other client). */
    async unapproved(clientId: string): Promise<boolean> {
      const row = await prisma.clientRegistration.findUnique({ where: { clientId }, select: { approvedAt: true } });
      return row !== null && row.approvedAt === null;
    },

    /** An admin approves a self-registered client; false when the client did not register itself. */
    async approve(clientId: string): Promise<boolean> {
      const { count } = await prisma.clientRegistration.updateMany({
        where: { clientId },
        data: { approvedAt: new Date(now()) },
      });
      return count === 1;
    },
  };
}

export type RegistrationQueries = ReturnType<typeof registrationQueries>;
