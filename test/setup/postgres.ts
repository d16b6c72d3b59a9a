// PostgreSQL for tests, benchmarks and dev scripts: the one given by URL (a superuser
// connection), or a throw-away embedded server; and scratch databases inside it.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, loadEmbeddedPostgres } from '../../src/db/embedded.ts';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';

export interface Postgres {
  /** A superuser URL on the `postgres` database. */
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startPostgres(adminUrl: string | undefined): Promise<Postgres> {
  if (adminUrl) return { adminUrl, stop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pg-'));
  chmodSync(dir, 0o711); // as root, PostgreSQL runs as `postgres` and must reach data/
  const port = await freePort();
  const Postgres = await loadEmbeddedPostgres();
  const server = new Postgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'throwaway',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
    // Enough connections for parallel test files, each with its own pool.
    postgresFlags: ['-c', 'max_connections=300'],
  });
  await server.initialise();
  await server.start();
  return {
    adminUrl: `postgresql://postgres:throwaway@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(adminUrl: string, prefix = 'tessera_scratch'): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A scratch database with Tessera's migrations applied: a test's own, for state it must not share. */
export async function migratedScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const database = await createScratchDatabase(adminUrl, prefix);
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  await pool.end();
  return database;
}
