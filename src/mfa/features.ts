// Second factors as the app uses them: the authenticator-app and recovery-code services, the
// kinds a user can have (passkeys plug in as one more), and the sign-in step that asks for them.
import type pg from 'pg';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import type { Queries } from '../db/queries/index.ts';
import { secondFactorStep } from '../interactions/second-factor.ts';
import { secondFactorLimits, type loginLimits } from '../rate-limit/limits.ts';
import type { Audit } from '../services/audit.ts';
import type { FactorsOf } from '../db/queries/second-factors.ts';
import { requestReads } from '../oidc/request-reads.ts';
import type { PasskeyService } from '../services/passkeys.ts';
import { recoveryCodeFactor, secondFactors, totpFactor } from './factors.ts';
import { passkeyFactor } from './passkey-factor.ts';
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
  // The sign-in asks every kind at once (factors.ts): one statement answers all of them, shared by
  // the calls in flight for a user (not a cache: the next sign-in asks again). Right after a
  // password, the sign-in's own statement has answered already (this request's reads).
  const inFlight = new Map<string, Promise<FactorsOf>>();
  const factorsOf = (userId: string) => {
    const known = requestReads()?.secondFactors.get(userId);
    if (known) return Promise.resolve(known);
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
    passkey: async (userId: string) => (await factorsOf(userId)).passkeys,
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
  /** Passkeys, where they are offered: a kind after the authenticator app, before the recovery codes. */
  passkeys?: PasskeyService;
  now?: Clock;
}) {
  const services = mfaServices(deps.config, deps.queries, deps.now);
  const factors = secondFactors([
    totpFactor(services.totp, services.has.totp),
    ...(deps.passkeys ? [passkeyFactor(deps.passkeys, services.has.passkey)] : []),
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
