// New signing keys: a key pair of the algorithm asked for, its private part sealed at once.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { NewKey } from '../db/queries/signing-keys.ts';
import { seal } from './seal.ts';

/** The signing algorithms Tessera can hold keys for; RS256 always, the others on request. */
export type SigningAlg = 'RS256' | 'ES256' | 'EdDSA';

function keyPair(alg: SigningAlg, rsaBits: number) {
  switch (alg) {
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: rsaBits });
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
  }
}

/** A new signing key, its private part sealed under the key-encryption key. */
export function generateKey(alg: SigningAlg, kek: Buffer, rsaBits: number): NewKey {
  const kid = randomUUID();
  const { privateKey, publicKey } = keyPair(alg, rsaBits);
  const meta = { kid, alg, use: 'sig' };
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), ...meta };
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), ...meta };
  return { kid, alg, publicJwk, privateJwkEnc: seal(Buffer.from(JSON.stringify(privateJwk)), kek, kid) };
}
