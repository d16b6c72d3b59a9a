// Who may call the admin API: the bearer of an access token Tessera itself issued for the admin
// API (aud urn:tessera:admin), verified by the same verifier as introspection and userinfo
// (oidc/access-token-verifier.ts: RS256 only, this issuer, not expired, not revoked, client not
// deleted, user not disabled), carrying the scope the route needs. No other way in: no API key,
// no cookie, no basic auth. RFC 6750 §3 challenges: 401 invalid_token, 403 insufficient_scope.
import type { Context } from 'koa';
import type { AccessTokenClaims, AccessTokenVerifier } from '../oidc/access-token-verifier.ts';
import { ADMIN_AUDIENCE, type AdminScope } from '../services/admin-api.ts';
import { scopeTokens } from '../services/scopes.ts';
import { AdminProblem } from './problem.ts';

const REALM = 'tessera-admin';

// RFC 6750 §2.1 b64token: the only characters a bearer token has.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface AdminCaller {
  claims: AccessTokenClaims;
  /** What the audit trail names: the client, and the user a person's token is for. */
  actor: string;
}

function challenge(status: 401 | 403, error: string | undefined, description: string, scope?: string): AdminProblem {
  const params = [
    `realm="${REALM}"`,
    ...(error ? [`error="${error}"`, `error_description="${description}"`] : []),
    ...(scope ? [`scope="${scope}"`] : []),
  ];
  return new AdminProblem(status, error ?? 'invalid_token', description, {
    headers: { 'WWW-Authenticate': `Bearer ${params.join(', ')}` },
  });
}

/** The caller of this request, or a 401 problem with its challenge. */
export async function authenticate(ctx: Context, verify: AccessTokenVerifier): Promise<AdminCaller> {
  const header = ctx.get('authorization');
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  // No credentials (or another scheme): RFC 6750 §3.1 says a bare challenge, no error code.
  if (scheme !== 'bearer') throw challenge(401, undefined, 'a bearer access token for the admin API is required');
  return authenticateToken(header.slice(space + 1).trim(), verify);
}

/** The caller a bearer token names (the header's, or one the admin console holds for its admin). */
export async function authenticateToken(token: string, verify: AccessTokenVerifier): Promise<AdminCaller> {
  if (!B64TOKEN.test(token)) throw challenge(401, 'invalid_token', 'malformed access token');
  // Deliberately one vague answer for every failure: which check failed helps only an attacker.
  const claims = await verify(token);
  if (!claims) throw challenge(401, 'invalid_token', 'the access token is invalid, expired or revoked');
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(ADMIN_AUDIENCE))
    throw challenge(401, 'invalid_token', `the access token is not for the admin API (${ADMIN_AUDIENCE})`);
  // A sender-constrained token is only as good as the proof that comes with it (RFC 9449 §7.1,
  // RFC 8705 §3); the admin API checks neither, so it takes none rather than take them as bearer.
  if (claims.cnf)
    throw challenge(
      401,
      'invalid_token',
      'the admin API accepts bearer tokens only, not DPoP- or certificate-bound ones',
    );
  const sub = typeof claims.sub === 'string' ? claims.sub : claims.client_id;
  const actor = sub === claims.client_id ? `client:${claims.client_id}` : `user:${sub} via client:${claims.client_id}`;
  return { claims, actor };
}

/** A 403 insufficient_scope problem unless the token carries `scope`. */
export function requireScope(caller: AdminCaller, scope: AdminScope): void {
  if (!scopeTokens(caller.claims.scope).includes(scope))
    throw challenge(403, 'insufficient_scope', `this call needs the scope ${scope}`, scope);
}
