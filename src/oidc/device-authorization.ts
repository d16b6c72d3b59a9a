// RFC 8628 §3.2: the device authorization response tells the client how long to wait between
// polls. oidc-provider leaves `interval` out (the client then assumes 5 s); Tessera states the
// configured one, and enforces it with slow_down (oidc/adapter.ts).
import type { Middleware } from 'koa';

export function deviceAuthorizationInterval(path: string, interval: number): Middleware {
  return async function deviceAuthorizationInterval(ctx, next) {
    await next();
    if (ctx.method === 'POST' && ctx.path === path && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body = { ...(ctx.body as object), interval };
    }
  };
}
