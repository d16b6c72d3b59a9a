// admin_idempotency_keys: the admin API's Idempotency-Key records (src/admin/idempotency.ts).
import type { PrismaClient } from '../client.ts';

export type IdempotencyClaim =
  | { claimed: true }
  | { claimed: false; requestHash: Buffer; status: number | null; response: Buffer | null };

export function adminIdempotencyQueries(prisma: PrismaClient) {
  return {
    /**
     * Claims the key for this request, or returns what holds it. One statement decides: of
     * concurrent requests with one key exactly one inserts (or takes over a record past its
     * expiry, which the cleanup job has not deleted yet); the others read the winner's row.
     */
    async claim(caller: string, key: string, requestHash: Buffer, expiresAt: Date): Promise<IdempotencyClaim> {
      const hash = new Uint8Array(requestHash);
      const won = await prisma.$queryRaw<{ claimed: boolean }[]>`
        INSERT INTO admin_idempotency_keys (caller, key, request_hash, expires_at)
        VALUES (${caller}, ${key}, ${hash}, ${expiresAt})
        ON CONFLICT (caller, key) DO UPDATE
          SET request_hash = EXCLUDED.request_hash, status = NULL, response = NULL,
              created_at = now(), expires_at = EXCLUDED.expires_at
          WHERE admin_idempotency_keys.expires_at < now()
        RETURNING true AS claimed`;
      if (won.length) return { claimed: true };
      const row = await prisma.adminIdempotencyKey.findUnique({ where: { caller_key: { caller, key } } });
      // Deleted between the two statements (the request that held it failed): claim again.
      if (!row) return this.claim(caller, key, requestHash, expiresAt);
      return {
        claimed: false,
        requestHash: Buffer.from(row.requestHash),
        status: row.status,
        response: row.response ? Buffer.from(row.response) : null,
      };
    },

    /** Stores the (sealed) answer of the request that claimed the key. */
    async complete(caller: string, key: string, status: number, response: Buffer): Promise<void> {
      await prisma.adminIdempotencyKey.update({
        where: { caller_key: { caller, key } },
        data: { status, response: new Uint8Array(response) },
      });
    },

    /** Gives the key up: the request failed, and a retry with the same key runs again. */
    async release(caller: string, key: string): Promise<void> {
      await prisma.adminIdempotencyKey.deleteMany({ where: { caller, key, status: null } });
    },
  };
}

export type AdminIdempotencyQueries = ReturnType<typeof adminIdempotencyQueries>;
