// OAuth 2.0 Token Exchange (RFC 8693) as a registered grant: a client that the policy table
// allows (token_exchange_policies) presents an access token Tessera issued (the subject token)
// and gets a new RS256 JWT access token for another API, with the same or a narrower scope and
// an `act` claim naming itself as the actor (§4.1). Typical caller: an API gateway that turns a
// user's token for the gateway into a narrower one for an internal service.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { TokenExchangePolicyQueries } from '../../db/queries/token-exchange-policies.ts';
import type { AccessTokenClaims, AccessTokenVerifier } from '../access-token-verifier.ts';
import { enforcesRbac, grantedScopes, type HeldRole } from '../../services/rbac.ts';
import { scopeTokens } from '../../services/scopes.ts';
import { newAccessToken, senderConstraints } from '../upstream.ts';

export const grantType = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

// RFC 8693 §2.1. actor_token is accepted as a parameter only to refuse it with a clear message:
// the authenticated client is the actor.
export const parameters = [
  'audience',
  'resource',
  'scope',
  'requested_token_type',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
];

export interface TokenExchangeDeps {
  verify: AccessTokenVerifier;
  policies: TokenExchangePolicyQueries;
  /** Whether the client may use this token: it was issued to it, or for an API it serves. */
  mayActOn: (client: { clientId: string }, claims: AccessTokenClaims) => Promise<boolean>;
  /**
   * The subject token's subject's roles (a user's, or a client's for its own token), for a target
   * API that enforces them (RBAC). Without it, such an API issues nothing by exchange.
   */
  subjectRoles?: (claims: AccessTokenClaims) => Promise<HeldRole[]>;
}

// oidc-provider replaces a token's `extra` with what configuration.extraTokenClaims returns, so
// the actor is kept beside the token and handed over there (provider-config.ts).
const actors = new WeakMap<object, Record<string, unknown>>();

/** The `act` claim of an access token issued by this grant, for extraTokenClaims. */
export function actorClaims(token: object): { act: Record<string, unknown> } | undefined {
  const act = actors.get(token);
  return act ? { act } : undefined;
}

export function tokenExchangeHandler(deps: TokenExchangeDeps) {
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const { provider } = ctx.oidc;
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as Record<string, string | undefined>;
    // A DPoP proof, if sent, is checked first, as by the provider's own grants.
    const constraints = await senderConstraints(ctx);

    // The policy table is the only grant of this right: no row, no exchange (RFC 6749 §5.2).
    const allowed = await deps.policies.forClient(client.clientId);
    if (allowed.length === 0) throw new errors.UnauthorizedClient('the client is not allowed to exchange tokens');

    if (!params.subject_token) throw new errors.InvalidRequest("missing required parameter 'subject_token'");
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
      throw new errors.InvalidRequest('actor_token is not supported; the authenticated client is the actor');
    }
    // One target API, named by its audience either way (RFC 8693 §2.1: resource is a URI,
    // audience a logical name; an API's audience is both).
    const targets = new Set([params.resource, params.audience].filter((t): t is string => !!t));
    if (targets.size !== 1) throw new errors.InvalidTarget('name exactly one API with resource or audience');
    const [target] = targets;
    const policy = allowed.find((p) => p.api.audience === target);
    if (!policy) throw new errors.InvalidTarget('the client may not exchange tokens for this resource');
    const { api } = policy;

    // §2.2.2: an invalid or unacceptable subject token is invalid_request.
    const claims = await deps.verify(params.subject_token);
    if (!claims || !(await deps.mayActOn(client, claims))) {
      throw new errors.InvalidRequest('subject_token is invalid, expired, revoked or not for this client');
    }

    // The same or a narrower scope: only what the subject token carries, and only what the
    // target API defines.
    const subjectScopes = scopeTokens(claims.scope);
    const requested = scopeTokens(params.scope);
    for (const s of requested) {
      if (!subjectScopes.includes(s))
        throw new errors.InvalidScope("requested scope exceeds the subject token's scope", s);
      if (!api.scopes.includes(s)) throw new errors.InvalidScope('requested scope is not defined by the resource', s);
    }
    let scopes = requested.length ? requested : subjectScopes.filter((s) => api.scopes.includes(s));
    // RBAC: towards an API that enforces roles, only what the subject's roles grant there, as
    // for every other grant (RFC 6749 §3.3: the response's `scope` says what was issued).
    if (enforcesRbac(api)) {
      const granted = grantedScopes((await deps.subjectRoles?.(claims)) ?? [], api.audience);
      scopes = scopes.filter((s) => granted.has(s));
    }
    if (scopes.length === 0)
      throw new errors.InvalidScope('the subject token carries no scope of this resource', api.scopes.join(' '));

    // The new token outlives neither its API's lifetime nor the subject token.
    const expiresIn = Math.max(1, Math.min(api.accessTokenTtl, claims.exp - Math.floor(Date.now() / 1000)));
    const token = newAccessToken(
      provider,
      {
        accountId: claims.sub ?? claims.client_id,
        client,
        gty: 'token_exchange',
        scope: scopes.join(' '),
        // Revoking the subject's family (refresh-token reuse, logout) revokes this token too.
        ...(claims.gid ? { grantId: claims.gid } : {}),
        expiresIn,
      },
      {
        audience: api.audience,
        scope: api.scopes.join(' '),
        accessTokenTTL: api.accessTokenTtl,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      },
    );
    // §4.1: the current actor, with any earlier actors nested inside.
    actors.set(token, { sub: client.clientId, ...(claims.act ? { act: claims.act } : {}) });
    // A client registered DPoP- or certificate-bound gets a bound token or none (RFC 9449 §5,
    // RFC 8705 §3), exactly as from the provider's grants: cnf.jkt, cnf.x5t#S256.
    await constraints.bind(token);
    ctx.oidc.entity('AccessToken', token);
    const value = await token.save();

    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      // DPoP for a token bound to a proof key (RFC 9449 §5), Bearer otherwise.
      token_type: token.tokenType,
      expires_in: expiresIn,
      scope: scopes.join(' '),
    };
  };
}
