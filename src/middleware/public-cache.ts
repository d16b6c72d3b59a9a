// Discovery and JWKS change rarely and are fetched by every resource server, so they are
// cacheable: for at most five minutes, and less than half the key publication delay, so that a
// key published ahead of use (keys/lifecycle.ts) is in every cache before it signs anything.
import type { Middleware } from 'koa';

export function publicCache(paths: string[], maxAge: number): Middleware {
  const cacheable = new Set(paths);
  return async function publicCache(ctx, next) {
    await next();
    if (ctx.method === 'GET' && ctx.status === 200 && cacheable.has(ctx.path)) {
      ctx.set('Cache-Control', `public, max-age=${maxAge}`);
    }
  };
}
