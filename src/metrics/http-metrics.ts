// Counts and times every request by route. Routes are the paths with their variable parts
// replaced, so that label values stay few (no uid, no user code).
import type { Middleware } from 'koa';
import type { Metrics } from './registry.ts';

const FIXED = new Set([
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/jwks',
  '/auth',
  '/me',
  '/session/end',
  '/session/end/confirm',
  '/session/end/success',
  '/device',
  '/device/auth',
  '/device/confirm',
  '/.well-known/openid-configuration',
  '/healthz',
  '/readyz',
  '/metrics',
]);

export function routeOf(path: string): string {
  if (FIXED.has(path)) return path;
  if (path.startsWith('/interaction/')) return path.replace(/^\/interaction\/[^/]+/, '/interaction/:uid');
  if (/^\/auth\/[^/]+$/.test(path)) return '/auth/:uid';
  if (path.startsWith('/assets/')) return '/assets/:file';
  return 'other';
}

export function httpMetrics(metrics: Metrics): Middleware {
  return async function httpMetrics(ctx, next) {
    const end = metrics.latency.startTimer();
    try {
      await next();
    } finally {
      const route = routeOf(ctx.path);
      end({ method: ctx.method, route });
      metrics.requests.inc({ method: ctx.method, route, status: String(ctx.status) });
    }
  };
}
