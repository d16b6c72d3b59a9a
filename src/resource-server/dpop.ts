// Checking a DPoP proof (RFC 9449 §4.3 and §7.1) for a token bound to a key by `cnf.jkt`: the
// client must prove, on every request, that it holds the private key the token was issued to.
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWTPayload } from 'jose';
import { DPOP_ALGS } from './challenge.ts';
import { InvalidDpopProof } from './errors.ts';
import type { ReplayCache } from './replay-cache.ts';

export interface DpopOptions {
  /** Seconds a proof is accepted after its `iat` (and before it, for clock skew). */
  proofMaxAge: number;
  clockTolerance: number;
  replayCache: ReplayCache;
}

interface ProofClaims extends JWTPayload {
  jti: string;
  htm: string;
  htu: string;
  iat: number;
  ath?: string;
}

/** RFC 9449 §4.3 item 9: htu is compared without query and fragment, after normalization. */
function withoutQuery(uri: string): string | undefined {
  const url = URL.parse(uri);
  if (!url) return undefined;
  url.search = '';
  url.hash = '';
  return url.href;
}

export function dpopChecker(options: DpopOptions) {
  /**
   * Verifies `proof` for this request and token; returns nothing, throws invalid_dpop_proof.
   * `jkt` is the token's cnf.jkt; `url` the absolute URL the client called.
   */
  return async function checkDpopProof(
    proof: string | undefined,
    request: { method: string; url: string },
    token: string,
    jkt: string,
  ): Promise<void> {
    // §4.3 items 1–2: exactly one DPoP header holding one well-formed JWT.
    if (!proof) throw new InvalidDpopProof('a DPoP proof is required');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      throw new InvalidDpopProof('malformed DPoP proof');
    }
    if (header.typ !== 'dpop+jwt') throw new InvalidDpopProof("the DPoP proof's typ must be dpop+jwt");
    let payload: ProofClaims;
    try {
      // §4.3 items 4–7: an asymmetric algorithm, a signature by the public key in the header
      // (EmbeddedJWK refuses a private or symmetric key there), and the required claims.
      ({ payload } = await jwtVerify<ProofClaims>(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: [...DPOP_ALGS],
        requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      }));
    } catch {
      throw new InvalidDpopProof('the DPoP proof is invalid');
    }
    // §4.3 items 8–9: this proof was made for this method and URL.
    if (payload.htm !== request.method) throw new InvalidDpopProof('the DPoP proof is for another method');
    if (typeof payload.htu !== 'string' || withoutQuery(payload.htu) !== withoutQuery(request.url)) {
      throw new InvalidDpopProof('the DPoP proof is for another URL');
    }
    // §4.3 item 11 and §11.1: made just now. Without server nonces, iat is the only freshness.
    const now = Math.floor(Date.now() / 1000);
    if (
      typeof payload.iat !== 'number' ||
      payload.iat > now + options.clockTolerance ||
      payload.iat < now - options.proofMaxAge - options.clockTolerance
    ) {
      throw new InvalidDpopProof('the DPoP proof is not fresh');
    }
    // §4.3 item 12: ath is the base64url SHA-256 of the very access token it comes with.
    const ath = createHash('sha256').update(token).digest('base64url');
    if (payload.ath !== ath) throw new InvalidDpopProof('the DPoP proof is for another access token');
    // §4.3 item 12 / §6.1: the proof's key is the key the token is bound to.
    const thumbprint = await calculateJwkThumbprint(header.jwk!, 'sha256');
    if (thumbprint !== jkt) throw new InvalidDpopProof('the DPoP proof is signed with another key');
    // §11.1: a proof is used once. Remembered as long as its iat could still be accepted.
    const until = (payload.iat + options.proofMaxAge + options.clockTolerance) * 1000;
    if (!(await options.replayCache.use(`${thumbprint}:${payload.jti}`, until))) {
      throw new InvalidDpopProof('the DPoP proof has been used before');
    }
  };
}
