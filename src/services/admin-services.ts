// The services an admin drives, for one actor: built the same way for the CLI (cli/context.ts)
// and for each admin API call (admin/routes.ts), so that both run one implementation.
import type { Config } from '../config/config.ts';
import type { Queries } from '../db/queries/index.ts';
import { backchannelLogouts } from '../oidc/backchannel-logout.ts';
import { outbox, outboxKeys } from '../outbox/outbox.ts';
import { apiService } from './apis.ts';
import { apiKeyService } from './api-keys.ts';
import type { Audit } from './audit.ts';
import { clientService } from './clients.ts';
import { grantService } from './grants.ts';
import { keyService } from './keys.ts';
import { userService } from './users.ts';

export function adminServices(config: Config, queries: Queries, audit: Audit, actor: string) {
  return {
    apis: apiService(queries.apis, audit, actor),
    clients: clientService({
      clients: queries.clients,
      apis: queries.apis,
      exchange: queries.tokenExchange,
      pepper: config.clientSecretPepper,
      audit,
      actor,
    }),
    apiKeys: apiKeyService({
      keys: queries.apiKeys,
      apis: queries.apis,
      clients: queries.clients,
      users: queries.users,
      pepper: config.clientSecretPepper,
      audit,
      actor,
    }),
    users: userService(queries.users, audit, actor, { passwordMinLength: config.passwordMinLength }),
    keys: keyService({ config, signingKeys: queries.signingKeys, apis: queries.apis, audit, actor }),
    grants: grantService({
      payloads: queries.payloads,
      sessions: queries.accountSessions,
      consents: queries.consents,
      audit,
      actor,
      // The server's outbox worker sends the logout tokens (a CLI process only adds the rows).
      sessionsEnded: backchannelLogouts(() => outbox(queries.outbox, config.issuer, outboxKeys(config))),
    }),
  };
}

export type AdminServices = ReturnType<typeof adminServices>;
