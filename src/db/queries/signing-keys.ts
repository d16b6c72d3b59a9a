// signing_keys: the provider's signing keys, private parts sealed (see keys/seal.ts).
import type { PrismaClient } from '../client.ts';
import type { Prisma } from '../generated/client.ts';

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
  unpublishAt: Date | null;
}

export interface NewKey {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateJwkEnc: Buffer;
}

// Serialises key changes between Tessera processes (any constant that no other advisory lock
// in Tessera uses).
const KEY_LOCK = 7_364_201;
// Tells every Tessera process listening (keys/key-watcher.ts) that the keys changed.
export const KEYS_CHANNEL = 'tessera_keys';

type Db = PrismaClient | Prisma.TransactionClient;

function queries(db: Db) {
  const toRow = (r: Prisma.SigningKeyGetPayload<object>): SigningKeyRow => ({
    ...r,
    publicJwk: r.publicJwk as Record<string, unknown>,
    privateJwkEnc: Buffer.from(r.privateJwkEnc),
  });

  return {
    /** The keys in the JWKS now: next, current, and retired ones not yet due to leave. */
    async listPublished(now = new Date()): Promise<SigningKeyRow[]> {
      const rows = await db.signingKey.findMany({
        where: { OR: [{ state: { in: ['next', 'current'] } }, { state: 'retired', unpublishAt: { gt: now } }] },
        orderBy: { createdAt: 'desc' },
      });
      return rows.map(toRow);
    },

    async list(): Promise<SigningKeyRow[]> {
      return (await db.signingKey.findMany({ orderBy: { createdAt: 'desc' } })).map(toRow);
    },

    async insert(key: NewKey, state: KeyState, now = new Date()) {
      await db.signingKey.create({
        data: {
          kid: key.kid,
          alg: key.alg,
          state,
          publicJwk: key.publicJwk as Prisma.InputJsonValue,
          privateJwkEnc: new Uint8Array(key.privateJwkEnc),
          createdAt: now,
          activatedAt: state === 'current' ? now : null,
        },
      });
    },

    async setState(kid: string, data: { state: KeyState; activatedAt?: Date; retiredAt?: Date; unpublishAt?: Date }) {
      await db.signingKey.update({ where: { kid }, data });
    },

    async setSealed(kid: string, privateJwkEnc: Buffer) {
      await db.signingKey.update({ where: { kid }, data: { privateJwkEnc: new Uint8Array(privateJwkEnc) } });
    },

    /** Deletes retired keys whose tokens have all expired; returns their kids. */
    async deleteUnpublished(now = new Date()): Promise<string[]> {
      const gone = await db.signingKey.findMany({
        where: { state: 'retired', unpublishAt: { lte: now } },
        select: { kid: true },
      });
      await db.signingKey.deleteMany({ where: { kid: { in: gone.map((g) => g.kid) } } });
      return gone.map((g) => g.kid);
    },

    async notify() {
      await db.$executeRaw`SELECT pg_notify(${KEYS_CHANNEL}, '')`;
    },
  };
}

export type SigningKeyTx = ReturnType<typeof queries>;

export function signingKeyQueries(prisma: PrismaClient) {
  return {
    ...queries(prisma),
    /**
     * Runs `change` in one transaction under an advisory lock, so that two processes deciding
     * at once (both starting, both rotating on schedule) take turns; when `change` reports a
     * change, every process is notified as the transaction commits.
     */
    async change(change: (tx: SigningKeyTx) => Promise<boolean>): Promise<boolean> {
      return prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEY_LOCK})`;
          const q = queries(tx);
          const changed = await change(q);
          if (changed) await q.notify(); // delivered at commit
          return changed;
        },
        { timeout: 30_000 },
      );
    },
  };
}

export type SigningKeyQueries = ReturnType<typeof signingKeyQueries>;
