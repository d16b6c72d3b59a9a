// Every query module over one Prisma client.
import type { PrismaClient } from '../client.ts';
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

export function createQueries(prisma: PrismaClient) {
  return {
    apis: apiQueries(prisma),
    auditEvents: auditEventQueries(prisma),
    cleanup: cleanupQueries(prisma),
    clients: clientQueries(prisma),
    consents: consentQueries(prisma),
    devicePolls: devicePollQueries(prisma),
    payloads: oidcPayloadQueries(prisma),
    revoked: revokedTokenQueries(prisma),
    signingKeys: signingKeyQueries(prisma),
    tokenExchange: tokenExchangePolicyQueries(prisma),
    users: userQueries(prisma),
  };
}

export type Queries = ReturnType<typeof createQueries>;
