// rate_limits: the counters of the limits shared by every Tessera process, in
// rate-limiter-flexible's format (key, points, expire in ms since the epoch; a fixed window that
// starts at the first spend). Two writers, both on the pg pool because they sit on request paths
// (db/client.ts):
// - the exact limits (sign-in, device-code entry) go through rate-limiter-flexible's PostgreSQL
//   store: they are rare and must be exact on every request;
// - the token endpoint's quota (rate-limit/batched-quota.ts) adds what a process spent in batches,
//   with QUOTA_UPSERT below.
// Both are built under the same guard as every other query (guard.ts).
import type pg from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { guarded } from './guard.ts';

export interface LimitOptions {
  /** Distinguishes this limit's counters from others' in the shared table. */
  name: string;
  points: number;
  windowSeconds: number;
}

export interface Limiter {
  /**
   * Spends one point under `key` and says whether it was within the limit: 0, or the seconds to
   * wait. The count is one atomic statement (rate-limiter-flexible's INSERT ... ON CONFLICT DO
   * UPDATE ... RETURNING), so concurrent callers each see a different count and at most `points`
   * of them get 0; deciding on a count read earlier would let parallel requests all pass.
   */
  spend(key: string): Promise<number>;
  /**
   * `spend`, and whether this very spend tripped the limit: the first one over it in its window.
   * The count is one atomic statement, so of any number of concurrent spends exactly one per
   * window trips it (a lockout recorded once, however many attempts race into it).
   */
  spendTripping(key: string): Promise<{ wait: number; tripped: boolean }>;
  /** Forgets what `key` has spent in its window (a successful sign-in gives its account's back). */
  reset(key: string): Promise<void>;
  /** Gives one spent point back to `key` (one atomic statement, as `spend`). */
  refund(key: string): Promise<void>;
  /** The rate_limits row of `key`, for a statement that forgets it with other writes (users.recordSignIn). */
  storedKey(key: string): string;
}

export function createLimiter(pool: pg.Pool, options: LimitOptions): Limiter {
  const limiter = new RateLimiterPostgres({
    // The library names its statements (a prepared statement per connection). Behind PgBouncer in
    // transaction mode a connection is shared by every client, so a name one client prepared
    // clashes with another's ("prepared statement ... already exists"): the store gets a pool
    // whose statements are unnamed, as every other statement on the request path (db/client.ts).
    storeClient: unnamedStatements(pool),
    storeType: 'pool',
    tableName: 'rate_limits',
    // Tessera's migrations create the table; the library must not.
    tableCreated: true,
    keyPrefix: options.name,
    points: options.points,
    duration: options.windowSeconds,
  });
  const queries = guarded({
    async spendTripping(key: string): Promise<{ wait: number; tripped: boolean }> {
      try {
        await limiter.consume(key);
        return { wait: 0, tripped: false };
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection; // a database error, not a limit
        return {
          wait: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)),
          // The count this spend made (the library's RETURNING): one more than the limit only once.
          tripped: rejection.consumedPoints === options.points + 1,
        };
      }
    },
    async reset(key: string): Promise<void> {
      await limiter.delete(key);
    },
    async refund(key: string): Promise<void> {
      await limiter.reward(key, 1);
    },
  });
  // Not through guarded(): it runs no query, and guarded's wrapper would make it return a Promise
  // (whose text, "[object Promise]", is no row: a success would forget nothing).
  return {
    ...queries,
    spend: async (key: string) => (await queries.spendTripping(key)).wait,
    storedKey: (key: string) => limiter.getKey(key),
  };
}

/** A pool-like object that sends every query unnamed (no server-side prepared statement). */
function unnamedStatements(pool: pg.Pool) {
  return {
    query: (query: { text: string; values?: unknown[] }) =>
      pool.query({ text: query.text, values: query.values ?? [] }),
  };
}

export interface QuotaTotal {
  key: string;
  /** The points spent in the key's window by every process, this batch included. */
  points: number;
  /** When the key's window ends (ms since the epoch). */
  expire: number;
}

// Adds each key's points to its counter, or starts a new window for a key whose window has
// ended, and returns the totals: one statement for any number of keys, atomic per row.
const QUOTA_UPSERT = `
INSERT INTO rate_limits AS r (key, points, expire)
SELECT k, p, $3::bigint FROM unnest($1::text[], $2::int[]) AS u(k, p)
ON CONFLICT (key) DO UPDATE SET
  points = CASE WHEN r.expire <= $4 THEN EXCLUDED.points ELSE r.points + EXCLUDED.points END,
  expire = CASE WHEN r.expire <= $4 THEN EXCLUDED.expire ELSE r.expire END
RETURNING key, points, expire`;

export function quotaCounterQueries(pool: pg.Pool) {
  return guarded({
    /**
     * Adds `points[i]` to `keys[i]`'s counter; a window that has ended by `now` (ms since the
     * epoch) starts again, ending at `expire`.
     */
    async add(keys: string[], points: number[], expire: number, now: number): Promise<QuotaTotal[]> {
      const { rows } = await pool.query<{ key: string; points: number; expire: string }>(QUOTA_UPSERT, [
        keys,
        points,
        expire,
        now,
      ]);
      // expire is a bigint, which pg returns as a string.
      return rows.map((r) => ({ key: r.key, points: r.points, expire: Number(r.expire) }));
    },
    /** The totals of these keys, for a process with nothing to add: a read, no commit. */
    async read(keys: string[]): Promise<QuotaTotal[]> {
      const { rows } = await pool.query<{ key: string; points: number; expire: string }>(
        'SELECT key, points, expire FROM rate_limits WHERE key = ANY($1::text[])',
        [keys],
      );
      return rows.map((r) => ({ key: r.key, points: r.points, expire: Number(r.expire) }));
    },
  });
}

export type QuotaCounterQueries = ReturnType<typeof quotaCounterQueries>;
