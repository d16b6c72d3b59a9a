// RFC 8628 §3.2: the device authorization response tells the client how long to wait between
// polls. oidc-provider leaves `interval` out (the client then assumes 5 s); Tessera states the
// configured one, and enforces it with slow_down (oidc/adapter.ts).
import type { Middleware } from 'koa';
import { isProviderRoute } from './upstream.ts';

export function deviceAuthorizationInterval(path: string, interval: number): Middleware {
  return async function deviceAuthorizationInterval(ctx, next) {
    await next();
    if (ctx.method === 'POST' && ctx.path === path && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body = { ...(ctx.body as object), interval };
    }
  };
}

// RFC 8628 §3.1: the device authorization endpoint takes POST (and OPTIONS, for CORS). Any other
// method would reach oidc-provider's `/device/:uid` route, a browser's device resume with uid
// "auth", which sends a client to the code-entry page meant for people. Paths are matched as
// oidc-provider's router matches them (upstream.ts).
export function deviceAuthorizationMethods(path: string): Middleware {
  const allowed = new Set(['POST', 'OPTIONS']);
  return async function deviceAuthorizationMethods(ctx, next) {
    if (allowed.has(ctx.method) || !isProviderRoute(ctx.path, path)) return next();
    // RFC 9110 §15.5.6: a 405 names the methods the resource supports.
    ctx.set('Allow', 'OPTIONS, POST');
    ctx.status = 405;
    ctx.body = { error: 'invalid_request', error_description: 'the device authorization endpoint accepts only POST' };
  };
}
