// Password hashing: argon2id (RFC 9106) with OWASP's recommended minimum, m = 19 MiB, t = 2,
// p = 1: about 15 ms per verification on this class of machine, run off the event loop by
// @node-rs/argon2 (prebuilt binaries from the npm registry). Slow enough to make offline
// guessing of a stolen hash expensive, fast enough for dozens of logins per second per core.
import { hash, verify } from '@node-rs/argon2';

// algorithm 2 is Argon2id (the package's const enum cannot be imported under type stripping).
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
// NIST SP 800-63B §5.1.1.2: at least 8 characters; more is allowed, up to a bound that keeps a
// hash request from being a denial-of-service lever.
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false; // a malformed stored hash matches nothing
  }
}

let dummy: Promise<string> | undefined;
/**
 * For an unknown email, verify against a hash of nothing, so that the answer takes as long as
 * for a known email with a wrong password (no account enumeration by timing).
 */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummy ??= hashPassword('tessera-timing-equaliser');
  await verifyPassword(await dummy, password);
  return false;
}

export function isArgon2idHash(value: string): boolean {
  return /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(value);
}
