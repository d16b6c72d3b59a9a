// RFC 7009 §2.2: a revocation answers 200 whatever became of the token, and "the content of the
// response body is ignored by the client". oidc-provider (checked against 9.13.3,
// lib/actions/revocation.js) answers with an empty text/plain body; oidc-client-ts and
// simple-oauth2 parse the answer as JSON and throw on that (simple-oauth2's revokeAll() then never
// revokes the refresh token). Tessera answers `{}` as application/json instead, from this
// post-middleware on the provider (provider.use, its documented extension point) for every
// revocation it answers, and from jwt-access-tokens.ts for those Tessera answers itself.
import type { Middleware } from 'koa';
import { oidcContext } from './upstream.ts';

/** The body of every successful revocation. */
export const REVOCATION_BODY = Object.freeze({});

export function revocationAnswersJson(): Middleware {
  return async function revocationAnswersJson(ctx, next) {
    await next();
    if (oidcContext(ctx)?.route === 'revocation' && ctx.status === 200 && (ctx.body === '' || ctx.body == null))
      ctx.body = { ...REVOCATION_BODY };
  };
}
