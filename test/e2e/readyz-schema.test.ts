// /readyz during a rolling upgrade: a database migrated by the next release (migrations this
// code does not know) is expected while old replicas still serve, so they stay ready; a database
// older than the code (migrations this code needs, not applied) is not ready, with a reason.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR, pendingMigrations } from '../../src/db/migrate.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';

let database: ScratchDatabase;
let pool: pg.Pool;
let server: TestServer;

beforeAll(async () => {
  database = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_readyz');
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on('error', () => {});
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  server = await startTestServer({ DATABASE_URL: database.url });
});
afterAll(async () => {
  await server?.close();
  await pool?.end();
  await database?.drop();
});

async function readyz() {
  const res = await fetch(`${server.issuer}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('/readyz and the database schema', () => {
  it('is not ready while the database lacks a migration of this release, ready once it has it', async () => {
    // This release's newest migration, as if not yet applied (its tables stay; only the record goes).
    const { rows } = await pool.query<{ id: string; checksum: string; migration_name: string }>(
      'DELETE FROM _prisma_migrations WHERE migration_name = (SELECT max(migration_name) FROM _prisma_migrations) RETURNING *',
    );
    expect(await pendingMigrations(pool, MIGRATIONS_DIR)).toEqual([rows[0]!.migration_name]);
    expect(await readyz()).toEqual({
      status: 503,
      body: { status: 'unavailable', reason: 'database schema older than this release (migrations pending)' },
    });
    // Migrated (the record back): ready again, since a failed check is not cached.
    const { id, checksum, migration_name } = rows[0]!;
    await pool.query(
      'INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count) VALUES ($1, $2, $3, now(), 1)',
      [id, checksum, migration_name],
    );
    expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready', schema: 'current' } });
  });

  it('stays ready on a database the next release has migrated further', async () => {
    await pool.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count)
       VALUES (gen_random_uuid(), repeat('0', 64), '29991231000000_from_the_next_release', now(), 1)`,
    );
    // The check above passed and is cached for a minute; a server started now sees the newer schema.
    const next = await startTestServer({ DATABASE_URL: database.url });
    try {
      const res = await fetch(`${next.issuer}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ready', schema: 'newer' });
    } finally {
      await next.close();
    }
  });
});
