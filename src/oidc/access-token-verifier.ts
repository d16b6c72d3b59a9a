// Verifies an access token Tessera issued: an RS256 JWT (RFC 9068) under Tessera's current
// public keys, not revoked, not issued to a client since deleted or a user since disabled, from a
// family (grant) that still exists. Introspection and
// revocation of JWT access tokens, userinfo (userinfo-tokens.ts) and the token-exchange grant's
// subject_token use it.
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { RevocationList } from '../cache/revocations.ts';
import { ServiceUnavailable } from '../errors.ts';

export interface AccessTokenClaims extends JWTPayload {
  jti: string;
  client_id: string;
  exp: number;
  scope?: string;
  /** The grant (refresh-token family) the token was issued from, if any. */
  gid?: string;
  /** RFC 8693 §4.1: who acts on the subject's behalf. */
  act?: Record<string, unknown>;
  cnf?: { jkt?: string; 'x5t#S256'?: string };
}

/** A compact JWS: three base64url segments (an opaque token has no dots). */
export const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export type AccessTokenVerifier = (token: string) => Promise<AccessTokenClaims | undefined>;

// A resource server introspects the token of every call it receives, so one token is verified
// many times over its life. Tokens whose signature and claims checked out are kept (by their
// exact text) so that a repeat skips the RSA verification and the parsing, a third of an
// introspection's CPU. Bounded, least recently verified first out: a few MB at most.
const VERIFIED_MAX = 5_000;

export function accessTokenVerifier(deps: {
  issuer: string;
  publicJwks: () => { keys: JWK[] };
  /** The deny-list and live grants, kept in memory (cache/revocations.ts). */
  revocations: RevocationList;
}): AccessTokenVerifier {
  // Built on first use (the key set may not exist yet when this is created) and again whenever
  // the keys change.
  let jwks: { keys: JWK[] } | undefined;
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  const verified = new Map<string, AccessTokenClaims>();

  async function verifySignatureAndClaims(token: string): Promise<AccessTokenClaims> {
    const hit = verified.get(token);
    const now = Math.floor(Date.now() / 1000);
    if (hit) {
      // Time moves on: what was valid when verified must still be (jwtVerify checks the same).
      if (hit.exp > now && (hit.nbf === undefined || hit.nbf <= now)) return hit;
      verified.delete(token);
    }
    // RS256 only: no `none`, and no HS256 "signed" with a public key (algorithm confusion).
    const { payload } = await jwtVerify(token, keySet!, {
      issuer: deps.issuer,
      typ: 'at+jwt',
      algorithms: ['RS256'],
      requiredClaims: ['jti', 'client_id', 'exp', 'aud'],
    });
    // Frozen: every later caller of this token shares the object.
    const claims = Object.freeze(payload) as AccessTokenClaims;
    verified.set(token, claims);
    if (verified.size > VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    return claims;
  }

  return async function verifyAccessToken(token) {
    const current = deps.publicJwks();
    if (current !== jwks || !keySet) {
      jwks = current;
      keySet = createLocalJWKSet(jwks);
      // A key retired (compromised, or past its publication) takes its tokens with it at once.
      verified.clear();
    }
    try {
      const claims = await verifySignatureAndClaims(token);
      // Revoked itself, or issued before its client was deleted or its user disabled.
      if (await deps.revocations.isRevoked(claims)) return undefined;
      // A token from a revoked family (refresh-token reuse, code replay, logout) is dead too.
      if (claims.gid !== undefined && !(await deps.revocations.grantAlive(claims.gid))) return undefined;
      return claims;
    } catch (err) {
      // A token that does not verify is inactive; a database that cannot say whether it was
      // revoked is not an answer (503 from the error handler), lest a revoked token pass.
      if (err instanceof ServiceUnavailable) throw err;
      return undefined;
    }
  };
}
