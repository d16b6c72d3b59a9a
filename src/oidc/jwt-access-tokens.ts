// Introspection (RFC 7662) and revocation (RFC 7009) of Tessera's JWT access tokens.
//
// oidc-provider stores no JWT access tokens and answers `unsupported_token_type` for them at
// both endpoints, *after* it has authenticated the client and validated the request. This
// middleware wraps the mounted provider and, for exactly that answer, replaces it: it verifies
// the JWT against Tessera's own keys, consults the revocation list, applies the same access
// policy as for stored tokens, and answers as the RFCs say. Client authentication stays the
// provider's, so every client auth method it supports works here too.
import type { Middleware } from 'koa';
import { createLocalJWKSet, jwtVerify, type JWTPayload, type JWK } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { OidcPayloadQueries } from '../db/queries/oidc-payloads.ts';
import type { RevokedTokenQueries } from '../db/queries/revoked-tokens.ts';
import { ServiceUnavailable } from '../errors.ts';
import type { Audit } from '../services/audit.ts';
import type { AccessTokenPolicy } from './access-token-policy.ts';

interface AccessTokenClaims extends JWTPayload {
  jti: string;
  client_id: string;
  exp: number;
  scope?: string;
  /** The grant (refresh-token family) the token was issued from, if any. */
  gid?: string;
}

export function jwtAccessTokenEndpoints(deps: {
  issuer: string;
  publicJwks: () => { keys: JWK[] };
  revoked: RevokedTokenQueries;
  payloads: OidcPayloadQueries;
  policy: AccessTokenPolicy;
  audit?: Audit;
  introspectionPath: string;
  revocationPath: string;
}): Middleware {
  let jwks = deps.publicJwks();
  let keySet = createLocalJWKSet(jwks);

  async function verify(token: string): Promise<AccessTokenClaims | undefined> {
    const current = deps.publicJwks();
    if (current !== jwks) {
      jwks = current;
      keySet = createLocalJWKSet(jwks);
    }
    try {
      // RS256 only: no `none`, and no HS256 "signed" with a public key (algorithm confusion).
      const { payload } = await jwtVerify(token, keySet, {
        issuer: deps.issuer,
        typ: 'at+jwt',
        algorithms: ['RS256'],
        requiredClaims: ['jti', 'client_id', 'exp', 'aud'],
      });
      const claims = payload as AccessTokenClaims;
      if (await deps.revoked.isRevoked(claims.jti)) return undefined;
      // A token from a revoked family (refresh-token reuse, code replay, logout) is dead too.
      if (claims.gid !== undefined && !(await deps.payloads.find('Grant', claims.gid))) return undefined;
      return claims;
    } catch (err) {
      // A token that does not verify is inactive; a database that cannot say whether it was
      // revoked is not an answer (503 from the error handler), lest a revoked token pass.
      if (err instanceof ServiceUnavailable) throw err;
      return undefined;
    }
  }

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
    token_type: 'Bearer',
    ...(claims.cnf ? { cnf: claims.cnf } : undefined),
  };
}
