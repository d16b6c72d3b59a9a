// Deleting what has expired, in bounded batches, one short transaction each, so that cleanup
// never holds long locks on tables the token endpoint writes.
import type { PrismaClient } from '../client.ts';

// Serialises cleaners across replicas (any constant no other advisory lock in Tessera uses).
const CLEANUP_LOCK = 7_364_202;
// Small enough to keep each transaction short, large enough to drain a backlog quickly.
export const CLEANUP_BATCH = 1000;

const TABLES = {
  oidc_payloads: (p: PrismaClient, n: number) => p.$executeRaw`
    DELETE FROM oidc_payloads WHERE ctid IN (SELECT ctid FROM oidc_payloads WHERE expires_at < now() LIMIT ${n})`,
  revoked_tokens: (p: PrismaClient, n: number) => p.$executeRaw`
    DELETE FROM revoked_tokens WHERE jti IN (SELECT jti FROM revoked_tokens WHERE expires_at < now() LIMIT ${n})`,
  revoked_principals: (p: PrismaClient, n: number) => p.$executeRaw`
    DELETE FROM revoked_principals WHERE (kind, id) IN (SELECT kind, id FROM revoked_principals WHERE expires_at < now() LIMIT ${n})`,
  device_polls: (p: PrismaClient, n: number) => p.$executeRaw`
    DELETE FROM device_polls WHERE device_code_id IN (SELECT device_code_id FROM device_polls WHERE expires_at < now() LIMIT ${n})`,
  rate_limits: (p: PrismaClient, n: number) => p.$executeRaw`
    DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE expire < (extract(epoch from now()) * 1000)::bigint LIMIT ${n})`,
  // Mailed links past their end, used or not: a used link is as dead as an expired one, and
  // keeping it until it would have expired costs nothing (at most a week, for an invitation).
  user_tokens: (p: PrismaClient, n: number) => p.$executeRaw`
    DELETE FROM user_tokens WHERE token_hash IN (SELECT token_hash FROM user_tokens WHERE expires_at < now() LIMIT ${n})`,
  // Passkey ceremonies' challenges past their end (a used one is deleted when used).
  webauthn_challenges: (p: PrismaClient, n: number) => p.$executeRaw`
    DELETE FROM webauthn_challenges WHERE challenge_hash IN (SELECT challenge_hash FROM webauthn_challenges WHERE expires_at < now() LIMIT ${n})`,
  // Dead outbox rows (past their last attempt) are kept 30 days for an operator, then go.
  outbox: (p: PrismaClient, n: number) => p.$executeRaw`
    DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE dead_at < now() - interval '30 days' LIMIT ${n})`,
} as const;

export type CleanedTable = keyof typeof TABLES;

export function cleanupQueries(prisma: PrismaClient) {
  return {
    /**
     * Deletes up to one batch of expired rows from the table, if no other process is cleaning at
     * this moment; returns how many were deleted, or undefined when another process holds the lock.
     */
    async batch(table: CleanedTable, size = CLEANUP_BATCH): Promise<number | undefined> {
      return prisma.$transaction(async (tx) => {
        const [lock] = await tx.$queryRaw<
          { locked: boolean }[]
        >`SELECT pg_try_advisory_xact_lock(${CLEANUP_LOCK}) AS locked`;
        if (!lock?.locked) return undefined;
        return TABLES[table](tx as unknown as PrismaClient, size);
      });
    },
    tables: Object.keys(TABLES) as CleanedTable[],
  };
}

export type CleanupQueries = ReturnType<typeof cleanupQueries>;
