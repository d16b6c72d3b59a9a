// Recovery codes: 10 single-use codes, shown once when they are made, for when the authenticator
// is lost. Each is 10 characters from a 32-letter alphabet without look-alikes (50 bits): with the
// second-factor limits (a handful of tries per account per 15 minutes) guessing one is hopeless.
// Only an HMAC of each is stored, keyed with a key derived from CLIENT_SECRET_PEPPER, which is not
// in the database: a copy of the table cannot be searched offline for the codes (a plain hash of
// 50 bits could be). Compared by looking the hash up, in the statement that uses the code.
import { createHmac, hkdfSync, randomInt } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { SecondFactorQueries } from '../db/queries/second-factors.ts';

export const RECOVERY_CODE_COUNT = 10;
const CODE_LENGTH = 10;
// Crockford-like: digits and lower-case letters without i, l, o, u (no 1/l, 0/o confusion).
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A typed code, normalised (lower case, no spaces or dashes); undefined unless it can be one. */
export function recoveryCodeShape(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 64) return undefined;
  const code = input.replace(/[\s-]/g, '').toLowerCase();
  return code.length === CODE_LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : undefined;
}

export function recoveryCodes(deps: {
  queries: Pick<SecondFactorQueries, 'replaceRecoveryCodes' | 'useRecoveryCode'>;
  pepper: Buffer;
  now?: Clock;
}) {
  const now = deps.now ?? Date.now;
  const key = Buffer.from(hkdfSync('sha256', deps.pepper, 'tessera', 'recovery codes', 32));
  const hash = (userId: string, code: string) =>
    createHmac('sha256', key).update(`${userId}:${code}`).digest('base64url');

  return {
    /** Makes 10 new codes, replacing the user's old ones; the codes, as shown (xxxxx-xxxxx). */
    async regenerate(userId: string): Promise<string[]> {
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () =>
        Array.from({ length: CODE_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join(''),
      );
      await deps.queries.replaceRecoveryCodes(
        userId,
        codes.map((c) => hash(userId, c)),
        new Date(now()),
      );
      return codes.map((c) => `${c.slice(0, 5)}-${c.slice(5)}`);
    },

    /** Uses a code: how many are left, or undefined when it is not an unused code of this user. */
    async use(userId: string, input: unknown): Promise<number | undefined> {
      const code = recoveryCodeShape(input);
      return code === undefined ? undefined : deps.queries.useRecoveryCode(userId, hash(userId, code), new Date(now()));
    },
  };
}

export type RecoveryCodes = ReturnType<typeof recoveryCodes>;
