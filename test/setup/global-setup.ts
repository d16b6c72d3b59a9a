// One PostgreSQL for the whole run: TEST_DATABASE_URL (a superuser connection; CI points it
// at Debian's PostgreSQL) or, when unset, a throw-away embedded PostgreSQL. A fresh database is
// created and migrated once; test files share it and keep apart by random ids.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { createScratchDatabase, startPostgres } from './postgres.ts';
import { missingPrerequisites, prerequisitesMessage } from './prerequisites.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const missing = missingPrerequisites({ PATH: process.env.PATH, TEST_DATABASE_URL: process.env.TEST_DATABASE_URL });
  if (missing.length) {
    // One line, not a stack trace: nothing is wrong with the code.
    process.stderr.write(`${prerequisitesMessage(missing)}\n`);
    process.exit(1);
  }
  const postgres = await startPostgres(process.env.TEST_DATABASE_URL);
  const database = await createScratchDatabase(postgres.adminUrl, 'tessera_test');
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  await pool.end();

  project.provide('adminDatabaseUrl', postgres.adminUrl);
  project.provide('databaseUrl', database.url);

  return async () => {
    await database.drop();
    await postgres.stop();
  };
}
