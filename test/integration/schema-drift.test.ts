// The migrations must build exactly the database that prisma/schema.prisma describes. Database
// A gets the SQL Prisma generates for the schema from empty; database B gets Tessera's
// migrations; their catalogs must be the same, table by table, column by column, constraint by
// constraint and index by index.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { diffSchemas } from '../../scripts/prisma-diff.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';

const scratch: ScratchDatabase[] = [];
afterAll(async () => {
  for (const db of scratch) await db.drop();
});

/** A normalised description of the public schema, without Prisma's bookkeeping table. */
async function describeSchema(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const q = async (sql: string) => (await client.query(sql)).rows.map((r) => Object.values(r).join(' | ')).sort();
    return {
      columns:
        await q(`SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, character_maximum_length, datetime_precision
                        FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`),
      constraints: await q(`SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                            WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'`),
      indexes: await q(
        `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`,
      ),
      enums: await q(`SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid`),
    };
  } finally {
    await client.end();
  }
}

describe('schema drift', () => {
  it('the migrations build exactly what schema.prisma describes', async () => {
    const admin = inject('adminDatabaseUrl');
    const schema = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
    const expected = await createScratchDatabase(admin, 'tessera_drift_expected');
    const actual = await createScratchDatabase(admin, 'tessera_drift_actual');
    scratch.push(expected, actual);

    const sql = await diffSchemas(undefined, schema, admin);
    expect(sql).toContain('CREATE TABLE');
    const client = new pg.Client({ connectionString: expected.url });
    await client.connect();
    await client.query(sql);
    await client.end();

    const pool = new pg.Pool({ connectionString: actual.url, max: 1 });
    await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
    await pool.end();

    expect(await describeSchema(actual.url)).toEqual(await describeSchema(expected.url));
  }, 120_000);
});
