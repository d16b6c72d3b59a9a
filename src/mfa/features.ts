// Second factors as the app uses them: the authenticator-app and recovery-code services, the
// kinds a user can have (passkeys plug in as one more), and the sign-in step that asks for them.
import type pg from 'pg';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import type { Queries } from '../db/queries/index.ts';
import { secondFactorStep } from '../interactions/second-factor.ts';
import { secondFactorLimits, type loginLimits } from '../rate-limit/limits.ts';
import type { Audit } from '../services/audit.ts';
import { recoveryCodeFactor, secondFactors, totpFactor, type SecondFactorKind } from './factors.ts';
import { recoveryCodes } from './recovery-codes.ts';
import type { SecondFactorPolicy } from './policy.ts';
import { totpService, type SealingKeys } from './totp.ts';

export function sealingKeys(config: Pick<Config, 'keysEncryptionKey' | 'previousKeysEncryptionKey'>): SealingKeys {
  return {
    current: config.keysEncryptionKey,
    all: [config.keysEncryptionKey, ...(config.previousKeysEncryptionKey ? [config.previousKeysEncryptionKey] : [])],
  };
}

/** The services, for the sign-in step, the account pages and the CLI. */
export function mfaServices(config: Config, queries: Pick<Queries, 'secondFactors'>, now?: Clock) {
  const totp = totpService({
    queries: queries.secondFactors,
    keys: sealingKeys(config),
    issuer: config.brand.name,
    ...(now ? { now } : {}),
  });
  const codes = recoveryCodes({
    queries: queries.secondFactors,
    pepper: config.clientSecretPepper,
    ...(now ? { now } : {}),
  });
  // The sign-in asks every kind at once (factors.ts): one statement answers both, shared by the
  // calls in flight for a user (not a cache: the next sign-in asks again).
  const inFlight = new Map<string, ReturnType<typeof queries.secondFactors.factorsOf>>();
  const factorsOf = (userId: string) => {
    let pending = inFlight.get(userId);
    if (!pending) {
      pending = queries.secondFactors.factorsOf(userId).finally(() => inFlight.delete(userId));
      inFlight.set(userId, pending);
    }
    return pending;
  };
  const has = {
    totp: async (userId: string) => (await factorsOf(userId)).totp,
    recovery: async (userId: string) => (await factorsOf(userId)).recoveryCodes > 0,
  };
  return { totp, recoveryCodes: codes, has };
}

export function mfaFeatures(deps: {
  config: Config;
  queries: Queries;
  pool: pg.Pool;
  audit: Audit;
  loginLimits: ReturnType<typeof loginLimits>;
  requiredFor: SecondFactorPolicy;
  onRateLimited(): void;
  /** Further kinds (passkeys), after the authenticator app and before the recovery codes. */
  extraKinds?: SecondFactorKind[];
  now?: Clock;
}) {
  const services = mfaServices(deps.config, deps.queries, deps.now);
  const factors = secondFactors([
    totpFactor(services.totp, services.has.totp),
    ...(deps.extraKinds ?? []),
    recoveryCodeFactor(services.recoveryCodes, services.has.recovery),
  ]);
  const attempts = secondFactorLimits(deps.pool, deps.config.rateLimits).perAccount;
  const step = secondFactorStep({
    factors,
    totp: services.totp,
    recoveryCodes: services.recoveryCodes,
    userQueries: deps.queries.users,
    requiredFor: deps.requiredFor,
    limits: {
      perIp: deps.loginLimits.perIp,
      lockedRecords: deps.loginLimits.lockedRecords,
      perAccount: attempts,
    },
    audit: deps.audit,
    csrfKey: deps.config.cookieKeys[0]!,
    onRateLimited: deps.onRateLimited,
  });
  return { ...services, factors, step, attempts };
}
