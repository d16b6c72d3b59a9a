// GET /metrics in Prometheus' text format: on the main port only with METRICS_TOKEN as a bearer
// token (compared in constant time), or unauthenticated on METRICS_PORT's own listener, which
// is meant to be reachable from the internal network only.
import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { Registry } from 'prom-client';

/** `metrics`: the text to serve (one process's registry, or a whole cluster's). */
export function metricsRoutes(metrics: () => Promise<string>, token: string | undefined): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    if (token !== undefined) {
      const presented = Buffer.from(ctx.get('authorization'));
      const expected = Buffer.from(`Bearer ${token}`);
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
        ctx.body = { error: 'invalid_token', error_description: 'metrics need the METRICS_TOKEN bearer token' };
        return;
      }
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = Registry.PROMETHEUS_CONTENT_TYPE;
    ctx.body = await metrics();
  });
  return router;
}
