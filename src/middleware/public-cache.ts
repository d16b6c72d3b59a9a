// Discovery and JWKS change rarely and are fetched by every resource server, so they are
// cacheable. Five minutes: short enough that a key published ahead of use (keys/rotation) is
// seen by caches long before it signs anything.
import type { Middleware } from 'koa';

export const PUBLIC_METADATA_MAX_AGE = 300;

export function publicCache(paths: string[]): Middleware {
  const cacheable = new Set(paths);
  return async function publicCache(ctx, next) {
    await next();
    if (ctx.method === 'GET' && ctx.status === 200 && cacheable.has(ctx.path)) {
      ctx.set('Cache-Control', `public, max-age=${PUBLIC_METADATA_MAX_AGE}`);
    }
  };
}
