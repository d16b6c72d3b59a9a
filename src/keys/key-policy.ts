// The key lifecycle's settings from Tessera's configuration.
import type { Config } from '../config/config.ts';
import { ID_TOKEN_TTL, USERINFO_ACCESS_TOKEN_TTL } from '../oidc/provider-config.ts';
import type { ApiQueries } from '../db/queries/apis.ts';
import type { KeyPolicy } from './lifecycle.ts';

// Added to the longest token lifetime before a retired key leaves the JWKS, so that a resource
// server whose clock is a little behind still finds the key (oidc-provider's default tolerance).
const CLOCK_SKEW = 60;

export function keyPolicy(config: Config, apis: ApiQueries): KeyPolicy {
  return {
    kek: config.keysEncryptionKey,
    keks: [config.keysEncryptionKey, ...(config.previousKeysEncryptionKey ? [config.previousKeysEncryptionKey] : [])],
    rsaBits: config.keys.rsaBits,
    algs: ['RS256', ...config.keys.extraAlgs],
    rotationPeriod: config.keys.rotationPeriod,
    publicationDelay: config.keys.publicationDelay,
    retention: async () =>
      Math.max(await apis.maxAccessTokenTtl(), ID_TOKEN_TTL, USERINFO_ACCESS_TOKEN_TTL) + CLOCK_SKEW,
  };
}
