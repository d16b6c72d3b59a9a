// Headers every response carries. HSTS only when the issuer is https (a browser ignores it over
// http, and sending it from a localhost development server would pin localhost to https).
import type { Middleware } from 'koa';

export function securityHeaders(options: { https: boolean }): Middleware {
  return async function securityHeaders(ctx, next) {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.https) ctx.set('Strict-Transport-Security', 'max-age=63072000; includeSubDomains');
    // Tessera's own pages add a Content-Security-Policy (views/page.ts); oidc-provider's
    // self-submitting forms (form_post, logout without a session) need their inline script.
    await next();
  };
}
