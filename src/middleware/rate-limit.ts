// Rate limits shared by every Tessera process, in the rate_limits table that Tessera's
// migrations create: rate-limiter-flexible's PostgreSQL store for the rare, exact limits (sign-in,
// device-code entry), and the batched quota (rate-limit/batched-quota.ts) for the token endpoint.
import type { Context, Middleware } from 'koa';
import type pg from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Quota } from '../rate-limit/batched-quota.ts';

export interface LimitOptions {
  /** Distinguishes this limit's counters from others' in the shared table. */
  name: string;
  points: number;
  windowSeconds: number;
}

export function createLimiter(pool: pg.Pool, options: LimitOptions): RateLimiterPostgres {
  return new RateLimiterPostgres({
    storeClient: pool,
    storeType: 'pool',
    tableName: 'rate_limits',
    tableCreated: true,
    keyPrefix: options.name,
    points: options.points,
    duration: options.windowSeconds,
  });
}

/**
 * Spends one point under `key` and says whether it was within the limit: 0, or the seconds to
 * wait. The count is one atomic statement (rate-limiter-flexible's INSERT ... ON CONFLICT DO
 * UPDATE ... RETURNING), so concurrent callers each see a different count and at most `points`
 * of them get 0; deciding on a count read earlier would let parallel requests all pass.
 */
export async function spendPoint(limiter: RateLimiterPostgres, key: string): Promise<number> {
  try {
    await limiter.consume(key);
    return 0;
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection; // a database error, not a limit
    return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
  }
}

/**
 * Spends one point per matching request under `key(ctx)`; past the limit the request is refused
 * with 429 and Retry-After, rendered by `refuse`.
 */
export function rateLimit(
  limiter: RateLimiterPostgres,
  match: (ctx: Context) => boolean,
  key: (ctx: Context) => string,
  refuse: (ctx: Context, retryAfterSeconds: number) => void,
): Middleware {
  return async function rateLimited(ctx, next) {
    if (!match(ctx)) return next();
    const retryAfter = await spendPoint(limiter, key(ctx));
    if (retryAfter) {
      ctx.set('Retry-After', String(retryAfter));
      refuse(ctx, retryAfter);
      return;
    }
    return next();
  };
}

/**
 * The token endpoint's limit: only requests that succeed spend the client's quota, and all the
 * others spend the sender's address's quota. Counting before authentication would let anyone
 * who knows a client_id (it is public) exhaust that client's quota with wrong secrets.
 */
export function tokenRateLimit(
  quota: Quota,
  match: (ctx: Context) => boolean,
  clientKey: (ctx: Context) => string | undefined,
  refuse: (ctx: Context, retryAfterSeconds: number) => void,
): Middleware {
  return async function tokenRateLimited(ctx, next) {
    if (!match(ctx)) return next();
    const client = clientKey(ctx);
    const address = `ip:${ctx.ip}`;
    const waitMs = await quota.wait([client, address].filter((k): k is string => !!k));
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      ctx.set('Retry-After', String(retryAfter));
      refuse(ctx, retryAfter);
      return;
    }
    await next();
    quota.spend(ctx.status < 400 && client ? client : address);
  };
}
