// private_key_jwt clients (RFC 7523) for tests: a signing key, and a client registered through
// the CLI with that key's public half as its inline JWKS.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { randomId, tesseraJson } from './tessera.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-pkjwt-'));

/** A key pair with a random kid, and its public JWK as a client publishes it. */
export async function signingKey(alg = 'ES256') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomId('key');
  return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A client-credentials client for `audience` (scope ledger:read) authenticating with private_key_jwt. */
export async function privateKeyJwtClient(audience: string, extra: string[] = []) {
  const key = await signingKey();
  const file = join(dir, `${key.kid}.json`);
  writeFileSync(file, JSON.stringify({ keys: [key.jwk] }));
  const created = await tesseraJson<Record<string, unknown>>([
    'clients',
    'create',
    '--name',
    'ledger-sync',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'ledger:read',
    '--auth-method',
    'private_key_jwt',
    '--jwks-file',
    file,
    ...extra,
  ]);
  return { clientId: created.client_id as string, created, ...key };
}
