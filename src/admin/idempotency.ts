// Idempotency-Key on the admin API's creates (draft-ietf-httpapi-idempotency-key-header): a
// pipeline that retries a create after a timeout gets the first answer again, not a second
// client or a 409. Keys belong to the caller (client and subject), live a day, and hold a hash
// of the request: the same key with another body is 422, as the draft says (§2.7), and a retry
// while the first request still runs is 409. The answer is stored sealed (AES-256-GCM under
// KEYS_ENCRYPTION_KEY, bound to caller and key), since a client's creation answer holds its
// secret. A request that fails gives its key up, so that a corrected retry runs.
import { createHash } from 'node:crypto';
import type { AdminIdempotencyQueries } from '../db/queries/admin-idempotency.ts';
import { seal, unseal } from '../keys/seal.ts';
import { AdminProblem } from './problem.ts';

// A day, as Stripe keeps its keys: longer than any retry loop, short enough to keep the table small.
export const IDEMPOTENCY_TTL_MS = 86_400_000;
// The draft's key is a Structured Field string; a UUID (36) is the usual, 255 is generous.
const KEY = /^[\x21\x23-\x5B\x5D-\x7E]{1,255}$/;

export interface StoredAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export function idempotency(queries: AdminIdempotencyQueries, kek: Buffer) {
  const aad = (caller: string, key: string) => `admin-idempotency:${caller}:${key}`;
  return {
    /** The key from the header (a bare token or a quoted sf-string), or undefined without one. */
    keyOf(header: string): string | undefined {
      if (!header) return undefined;
      const key = /^"(.*)"$/.exec(header)?.[1] ?? header;
      if (!KEY.test(key))
        throw new AdminProblem(400, 'invalid_request', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
      return key;
    },

    /** Runs `create` once per key: a replay gets the stored answer with Idempotent-Replayed. */
    async once(
      caller: string,
      key: string,
      request: { method: string; path: string; body: unknown },
      create: () => Promise<StoredAnswer>,
    ): Promise<StoredAnswer & { replayed: boolean }> {
      const hash = createHash('sha256')
        .update(JSON.stringify([request.method, request.path, request.body]))
        .digest();
      const claim = await queries.claim(caller, key, hash, new Date(Date.now() + IDEMPOTENCY_TTL_MS));
      if (!claim.claimed) {
        if (!claim.requestHash.equals(hash))
          throw new AdminProblem(
            422,
            'idempotency_key_reused',
            'this Idempotency-Key was used for a different request; use a new key for a new request',
          );
        if (claim.status === null || claim.response === null)
          throw new AdminProblem(
            409,
            'idempotency_key_in_use',
            'a request with this Idempotency-Key is still running; retry later',
            {
              headers: { 'Retry-After': '1' },
            },
          );
        const stored = JSON.parse(unseal(claim.response, kek, aad(caller, key)).toString('utf8')) as StoredAnswer;
        return { ...stored, replayed: true };
      }
      let answer: StoredAnswer;
      try {
        answer = await create();
      } catch (err) {
        await queries.release(caller, key);
        throw err;
      }
      await queries.complete(
        caller,
        key,
        answer.status,
        seal(Buffer.from(JSON.stringify(answer)), kek, aad(caller, key)),
      );
      return { ...answer, replayed: false };
    },
  };
}

export type Idempotency = ReturnType<typeof idempotency>;
