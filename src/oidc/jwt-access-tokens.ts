// Introspection (RFC 7662) and revocation (RFC 7009) of Tessera's JWT access tokens.
//
// oidc-provider stores no JWT access tokens and answers `unsupported_token_type` for them at
// both endpoints. Tessera answers instead: it verifies the JWT against its own keys, consults the
// revocation list, applies the same access policy as for stored tokens, and answers as the RFCs
// say. Two ways in, one answer:
// - before the provider, for the common case — a client authenticating with its secret and a
//   token that is a JWT (secret-authenticated-form.ts authenticates it through the provider's
//   Client model). This skips the provider's endpoint middleware and its error, which cost more
//   than the introspection itself;
// - after the provider, replacing exactly its `unsupported_token_type` answer, for every other
//   client authentication method the provider supports (private_key_jwt, mTLS, ...).
// Opaque tokens (refresh tokens, and userinfo tokens issued before every access token was a JWT)
// and every error stay the provider's.
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { RevocationList } from '../cache/revocations.ts';
import type { RevokedTokenQueries } from '../db/queries/revoked-tokens.ts';
import type { Audit } from '../services/audit.ts';
import type { AccessTokenPolicy } from './access-token-policy.ts';
import { COMPACT_JWS, type AccessTokenClaims, type AccessTokenVerifier } from './access-token-verifier.ts';
import { REVOCATION_BODY } from './revocation-response.ts';
import { beforeProvider, type WantedForm } from './secret-authenticated-form.ts';
import { oidcContext } from './upstream.ts';

type Route = 'introspection' | 'revocation';

// RFC 7662 §2.1 / RFC 7009 §2.1: the token and an optional hint; only JWTs are answered here.
const JWT_FORM: WantedForm = {
  params: new Set(['token', 'token_type_hint']),
  accepts: (params) => COMPACT_JWS.test(params.token ?? ''),
};

export function jwtAccessTokenEndpoints(deps: {
  provider: () => Provider;
  verify: AccessTokenVerifier;
  revoked: RevokedTokenQueries;
  /** This process's deny-list: a revocation made here is denied here at once. */
  revocations: Pick<RevocationList, 'deny'>;
  policy: AccessTokenPolicy;
  audit?: Audit;
  introspectionPath: string;
  revocationPath: string;
}): Middleware {
  async function answer(ctx: Context, route: Route, client: { clientId: string }, token: string) {
    const claims = await deps.verify(token);
    ctx.status = 200;
    // RFC 7662 §2.2 / RFC 6749 §5.1: an answer about a token is not cached.
    ctx.set('cache-control', 'no-store');
    if (route === 'introspection') {
      const visible =
        claims && (await deps.policy.mayIntrospect(ctx, client, { clientId: claims.client_id, aud: claims.aud }));
      ctx.body = visible ? introspectionResponse(claims) : { active: false };
      return;
    }
    if (claims && (await deps.policy.mayRevoke(ctx, client, { clientId: claims.client_id }))) {
      const expiresAt = new Date(claims.exp * 1000);
      await deps.revoked.add(claims.jti, claims.client_id, expiresAt);
      // Other processes hear of it through the change listener; this one need not wait for it.
      deps.revocations.deny(claims.jti, expiresAt);
      await deps.audit?.record({
        type: 'token.revoked',
        actor: client.clientId,
        ip: ctx.ip,
        details: { token_type: 'access_token', jti: claims.jti },
      });
    }
    // RFC 7009 §2.2, as the provider's revocations answer (revocation-response.ts).
    ctx.body = { ...REVOCATION_BODY };
  }

  return beforeProvider({
    routes: new Map<string, Route>([
      [deps.introspectionPath, 'introspection'],
      [deps.revocationPath, 'revocation'],
    ]),
    provider: deps.provider,
    form: JWT_FORM,
    async answer(ctx, route, form) {
      await answer(ctx, route, form.client, form.params.token!);
      return true;
    },
    // Otherwise (an opaque token, another authentication method, an error) the provider answers.
    async after(ctx, route) {
      if (ctx.status !== 400 || (ctx.body as { error?: string } | undefined)?.error !== 'unsupported_token_type')
        return;
      const oidc = oidcContext(ctx);
      const token = oidc?.params?.token;
      if (oidc?.client && typeof token === 'string') await answer(ctx, route, oidc.client, token);
    },
  });
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
