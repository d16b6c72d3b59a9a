// Every query module over the one database client (Prisma, and its pg pool where Prisma's cost
// per statement matters: oidc-payloads.ts).
import { ForbiddenCharacter, ServiceUnavailable } from '../../errors.ts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../client.ts';
import { isDatabaseUnavailable, isUnstorableText } from '../failures.ts';
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

/**
 * The module with two of every query's failures turned into RFC 6749 errors that every caller
 * (oidc-provider's endpoints included) answers as such rather than as a 500 server_error: the
 * database unreachable (503 temporarily_unavailable) and a NUL from the request (400
 * invalid_request). Other failures pass through unchanged.
 */
function guarded<T extends object>(module: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(module)) {
    wrapped[name] = typeof value !== 'function' ? value : async function guardedQuery(...args: unknown[]) {
      try {
        return await (value as (...a: unknown[]) => Promise<unknown>).apply(wrapped, args);
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw new ServiceUnavailable({ cause: err });
        if (isUnstorableText(err)) throw new ForbiddenCharacter({ cause: err });
        throw err;
      }
    };
  }
  return wrapped as T;
}

/** `now` is the clock of the payloads' expiry and the device polls (src/clock.ts); tests pass one they move. */
export function createQueries({ prisma, pool }: Pick<Database, 'prisma' | 'pool'>, now: Clock = Date.now) {
  return {
    apis: guarded(apiQueries(prisma)),
    auditEvents: guarded(auditEventQueries(prisma)),
    cleanup: guarded(cleanupQueries(prisma)),
    clients: guarded(clientQueries(prisma)),
    consents: guarded(consentQueries(prisma)),
    devicePolls: guarded(devicePollQueries(prisma, now)),
    payloads: guarded(oidcPayloadQueries(prisma, pool, now)),
    revoked: guarded(revokedTokenQueries(prisma)),
    signingKeys: guarded(signingKeyQueries(prisma)),
    tokenExchange: guarded(tokenExchangePolicyQueries(prisma)),
    users: guarded(userQueries(prisma)),
  };
}

export type Queries = ReturnType<typeof createQueries>;
