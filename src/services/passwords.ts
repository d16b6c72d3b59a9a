// Password hashing: argon2id (RFC 9106) with OWASP's recommended minimum, m = 19 MiB, t = 2,
// p = 1: about 15 ms per verification on this class of machine, run off the event loop by
// @node-rs/argon2 (prebuilt binaries from the npm registry). Slow enough to make offline
// guessing of a stolen hash expensive, fast enough for dozens of logins per second per core.
import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';

// algorithm 2 is Argon2id (the package's const enum cannot be imported under type stripping).
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
// NIST SP 800-63B §5.1.1.2: at least 8 characters; more is allowed, up to a bound that keeps a
// hash request from being a denial-of-service lever.
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
// Hashes running at once in this process. Each holds 19 MiB and one of libuv's 4 pool threads
// for its whole run; more of them than cores finish no sooner, they only hold more memory, and
// with all 4 threads taken the token endpoint's RS256 signatures (WebCrypto, same pool) wait
// behind a burst of sign-ins. So: one per core, and never the whole pool.
const CONCURRENT_HASHES = Math.max(1, Math.min(availableParallelism(), 3));

const limited = concurrencyLimit(CONCURRENT_HASHES);

/** Runs each piece of work once fewer than `max` are running; the others wait in order. */
export function concurrencyLimit(max: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async function limited<T>(work: () => Promise<T>): Promise<T> {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, or is freed.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, OPTIONS));
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await limited(() => verify(stored, password));
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
