// The Koa side of the rate limits shared by every Tessera process: which requests spend, under
// which key, and the 429 answer. The counting is db/queries/rate-limits.ts's (the rare, exact
// limits) and rate-limit/batched-quota.ts's (the token endpoint).
import type { Context, Middleware } from 'koa';
import type { Limiter } from '../db/queries/rate-limits.ts';
import type { Quota } from '../rate-limit/batched-quota.ts';

/**
 * Spends one point per matching request under `key(ctx)`; past the limit the request is refused
 * with 429 and Retry-After, rendered by `refuse`.
 */
export function rateLimit(
  limiter: Limiter,
  match: (ctx: Context) => boolean,
  key: (ctx: Context) => string,
  refuse: (ctx: Context, retryAfterSeconds: number) => void,
): Middleware {
  return async function rateLimited(ctx, next) {
    if (!match(ctx)) return next();
    const retryAfter = await limiter.spend(key(ctx));
    if (retryAfter) {
      ctx.set('Retry-After', String(retryAfter));
      refuse(ctx, retryAfter);
      return;
    }
    return next();
  };
}

/**
 * A limit on guesses: like `rateLimit`, one point is spent per matching request *before* it is
 * answered, so that concurrent requests are decided by one atomic count each and at most the
 * limit of them are answered; the point is given back when the answer shows the request was no
 * guess (`wasGuess` false). Deciding afterwards, on a count read before, would let parallel
 * guesses all through.
 */
export function guessLimit(
  limiter: Limiter,
  match: (ctx: Context) => boolean,
  key: (ctx: Context) => string,
  refuse: (ctx: Context, retryAfterSeconds: number) => void,
  wasGuess: (ctx: Context) => boolean,
): Middleware {
  const limited = rateLimit(limiter, match, key, refuse);
  return async function guessLimited(ctx, next) {
    if (!match(ctx)) return next();
    let answered = false;
    await limited(ctx, async () => {
      answered = true;
      await next();
    });
    if (answered && !wasGuess(ctx)) await limiter.refund(key(ctx));
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
