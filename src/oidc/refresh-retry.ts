// The answer to a retried refresh (issue 21): the adapter found the refresh token presented
// again within its grace, counted the retry and issued nothing (adapter.ts); the provider's
// response still names the refresh token it made for the rotation, never stored. This
// post-middleware (oidc-provider's documented `provider.use`) replaces it with the one the first
// rotation issued, so that the client gets the answer it lost. The access token (and ID token) are
// freshly signed for the same grant, client and key: the same grant, scope and lifetime.
import type { Middleware } from 'koa';
import type { Metrics } from '../metrics/registry.ts';
import { requestReads } from './request-reads.ts';

export function answerRefreshRetries(metrics?: Metrics): Middleware {
  return async function answerRefreshRetries(ctx, next) {
    await next();
    const successor = requestReads()?.retry?.successor;
    if (!successor || ctx.status !== 200) return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || typeof body.refresh_token !== 'string') return;
    body.refresh_token = successor;
    metrics?.refreshRetries.inc();
  };
}
