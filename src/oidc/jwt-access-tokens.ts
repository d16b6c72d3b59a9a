// Introspection (RFC 7662) and revocation (RFC 7009) of Tessera's JWT access tokens.
//
// oidc-provider stores no JWT access tokens and answers `unsupported_token_type` for them at
// both endpoints, *after* it has authenticated the client and validated the request. This
// middleware wraps the mounted provider and, for exactly that answer, replaces it: it verifies
// the JWT against Tessera's own keys, consults the revocation list, applies the same access
// policy as for stored tokens, and answers as the RFCs say. Client authentication stays the
// provider's, so every client auth method it supports works here too.
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RevokedTokenQueries } from '../db/queries/revoked-tokens.ts';
import type { Audit } from '../services/audit.ts';
import type { AccessTokenPolicy } from './access-token-policy.ts';
import type { AccessTokenClaims, AccessTokenVerifier } from './access-token-verifier.ts';

export function jwtAccessTokenEndpoints(deps: {
  verify: AccessTokenVerifier;
  revoked: RevokedTokenQueries;
  policy: AccessTokenPolicy;
  audit?: Audit;
  introspectionPath: string;
  revocationPath: string;
}): Middleware {
  const { verify } = deps;

  return async function structuredAccessTokens(ctx, next) {
    await next();
    if (ctx.method !== 'POST' || ctx.status !== 400) return;
    const route = ctx.path === deps.introspectionPath ? 'introspection'
      : ctx.path === deps.revocationPath ? 'revocation' : undefined;
    if (!route || (ctx.body as { error?: string } | undefined)?.error !== 'unsupported_token_type') return;

    const { oidc } = ctx as unknown as KoaContextWithOIDC;
    const client = oidc?.client;
    const token = oidc?.params?.token;
    if (!client || typeof token !== 'string') return;

    const claims = await verify(token);
    ctx.status = 200;
    if (route === 'introspection') {
      const visible = claims && await deps.policy.mayIntrospect(ctx, client, { clientId: claims.client_id, aud: claims.aud });
      ctx.body = visible ? introspectionResponse(claims) : { active: false };
      return;
    }
    if (claims && await deps.policy.mayRevoke(ctx, client, { clientId: claims.client_id })) {
      await deps.revoked.add(claims.jti, claims.client_id, new Date(claims.exp * 1000));
      await deps.audit?.record({ type: 'token.revoked', actor: client.clientId, ip: ctx.ip, details: { token_type: 'access_token', jti: claims.jti } });
    }
    ctx.body = '';
  };
}

function introspectionResponse(claims: AccessTokenClaims) {
  return {
    active: true,
    client_id: claims.client_id,
    scope: claims.scope,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    exp: claims.exp,
    iat: claims.iat,
    nbf: claims.nbf,
    jti: claims.jti,
    // RFC 9449 §6.2 / RFC 8705 §3.2: the confirmation tells the resource server which key or
    // certificate the token is bound to; a DPoP-bound token is of type DPoP.
    token_type: claims.cnf?.jkt ? 'DPoP' : 'Bearer',
    ...(claims.cnf ? { cnf: claims.cnf } : undefined),
    ...(claims.act ? { act: claims.act } : undefined),
  };
}
