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

/**
 * The token endpoint's limit: only requests that succeed spend the client's quota, and all the
 * others spend the sender's address's quota. Counting before authentication would let anyone
 * who knows a client_id (it is public) exhaust that client's quota with wrong secrets.
 */
export function tokenRateLimit(
  limiter: RateLimiterPostgres,
  match: (ctx: Context) => boolean,
  clientKey: (ctx: Context) => string | undefined,
  refuse: (ctx: Context, retryAfterSeconds: number) => void,
): Middleware {
  return async function tokenRateLimited(ctx, next) {
    if (!match(ctx)) return next();
    const client = clientKey(ctx);
    const address = `ip:${ctx.ip}`;
    const counters = await Promise.all([client, address].filter((k): k is string => !!k).map((k) => limiter.get(k)));
    const waitMs = Math.max(0, ...counters.map((c) => (c && c.consumedPoints >= limiter.points ? c.msBeforeNext : 0)));
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      ctx.set('Retry-After', String(retryAfter));
      refuse(ctx, retryAfter);
      return;
    }
    await next();
    await limiter.penalty(ctx.status < 400 && client ? client : address, 1);
  };
}
