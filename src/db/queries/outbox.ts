// outbox: work done after the request that asked for it (mail now; webhooks, back-channel logout
// later). The claim is what makes several replicas deliver each row once: one UPDATE whose
// sub-select takes due rows FOR UPDATE SKIP LOCKED, so two workers claiming at once get disjoint
// rows, and stamps them with a lease (an id and an end). Completion and release name the lease:
// a worker whose lease ran out (it hung past LEASE) and whose row another worker has claimed
// since cannot delete or reschedule it. Raw SQL through Prisma, as FOR UPDATE is (db/client.ts).
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { PrismaClient } from '../client.ts';

export interface ClaimedMessage {
  id: bigint;
  kind: string;
  payload: Buffer;
  /** This claim included: 1 on the first try. */
  attempts: number;
  leaseId: string;
}

/** `issuer`: whose rows these are (the replicas of one issuer share them). */
export function outboxQueries(prisma: PrismaClient, now: Clock = Date.now) {
  return {
    async add(issuer: string, kind: string, payload: Buffer): Promise<bigint> {
      const [row] = await prisma.$queryRaw<{ id: bigint }[]>`
        INSERT INTO outbox (issuer, kind, payload, available_at)
        VALUES (${issuer}, ${kind}, ${payload}, ${new Date(now())}) RETURNING id`;
      return row!.id;
    },

    /** Up to `limit` due rows of these kinds, each leased to the caller for `leaseMs`. */
    async claim(issuer: string, kinds: string[], limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
      const at = new Date(now());
      const leaseId = randomUUID();
      const rows = await prisma.$queryRaw<{ id: bigint; kind: string; payload: Uint8Array; attempts: number }[]>`
        UPDATE outbox SET lease_id = ${leaseId}::uuid, lease_until = ${new Date(at.getTime() + leaseMs)},
          attempts = attempts + 1
        WHERE id IN (
          SELECT id FROM outbox
          WHERE issuer = ${issuer} AND kind = ANY(${kinds}) AND dead_at IS NULL AND available_at <= ${at}
            AND (lease_until IS NULL OR lease_until <= ${at})
          ORDER BY available_at LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, payload, attempts`;
      return rows.map((r) => ({ ...r, payload: Buffer.from(r.payload), leaseId }));
    },

    /** The work is done: the row goes. False when the lease was lost to another worker. */
    async complete(id: bigint, leaseId: string): Promise<boolean> {
      const n = await prisma.$executeRaw`DELETE FROM outbox WHERE id = ${id} AND lease_id = ${leaseId}::uuid`;
      return n === 1;
    },

    /** The work failed: try again after `retryInMs`, or never (dead) when `retryInMs` is undefined. */
    async release(id: bigint, leaseId: string, error: string, retryInMs: number | undefined): Promise<void> {
      const at = now();
      await prisma.$executeRaw`
        UPDATE outbox SET lease_id = NULL, lease_until = NULL, last_error = ${error.slice(0, 1000)},
          available_at = ${new Date(at + (retryInMs ?? 0))},
          dead_at = ${retryInMs === undefined ? new Date(at) : null}
        WHERE id = ${id} AND lease_id = ${leaseId}::uuid`;
    },

    /** What waits, per kind (for /metrics and tests). */
    async pending(): Promise<{ kind: string; waiting: number; dead: number }[]> {
      return prisma.$queryRaw`
        SELECT kind, count(*) FILTER (WHERE dead_at IS NULL)::int AS waiting,
          count(*) FILTER (WHERE dead_at IS NOT NULL)::int AS dead
        FROM outbox GROUP BY kind ORDER BY kind`;
    },
  };
}

export type OutboxQueries = ReturnType<typeof outboxQueries>;
