// Tessera applies its own migrations: the Prisma CLI's schema engine cannot be downloaded on
// every machine Tessera runs on. The SQL is Prisma's (prisma/migrations/*/migration.sql) and
// each applied migration is recorded in `_prisma_migrations` exactly as `prisma migrate
// deploy` records it, so Prisma's tools, where they run, agree with Tessera.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

// The table as Prisma's migration engine creates it.
const MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

// Serialises migrators across processes (replicas starting together). Any constant no other
// advisory lock in Tessera uses.
const MIGRATION_LOCK = 7_364_200;

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Whether a migration must run outside a transaction: CREATE/DROP INDEX CONCURRENTLY (which lets
 * writes to a table in use go on while the index builds, expand/contract) refuses to run in one,
 * and several statements sent together form one. Such a migration holds that statement only.
 */
function outsideTransaction(migration: Migration): boolean {
  const bare = migration.sql.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
  if (!/\bCONCURRENTLY\b/i.test(bare)) return false;
  if (bare.split(';').filter((part) => part.trim()).length > 1)
    throw new Error(
      `migration ${migration.name} uses CONCURRENTLY, which cannot run in a transaction: it must hold that one statement only`,
    );
  return true;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

async function appliedMigrations(client: pg.PoolClient | pg.Pool): Promise<Map<string, AppliedRow>> {
  const exists = await client.query(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS ok`);
  if (!exists.rows[0].ok) return new Map();
  const { rows } = await client.query<AppliedRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
  );
  return new Map(rows.map((r) => [r.migration_name, r]));
}

/** The migrations on disk that the database has not applied, in order, with their SQL. */
export async function migrationPlan(pool: pg.Pool, migrationsDir: string): Promise<{ name: string; sql: string }[]> {
  const applied = await appliedMigrations(pool);
  return (await readMigrations(migrationsDir))
    .filter((m) => !applied.get(m.name)?.finished_at)
    .map(({ name, sql }) => ({ name, sql }));
}

/**
 * How the database's schema compares with this code's migrations: `older` when migrations on disk
 * are not applied (this code may use what they add), `newer` when the database has applied
 * migrations this code does not know (a later release migrated it: expand/contract keeps it
 * usable by this one), else `current`.
 */
export async function schemaState(pool: pg.Pool, migrationsDir: string): Promise<'older' | 'current' | 'newer'> {
  const applied = await appliedMigrations(pool);
  const onDisk = await readMigrations(migrationsDir);
  if (onDisk.some((m) => !applied.get(m.name)?.finished_at)) return 'older';
  const known = new Set(onDisk.map((m) => m.name));
  return [...applied.keys()].some((name) => !known.has(name)) ? 'newer' : 'current';
}

/** Names of the migrations on disk that the database has not applied. */
export async function pendingMigrations(pool: pg.Pool, migrationsDir: string): Promise<string[]> {
  return (await migrationPlan(pool, migrationsDir)).map((m) => m.name);
}

/**
 * Applies the migrations over a connection of their own to `url` (the direct URL, not a
 * transaction-mode pooler): the advisory lock below is held by a session, across transactions.
 */
export async function applyMigrationsAt(
  url: string,
  options: { migrationsDir: string; log: (msg: string, fields?: object) => void },
): Promise<{ applied: string[] }> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => {});
  try {
    return await applyMigrations(pool, options);
  } finally {
    await pool.end();
  }
}

export async function applyMigrations(
  pool: pg.Pool,
  options: { migrationsDir: string; log: (msg: string, fields?: object) => void },
): Promise<{ applied: string[] }> {
  const migrations = await readMigrations(options.migrationsDir);
  const client = await pool.connect();
  try {
    // A session-level lock held across the per-migration transactions below.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(MIGRATIONS_TABLE);
    const applied = await appliedMigrations(client);

    for (const [name, row] of applied) {
      if (!row.finished_at) {
        throw new Error(
          `migration ${name} failed earlier and is recorded as unfinished; fix the database, then mark it rolled back`,
        );
      }
      const onDisk = migrations.find((m) => m.name === name);
      if (onDisk && onDisk.checksum !== row.checksum) {
        throw new Error(
          `migration ${name} was changed after it was applied (checksum mismatch); add a new migration instead`,
        );
      }
    }

    // Checked for every pending migration before any is applied.
    const outside = new Set(migrations.filter((m) => !applied.has(m.name) && outsideTransaction(m)).map((m) => m.name));
    const done: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.name)) continue;
      const id = randomUUID();
      if (outside.has(migration.name)) {
        // Recorded first, finished after: a failure leaves it unfinished, which the next run
        // refuses (above) until an operator has dropped the INVALID index it may have left.
        await client.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
          [id, migration.checksum, migration.name],
        );
        try {
          await client.query(migration.sql);
        } catch (err) {
          throw new Error(
            `migration ${migration.name} failed outside a transaction: ${(err as Error).message}; drop what it left (an INVALID index), then mark it rolled back`,
            { cause: err },
          );
        }
        await client.query(
          'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
          [id],
        );
        options.log('applied migration', { migration: migration.name });
        done.push(migration.name);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
          [id, migration.checksum, migration.name],
        );
        await client.query(migration.sql);
        await client.query(
          'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
          [id],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
      }
      options.log('applied migration', { migration: migration.name });
      done.push(migration.name);
    }
    return { applied: done };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
