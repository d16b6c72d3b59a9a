// Tessera's migrator: each migration once, under a lock, recorded as Prisma records it.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR, pendingMigrations } from '../../src/db/migrate.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { tessera } from '../setup/tessera.ts';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

async function freshPool(max = 4) {
  return (await freshDatabase(max)).pool;
}

async function freshDatabase(max = 4) {
  const db: ScratchDatabase = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_migrate');
  const pool = new pg.Pool({ connectionString: db.url, max });
  // Dropping the database at the end ends any connection still open; that is not a failure.
  pool.on('error', () => {});
  cleanup.push(async () => {
    await pool.end();
    await db.drop();
  });
  return { pool, url: db.url };
}

const log = () => {};

describe('migrations', () => {
  it('apply to an empty database once, recorded in _prisma_migrations like prisma migrate deploy', async () => {
    const pool = await freshPool();
    expect(await pendingMigrations(pool, MIGRATIONS_DIR)).toContain('20261122000000_init');
    const first = await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log });
    expect(first.applied).toContain('20261122000000_init');
    expect((await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log })).applied).toEqual([]);
    expect(await pendingMigrations(pool, MIGRATIONS_DIR)).toEqual([]);
    const { rows } = await pool.query(
      'SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(first.applied);
    for (const row of rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row).toMatchObject({ applied_steps_count: 1, rolled_back_at: null });
    }
  });

  it('apply each migration exactly once when two processes race', async () => {
    const pool = await freshPool(8);
    const results = await Promise.all([
      applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log }),
      applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log }),
      applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log }),
    ]);
    const applied = results.flatMap((r) => r.applied);
    expect(new Set(applied).size).toBe(applied.length);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM _prisma_migrations');
    expect(rows[0].n).toBe(applied.length);
  });

  it('refuse a migration changed after it was applied, and roll back a failing one', async () => {
    const pool = await freshPool();
    await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log });
    const dir = mkdtempSync(join(tmpdir(), 'tessera-migrations-'));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    writeFileSync(join(dir, '20261122000000_init', 'migration.sql'), '-- edited\n', { flag: 'a' });
    await expect(applyMigrations(pool, { migrationsDir: dir, log })).rejects.toThrow(
      'migration 20261122000000_init was changed after it was applied (checksum mismatch); add a new migration instead',
    );

    const broken = mkdtempSync(join(tmpdir(), 'tessera-migrations-'));
    cpSync(MIGRATIONS_DIR, broken, { recursive: true });
    cpSync(join(MIGRATIONS_DIR, '20261122000000_init'), join(broken, '29991231000000_broken'), { recursive: true });
    writeFileSync(
      join(broken, '29991231000000_broken', 'migration.sql'),
      'CREATE TABLE broken_one (id int);\nSELECT no_such_function();\n',
    );
    await expect(applyMigrations(pool, { migrationsDir: broken, log })).rejects.toThrow(
      'migration 29991231000000_broken failed',
    );
    const { rows } = await pool.query(
      "SELECT to_regclass('broken_one') AS t, (SELECT count(*)::int FROM _prisma_migrations WHERE migration_name = '29991231000000_broken') AS n",
    );
    expect(rows[0]).toEqual({ t: null, n: 0 });
  });

  it('`tessera migrate --dry-run` prints what would run and changes nothing', async () => {
    const { pool, url } = await freshDatabase();
    const all = (await pendingMigrations(pool, MIGRATIONS_DIR)).sort();
    const tables = async () =>
      (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]!
        .n;

    const dry = await tessera(['migrate', '--dry-run'], { env: { DATABASE_URL: url } });
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n')[0]).toBe(`would apply ${all.length} migrations (dry run, nothing changed):`);
    for (const name of all) expect(dry.stdout).toContain(`-- ${name}\n`);
    expect(dry.stdout).toContain('CREATE TABLE "oidc_payloads"');
    expect(await tables()).toBe(0); // not even _prisma_migrations

    const json = await tessera(['--json', 'migrate', '--dry-run'], { env: { DATABASE_URL: url } });
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as { dry_run: boolean; pending: { name: string; sql: string }[] };
    expect(plan.dry_run).toBe(true);
    expect(plan.pending.map((m) => m.name)).toEqual(all);
    expect(plan.pending[0]!.sql).toContain('CREATE TABLE');
    expect(await tables()).toBe(0);

    await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log });
    const after = await tessera(['--json', 'migrate', '--dry-run'], { env: { DATABASE_URL: url } });
    expect(JSON.parse(after.stdout)).toEqual({ dry_run: true, pending: [] });
    expect((await tessera(['migrate', '--dry-run'], { env: { DATABASE_URL: url } })).stdout).toBe(
      'the database is up to date (dry run, nothing changed)\n',
    );
  });

  it('build an index CONCURRENTLY outside a transaction, and refuse more than that one statement with it', async () => {
    const pool = await freshPool();
    await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log });
    const dir = mkdtempSync(join(tmpdir(), 'tessera-migrations-'));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    cpSync(join(MIGRATIONS_DIR, '20261122000000_init'), join(dir, '29991231000000_concurrent_index'), {
      recursive: true,
    });
    writeFileSync(
      join(dir, '29991231000000_concurrent_index', 'migration.sql'),
      '-- Writes to users go on while it builds.\nCREATE INDEX CONCURRENTLY "users_disabled_idx" ON "users"("disabled");\n',
    );
    expect((await applyMigrations(pool, { migrationsDir: dir, log })).applied).toEqual([
      '29991231000000_concurrent_index',
    ]);
    const { rows } = await pool.query(
      "SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass('users_disabled_idx')",
    );
    expect(rows).toEqual([{ valid: true }]);

    cpSync(join(MIGRATIONS_DIR, '20261122000000_init'), join(dir, '29991231000001_two'), { recursive: true });
    writeFileSync(
      join(dir, '29991231000001_two', 'migration.sql'),
      'ALTER TABLE "users" ADD COLUMN "x" TEXT;\nCREATE INDEX CONCURRENTLY "users_x_idx" ON "users"("x");\n',
    );
    await expect(applyMigrations(pool, { migrationsDir: dir, log })).rejects.toThrow(
      'migration 29991231000001_two uses CONCURRENTLY, which cannot run in a transaction: it must hold that one statement only',
    );
  });
});
