// The one database client: a pg pool, shared by Prisma (through @prisma/adapter-pg) and by the
// statements Tessera sends to the pool itself. Prisma owns the schema (schema.prisma, migrations)
// either way.
//
// The data-access rule. Every statement on Tessera's tables but the migrations' lives in a module of db/queries/,
// under one guard (queries/guard.ts: unreachable database -> 503, a NUL -> 400). Which client a
// statement uses is decided by how often it runs:
// - Per request, on the flows' path: plain parameterised SQL on the pg pool. Through Prisma each
//   statement costs ~0.6 ms of CPU, on the pool ~0.15 ms (oidc-payloads.ts has the measurement),
//   and an authorization-code flow makes about fifteen of them. These are oidc-provider's
//   payloads (queries/oidc-payloads.ts: find, upsert, insertOnce, consume, destroy,
//   revokeByGrantId) and the rate limits' counters (queries/rate-limits.ts: the token quota's
//   batched upsert, and rate-limiter-flexible's PostgreSQL store, which queries the pool itself).
//   The statements are unnamed (pg parses each one again): one per request, short, indexed.
// - Everything else: Prisma, for its types. That is admin work (the CLI, the seed, the client,
//   API and user services), and reads that a cache in memory answers for the request path: the
//   client catalog (cache/client-catalog.ts, clients.findSnapshot) and the revocation lists
//   (cache/revocations.ts, revoked-tokens.ts), which go to the database only when the cache
//   cannot answer. Sign-in (users.findByEmail) and device polls stay on Prisma too: each is
//   dwarfed by what follows it (argon2id; the device flow's own pace).
// - What Prisma's query builder cannot say goes through Prisma's $queryRaw/$executeRaw, not the
//   pool: advisory locks (cleanup.ts, signing-keys.ts), FOR UPDATE (device-polls.ts), batched
//   deletes (cleanup.ts), pg_notify, and one-statement revocation (oidc-payloads.revokeGrant).
// Outside db/queries/, and outside the guard, only what no query module fits: the migrations
// (migrate.ts, on a connection of their own to directUrl, under their own advisory lock), the change
// listener (notifications.ts, its own pg.Client to directUrl for LISTEN, outside the pool), /readyz's SELECT 1 and pending-migrations
// check (routes/health.ts), and the pool's gauges (metrics/registry.ts).
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.ts';

export interface Database {
  url: string;
  /**
   * A URL for session work (LISTEN, session advisory locks, migrations): DIRECT_DATABASE_URL when
   * `url` is a transaction-mode pooler, else `url`. The pool itself keeps no session state: no
   * SET outside a transaction, no named statements (a pooler hands each transaction to any
   * server connection).
   */
  directUrl: string;
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(options: { url: string; directUrl?: string | undefined; poolMax: number }): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    // Fail fast when Postgres is unreachable instead of queueing requests behind a hang: a
    // refused connection fails at once, a silent network within 2 s, and the request is
    // answered 503 (db/failures.ts) while a client's own timeout is still running.
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client's connection can drop (Postgres restarted); pg emits 'error' on the pool and
  // would crash the process if nobody listened. The next checkout reconnects.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    url: options.url,
    directUrl: options.directUrl ?? options.url,
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

export type { PrismaClient };
