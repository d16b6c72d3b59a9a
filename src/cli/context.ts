// What every CLI command runs on: the server's configuration and database, and the services.
import type { Config } from '../config/config.ts';
import { createQueries, type Queries } from '../db/queries/index.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logging/logger.ts';
import type { Output } from './output.ts';
import { applyMigrationsAt, MIGRATIONS_DIR } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import type { ApiService } from '../services/apis.ts';
import type { ApiKeyService } from '../services/api-keys.ts';
import { adminServices, type AdminServices } from '../services/admin-services.ts';
import type { AuditEventService } from '../services/audit-events.ts';
import type { ClientService } from '../services/clients.ts';
import type { GrantService } from '../services/grants.ts';
import type { DcrService } from '../services/dcr.ts';
import type { UserMfaService } from '../services/user-mfa.ts';
import {
  organizationCommands,
  type OrganizationCommands,
  type OrganizationService,
} from '../services/organizations.ts';
import type { RoleService } from '../services/roles.ts';
import { auditTrail, type Audit } from '../services/audit.ts';
import type { KeyService } from '../services/keys.ts';
import { webhookAuditEvents, type WebhookService } from '../services/webhooks.ts';
import { outboxKeys } from '../account/features.ts';
import { userInfo } from 'node:os';

/** What runs a subcommand: opens the context, runs the action, closes it (cli/main.ts). */
export type Run = (action: (ctx: CliContext, out: Output) => Promise<void>) => Promise<void>;

/**
 * What the commands that also work remotely use: the services, which the remote mode
 * (cli/remote.ts) provides over the admin API with the same methods and answers.
 */
export interface CliServices {
  apis: Pick<ApiService, 'create' | 'list' | 'delete'>;
  clients: Pick<ClientService, 'create' | 'list' | 'show' | 'update' | 'delete' | 'rotateSecret'>;
  users: Pick<
    AdminServices['users'],
    | 'create'
    | 'createAndMail'
    | 'list'
    | 'show'
    | 'setDisabled'
    | 'setPassword'
    | 'update'
    | 'markEmailVerified'
    | 'delete'
  >;
  /** Links mailed to a user (verification, password reset), in the user's language. */
  userMail: Pick<AdminServices['userMail'], 'sendVerification' | 'sendPasswordReset'>;
  keys: Pick<KeyService, 'list' | 'rotate' | 'retire'>;
  grants: Pick<GrantService, 'list' | 'revoke' | 'endAllSessions' | 'listSessions'>;
  /** `tessera users mfa`: a user's second factors. */
  mfa: Pick<UserMfaService, 'list' | 'reset'>;
  roles: Pick<
    RoleService,
    | 'create'
    | 'list'
    | 'show'
    | 'delete'
    | 'grantPermission'
    | 'revokePermission'
    | 'assignToUser'
    | 'removeFromUser'
    | 'assignToClient'
    | 'removeFromClient'
  >;
  apiKeys: Pick<ApiKeyService, 'create' | 'list' | 'show' | 'revoke' | 'rotate' | 'usage'>;
  /** `tessera orgs`: the organization service with the admin API's views as its answers. */
  orgs: OrganizationCommands;
  webhooks: WebhookService;
  dcr: DcrService;
  /** `tessera audit`: the trail, newest first. */
  auditEvents: Pick<AuditEventService, 'list'>;
}

/** The full context of the database mode; the remote mode refuses what is not in CliServices. */
export interface CliContext {
  config: Config;
  db: Database;
  queries: Queries;
  apis: ApiService;
  apiKeys: ApiKeyService;
  clients: ClientService;
  users: AdminServices['users'];
  userMail: AdminServices['userMail'];
  mfa: UserMfaService;
  keys: KeyService;
  grants: GrantService;
  roles: RoleService;
  organizations: OrganizationService;
  orgs: OrganizationCommands;
  webhooks: WebhookService;
  dcr: DcrService;
  auditEvents: AuditEventService;
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
    const services = adminServices(config, queries, audit, actor);
    return await run({
      config,
      db,
      queries,
      audit,
      actor,
      ...services,
      orgs: organizationCommands(services.organizations),
    });
  } finally {
    await db.close();
    await embedded?.stop();
  }
}
