// Every query module over the one database client (Prisma, and its pg pool where Prisma's cost
// per statement matters: oidc-payloads.ts).
import type { Database } from '../client.ts';
import { apiQueries } from './apis.ts';
import { auditEventQueries } from './audit-events.ts';
import { cleanupQueries } from './cleanup.ts';
import { clientQueries } from './clients.ts';
import { consentQueries } from './consents.ts';
import { devicePollQueries } from './device-polls.ts';
import { oidcPayloadQueries } from './oidc-payloads.ts';
import { revokedTokenQueries } from './revoked-tokens.ts';
import { signingKeyQueries } from './signing-keys.ts';
import { tokenExchangePolicyQueries } from './token-exchange-policies.ts';
import { userQueries } from './users.ts';

export function createQueries({ prisma, pool }: Pick<Database, 'prisma' | 'pool'>) {
  return {
    apis: apiQueries(prisma),
    auditEvents: auditEventQueries(prisma),
    cleanup: cleanupQueries(prisma),
    clients: clientQueries(prisma),
    consents: consentQueries(prisma),
    devicePolls: devicePollQueries(prisma),
    payloads: oidcPayloadQueries(prisma, pool),
    revoked: revokedTokenQueries(prisma),
    signingKeys: signingKeyQueries(prisma),
    tokenExchange: tokenExchangePolicyQueries(prisma),
    users: userQueries(prisma),
  };
}

export type Queries = ReturnType<typeof createQueries>;
