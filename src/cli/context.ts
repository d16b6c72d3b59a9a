// What every CLI command runs on: the server's configuration and database, and the services.
import type { Config } from '../config/config.ts';
import { createQueries, type Queries } from '../db/queries/index.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logging/logger.ts';
import { applyMigrations } from '../db/migrate.ts';
import { MIGRATIONS_DIR, openDatabase } from '../server.ts';
import { apiService, type ApiService } from '../services/apis.ts';
import { clientService, type ClientService } from '../services/clients.ts';
import { userService, type UserService } from '../services/users.ts';

export interface CliContext {
  config: Config;
  db: Database;
  queries: Queries;
  apis: ApiService;
  clients: ClientService;
  users: UserService;
}

export async function withCliContext<T>(config: Config, logger: Logger, run: (ctx: CliContext) => Promise<T>): Promise<T> {
  const { db, embedded } = await openDatabase(config, logger);
  try {
    // The same rule as the server: with MIGRATE_ON_START (the default) the schema is brought up
    // to date first, so that the CLI works on a database the server has never started on.
    if (config.migrateOnStart) {
      await applyMigrations(db.pool, { migrationsDir: MIGRATIONS_DIR, log: (msg, fields) => logger.info(fields ?? {}, msg) });
    }
    const queries = createQueries(db.prisma);
    return await run({
      config,
      db,
      queries,
      apis: apiService(queries.apis),
      clients: clientService({ clients: queries.clients, apis: queries.apis, pepper: config.clientSecretPepper }),
      users: userService(queries.users),
    });
  } finally {
    await db.close();
    await embedded?.stop();
  }
}
