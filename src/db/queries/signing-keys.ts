// signing_keys: the provider's signing keys, private parts sealed (see keys/seal.ts).
import type { PrismaClient } from '../client.ts';
import { Prisma } from '../generated/client.ts';

export type KeyState = 'next' | 'current' | 'retired';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  state: string;
  publicJwk: Record<string, unknown>;
  privateJwkEnc: Buffer;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
}

// Serialises key creation between Tessera processes starting at once (any constant that no
// other advisory lock in Tessera uses).
const KEY_CREATION_LOCK = 7_364_201;

export function signingKeyQueries(prisma: PrismaClient) {
  const toRow = (r: Prisma.SigningKeyGetPayload<object>): SigningKeyRow => ({
    ...r,
    publicJwk: r.publicJwk as Record<string, unknown>,
    privateJwkEnc: Buffer.from(r.privateJwkEnc),
  });

  return {
    async listPublished(): Promise<SigningKeyRow[]> {
      const rows = await prisma.signingKey.findMany({
        where: { state: { in: ['next', 'current'] } },
        orderBy: { createdAt: 'desc' },
      });
      return rows.map(toRow);
    },

    async list(): Promise<SigningKeyRow[]> {
      return (await prisma.signingKey.findMany({ orderBy: { createdAt: 'desc' } })).map(toRow);
    },

    /**
     * Runs `create` only if no current key of this algorithm exists, under a transaction-scoped
     * advisory lock so that two processes starting together create one key, not two.
     */
    async ensureCurrent(alg: string, create: () => Promise<Omit<SigningKeyRow, 'createdAt' | 'activatedAt' | 'retiredAt' | 'state'>>) {
      await prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEY_CREATION_LOCK})`;
        const existing = await tx.signingKey.count({ where: { alg, state: 'current' } });
        if (existing > 0) return;
        const key = await create();
        await tx.signingKey.create({
          data: {
            kid: key.kid,
            alg: key.alg,
            state: 'current',
            publicJwk: key.publicJwk as Prisma.InputJsonValue,
            privateJwkEnc: new Uint8Array(key.privateJwkEnc),
            activatedAt: new Date(),
          },
        });
      }, { timeout: 30_000 });
    },
  };
}

export type SigningKeyQueries = ReturnType<typeof signingKeyQueries>;
