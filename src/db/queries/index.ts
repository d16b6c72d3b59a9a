// Every query module over the one database client, each under the guard (guard.ts). Which use
// the pg pool and which Prisma: db/client.ts. The rate limits' counters (rate-limits.ts) are
// built per limit, with its options, by whoever sets the limit.
import type { Clock } from '../../clock.ts';
import type { Database } from '../client.ts';
import { accountSessionQueries } from './account-sessions.ts';
import { apiQueries } from './apis.ts';
import { auditEventQueries } from './audit-events.ts';
import { cleanupQueries } from './cleanup.ts';
import { clientQueries } from './clients.ts';
import { consentQueries } from './consents.ts';
import { devicePollQueries } from './device-polls.ts';
import { guarded } from './guard.ts';
import { oidcPayloadQueries } from './oidc-payloads.ts';
import { outboxQueries } from './outbox.ts';
import { passkeyQueries } from './passkeys.ts';
import { registrationQueries } from './registrations.ts';
import { revokedTokenQueries } from './revoked-tokens.ts';
import { secondFactorQueries } from './second-factors.ts';
import { signingKeyQueries } from './signing-keys.ts';
import { tokenExchangePolicyQueries } from './token-exchange-policies.ts';
import { userQueries } from './users.ts';
import { userTokenQueries } from './user-tokens.ts';
import { webhookQueries } from './webhooks.ts';

/** `now` is the clock of the payloads' expiry and the device polls (src/clock.ts); tests pass one they move. */
export function createQueries(
  {
    prisma,
    pool,
    preparedStatements,
  }: Pick<Database, 'prisma' | 'pool'> & Partial<Pick<Database, 'preparedStatements'>>,
  now: Clock = Date.now,
) {
  return {
    accountSessions: guarded(accountSessionQueries(pool, now)),
    apis: guarded(apiQueries(prisma)),
    auditEvents: guarded(auditEventQueries(prisma)),
    cleanup: guarded(cleanupQueries(prisma)),
    clients: guarded(clientQueries(prisma)),
    consents: guarded(consentQueries(prisma, pool)),
    devicePolls: guarded(devicePollQueries(prisma, now)),
    outbox: guarded(outboxQueries(prisma, now)),
    passkeys: guarded(passkeyQueries(prisma, now)),
    payloads: guarded(oidcPayloadQueries(prisma, pool, now, preparedStatements ?? false)),
    registrations: guarded(registrationQueries(prisma, now)),
    revoked: guarded(revokedTokenQueries(prisma)),
    secondFactors: guarded(secondFactorQueries(pool)),
    signingKeys: guarded(signingKeyQueries(prisma)),
    tokenExchange: guarded(tokenExchangePolicyQueries(prisma)),
    users: guarded(userQueries(prisma, pool, preparedStatements ?? false)),
    userTokens: guarded(userTokenQueries(prisma, now)),
    webhooks: guarded(webhookQueries(prisma, now)),
  };
}

export type Queries = ReturnType<typeof createQueries>;
