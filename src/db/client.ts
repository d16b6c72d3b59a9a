// The one database client: a pg pool shared by Prisma (through @prisma/adapter-pg) and by
// the few statements Prisma cannot express (advisory locks, migrations).
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.ts';

export interface Database {
  url: string;
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(options: { url: string; poolMax: number }): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    // Fail fast when Postgres is unreachable instead of queueing requests behind a hang: a
    // refused connection fails at once, a silent network within 2 s, and the request is
    // answered 503 (db/unavailable.ts) while a client's own timeout is still running.
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client's connection can drop (Postgres restarted); pg emits 'error' on the pool and
  // would crash the process if nobody listened. The next checkout reconnects.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    url: options.url,
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

export type { PrismaClient };
