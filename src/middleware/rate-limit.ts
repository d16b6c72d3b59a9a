// Rate limits shared by every Tessera process: rate-limiter-flexible's PostgreSQL store, in the
// rate_limits table that Tessera's migrations create (so the library creates nothing).
import type { Context, Middleware } from 'koa';
import type pg from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

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
    try {
      await limiter.consume(key(ctx));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection; // a database error, not a limit
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      ctx.set('Retry-After', String(retryAfter));
      refuse(ctx, retryAfter);
      return;
    }
    return next();
  };
}
