// The provider's signing keys as loaded from Postgres: the published set in signing order.
import type { JWK } from 'jose';
import type { SigningKeyQueries } from '../db/queries/signing-keys.ts';
import { unsealWithAny } from './seal.ts';

export interface KeySet {
  /** Private JWKs for oidc-provider's `jwks`, the current (signing) key first. */
  privateJwks: { keys: JWK[] };
  /** The same keys' public halves: what /jwks serves, and what Tessera verifies its tokens with. */
  publicJwks: { keys: JWK[] };
  /** The kid that signs now. */
  signingKid: string | undefined;
  /** Changes whenever the set or a key's role changes: for telling a reload worth a swap. */
  fingerprint: string;
}

export async function loadKeySet(queries: SigningKeyQueries, keks: Buffer[], now = new Date()): Promise<KeySet> {
  const rows = await queries.listPublished(now);
  // oidc-provider signs with the first key that fits, and publishes them all: the current key
  // goes first, so that next (published ahead of use) and retired (still verifying) keys never
  // sign.
  // RS256, the default, first among them.
  const rank = (r: { state: string; alg: string }) => (r.state === 'current' ? 2 : 0) + (r.alg === 'RS256' ? 1 : 0);
  rows.sort((a, b) => rank(b) - rank(a));
  return {
    privateJwks: {
      keys: rows.map((row) => JSON.parse(unsealWithAny(row.privateJwkEnc, keks, row.kid).toString('utf8')) as JWK),
    },
    publicJwks: { keys: rows.map((row) => row.publicJwk as JWK) },
    signingKid: rows.find((r) => r.state === 'current' && r.alg === 'RS256')?.kid,
    fingerprint: rows.map((r) => `${r.kid}:${r.state}`).join(','),
  };
}
