// Verifying an RFC 9068 JWT access token against the issuer's published keys.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { AuthorizationServerUnavailable, InvalidToken, type Scheme } from './errors.ts';
import { FETCH_TIMEOUT_MS, type IssuerMetadata } from './issuer-metadata.ts';

/** The claims of a Tessera access token (RFC 9068 §2.2), with the confirmation of RFC 7800. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  /** RFC 7800 / RFC 9449 §6 / RFC 8705 §3.1: the key or certificate the token is bound to. */
  cnf?: { jkt?: string; 'x5t#S256'?: string };
  /** RBAC (an API with token claims `roles`): the names of the subject's roles on this API. */
  roles?: string[];
  /** RBAC (token claims `permissions`): the token's scopes that the subject's roles grant. */
  permissions?: string[];
}

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  /** Seconds of clock skew allowed on exp, nbf and iat. */
  clockTolerance: number;
  /** Seconds before a JWKS is refetched for an unknown kid (a rate limit on refetches). */
  jwksCooldown: number;
  /** Seconds a fetched JWKS is used before it is fetched again anyway. */
  jwksMaxAge: number;
}

// RFC 9068 §2.2: the claims every access token has. Checked as present, then each for its value.
const REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

// What each jose failure tells the token holder. Signature and key failures share one vague
// message (jose's own advice for security failures); claim failures say which claim, which
// helps a developer and tells an attacker nothing they did not already know.
function refusal(err: unknown, scheme: Scheme): Error {
  if (err instanceof errors.JWTExpired) return new InvalidToken('the access token expired', scheme);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return new InvalidToken(`the access token has no ${err.claim} claim`, scheme);
    switch (err.claim) {
      case 'nbf':
        return new InvalidToken('the access token is not valid yet', scheme);
      case 'iat':
        return new InvalidToken('the access token was issued in the future', scheme);
      case 'iss':
        return new InvalidToken('the access token is from another issuer', scheme);
      case 'aud':
        return new InvalidToken('the access token is for another audience', scheme);
      case 'typ':
        return new InvalidToken('the token is not an access token (typ must be at+jwt)', scheme);
      default:
        return new InvalidToken(`the access token's ${err.claim} claim is invalid`, scheme);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new InvalidToken('the access token is not signed with RS256', scheme);
  }
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return new InvalidToken("the access token's signature is invalid", scheme);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return new InvalidToken('malformed access token', scheme);
  }
  // The JWKS could not be fetched (timeout, network, not 200, not a JWKS): not the token's fault.
  if (
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    err instanceof TypeError ||
    (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC')
  ) {
    return new AuthorizationServerUnavailable("the authorization server's keys could not be fetched");
  }
  return new InvalidToken('malformed access token', scheme);
}

export function accessTokenVerifier(options: AccessTokenOptions, metadata: () => Promise<IssuerMetadata>) {
  let keys: { uri: string; set: ReturnType<typeof createRemoteJWKSet> } | undefined;

  return async function verifyAccessToken(token: string, scheme: Scheme): Promise<AccessTokenClaims> {
    // jose's remote key set caches the JWKS for jwksMaxAge and, when a token names a kid it does
    // not hold (a key Tessera just started signing with), refetches it at most once per cooldown,
    // so a flood of tokens with made-up kids cannot make this server hammer the issuer. A new
    // jwks_uri (the metadata is read again on a schedule) gets a key set of its own.
    const { jwks_uri: uri } = await metadata();
    if (keys?.uri !== uri) {
      keys = {
        uri,
        set: createRemoteJWKSet(new URL(uri), {
          cooldownDuration: options.jwksCooldown * 1000,
          cacheMaxAge: options.jwksMaxAge * 1000,
          timeoutDuration: FETCH_TIMEOUT_MS,
        }),
      };
    }
    try {
      const { payload } = await jwtVerify<AccessTokenClaims>(token, keys.set, {
        issuer: options.issuer,
        audience: options.audience,
        // RFC 9068 §4: typ must be at+jwt (jose also accepts application/at+jwt), so that an ID
        // token or any other JWT signed by the same keys is never taken for an access token.
        typ: 'at+jwt',
        // RFC 9068 §4 / RFC 8725 §3.1: exactly the algorithm Tessera signs with. Never `none`,
        // never HS256 keyed with the (public) RSA key.
        algorithms: ['RS256'],
        clockTolerance: options.clockTolerance,
        requiredClaims: REQUIRED_CLAIMS,
      });
      return payload;
    } catch (err) {
      throw refusal(err, scheme);
    }
  };
}
