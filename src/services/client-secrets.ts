// Client secrets: generated here, shown once, stored as a keyed hash.
//
// Why HMAC-SHA-256 and not bcrypt/argon2: a client secret is 256 bits from the CSPRNG, so no
// amount of guessing speed makes it brute-forceable; slow KDFs exist to protect low-entropy
// human passwords. A slow hash here would make every token request pay ~50-100 ms of CPU and
// turn the token endpoint into a denial-of-service lever. The key (CLIENT_SECRET_PEPPER) means
// a copy of the database alone does not even allow checking a guessed secret.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The token endpoint authentication methods that present the client's secret (RFC 6749 §2.3.1). */
export const SECRET_AUTH_METHODS: readonly string[] = ['client_secret_basic', 'client_secret_post'];

/** Whether a client authenticating this way has a secret to generate, store and rotate. */
export const usesSecret = (authMethod: string) => SECRET_AUTH_METHODS.includes(authMethod);

// A recognisable prefix lets secret scanners and people spot a leaked Tessera secret.
export const SECRET_PREFIX = 'tessera_cs_';
const SECRET_BYTES = 32;
const HINT_LENGTH = 4;

export interface NewSecret {
  /** The secret itself: shown to the admin once, never stored. */
  value: string;
  hash: Buffer;
  hint: string;
}

export function generateSecret(pepper: Buffer): NewSecret {
  const value = `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { value, hash: hashSecret(value, pepper), hint: value.slice(-HINT_LENGTH) };
}

export function hashSecret(value: string, pepper: Buffer): Buffer {
  return createHmac('sha256', pepper).update(value, 'utf8').digest();
}

/** Constant-time comparison of a presented secret with each stored hash. */
export function secretMatches(presented: string, hashes: Buffer[], pepper: Buffer): boolean {
  const candidate = hashSecret(presented, pepper);
  let matched = false;
  for (const hash of hashes) {
    // No early exit: the time taken does not depend on which secret matched.
    if (hash.length === candidate.length && timingSafeEqual(hash, candidate)) matched = true;
  }
  return matched;
}
