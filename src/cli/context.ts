// What every CLI command runs on: the server's configuration and database, and the services.
import type { Config } from '../config/config.ts';
import { createQueries, type Queries } from '../db/queries/index.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logging/logger.ts';
import type { Output } from './output.ts';
import { applyMigrationsAt, MIGRATIONS_DIR } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { apiService, type ApiService } from '../services/apis.ts';
import { apiKeyService, type ApiKeyService } from '../services/api-keys.ts';
import { clientService, type ClientService } from '../services/clients.ts';
import { userService, type UserService } from '../services/users.ts';
import { auditTrail, type Audit } from '../services/audit.ts';
import { webhookAuditEvents } from '../services/webhooks.ts';
import { outboxKeys } from '../account/features.ts';
import { userInfo } from 'node:os';

/** What runs a subcommand: opens the context, runs the action, closes it (cli/main.ts). */
export type Run = (action: (ctx: CliContext, out: Output) => Promise<void>) => Promise<void>;

export interface CliContext {
  config: Config;
  db: Database;
  queries: Queries;
  apis: ApiService;
  apiKeys: ApiKeyService;
  clients: ClientService;
  users: UserService;
  audit: Audit;
  actor: string;
}

export async function withCliContext<T>(
  config: Config,
  logger: Logger,
  run: (ctx: CliContext) => Promise<T>,
): Promise<T> {
  const { db, embedded } = await openDatabase(config, logger);
  try {
    // The same rule as the server: with MIGRATE_ON_START (the default) the schema is brought up
    // to date first, so that the CLI works on a database the server has never started on.
    if (config.migrateOnStart) {
      await applyMigrationsAt(db.directUrl, {
        migrationsDir: MIGRATIONS_DIR,
        log: (msg, fields) => logger.info(fields ?? {}, msg),
      });
    }
    const queries = createQueries(db);
    const audit = auditTrail(webhookAuditEvents(queries.webhooks, config.issuer, outboxKeys(config)), logger);
    // The audit trail names the operating-system account that ran the command.
    const actor = `cli:${userInfo().username}`;
    return await run({
      config,
      db,
      queries,
      audit,
      actor,
      apis: apiService(queries.apis, audit, actor),
      apiKeys: apiKeyService({
        keys: queries.apiKeys,
        apis: queries.apis,
        clients: queries.clients,
        users: queries.users,
        pepper: config.clientSecretPepper,
        audit,
        actor,
      }),
      clients: clientService({
        clients: queries.clients,
        apis: queries.apis,
        exchange: queries.tokenExchange,
        pepper: config.clientSecretPepper,
        audit,
        actor,
      }),
      users: userService(queries.users, audit, actor, { passwordMinLength: config.passwordMinLength }),
    });
  } finally {
    await db.close();
    await embedded?.stop();
  }
}
