// The provider's signing keys, loaded from Postgres. On first start Tessera generates an
// RS256 key; private parts never leave this module unsealed except into the provider.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningKeyQueries } from '../db/queries/signing-keys.ts';
import { seal, unseal } from './seal.ts';

export interface KeySet {
  /** Private JWKs for oidc-provider's `jwks` (the signing key first). */
  privateJwks: { keys: JWK[] };
  /** The same keys' public halves, for verifying Tessera's own tokens. */
  publicJwks: { keys: JWK[] };
}

// 2048-bit RSA is the RS256 floor (RFC 7518 §3.3) and signs about twice as fast as 3072.
const DEFAULT_RSA_BITS = 2048;

export async function loadKeySet(queries: SigningKeyQueries, kek: Buffer): Promise<KeySet> {
  await queries.ensureCurrent('RS256', async () => generateRsaKey(kek, DEFAULT_RSA_BITS));
  const rows = await queries.listPublished();
  // The current key signs, so it goes first: oidc-provider picks the first key that fits.
  rows.sort((a, b) => Number(b.state === 'current') - Number(a.state === 'current'));
  const privateJwks = rows.map((row) => JSON.parse(unseal(row.privateJwkEnc, kek, row.kid).toString('utf8')) as JWK);
  return {
    privateJwks: { keys: privateJwks },
    publicJwks: { keys: rows.map((row) => row.publicJwk as JWK) },
  };
}

export function generateRsaKey(kek: Buffer, modulusLength: number) {
  const kid = randomUUID();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  const meta = { kid, alg: 'RS256', use: 'sig' };
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), ...meta };
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), ...meta };
  return {
    kid,
    alg: 'RS256',
    publicJwk,
    privateJwkEnc: seal(Buffer.from(JSON.stringify(privateJwk)), kek, kid),
  };
}
