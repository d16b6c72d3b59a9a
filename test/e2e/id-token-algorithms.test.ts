// ES256 and EdDSA keys alongside the RS256 default, for clients that ask for them
// (id_token_signed_response_alg). On a database of its own, since it adds keys to the JWKS.
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

let database: ScratchDatabase;
let server: TestServer;
let env: Record<string, string>;
const REDIRECT = 'https://app.example.test/cb';

beforeAll(async () => {
  database = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_algs');
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  await pool.end();
  env = { DATABASE_URL: database.url, KEYS_EXTRA_ALGS: 'ES256,EdDSA' };
  server = await startTestServer(env);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

async function idTokenFor(alg: string | undefined) {
  const email = `${randomId('alg')}@example.test`;
  await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: 'correct horse battery', env });
  const client = await tesseraJson<{ client_id: string; client_secret: string }>(
    [
      'clients',
      'create',
      '--name',
      'algs',
      '--grant-types',
      'authorization_code',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--scope',
      'openid',
      ...(alg ? ['--id-token-alg', alg] : []),
    ],
    env,
  );
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${server.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await authorize(url, { email, password: 'correct horse battery' });
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    }),
  });
  return { idToken: ((await res.json()) as { id_token: string }).id_token, clientId: client.client_id };
}

describe('ID token algorithms', () => {
  it("publishes RS256, ES256 and Ed25519 keys, and signs each client's ID tokens as it asked", async () => {
    const { keys } = (await (await fetch(`${server.issuer}/jwks`)).json()) as {
      keys: { kty: string; alg: string; crv?: string }[];
    };
    expect(keys.map((k) => `${k.kty}/${k.alg}`).sort()).toEqual(['EC/ES256', 'OKP/EdDSA', 'RSA/RS256']);
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as {
      id_token_signing_alg_values_supported: string[];
    };
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['RS256', 'ES256', 'EdDSA']);

    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    for (const [asked, expected] of [
      [undefined, 'RS256'],
      ['ES256', 'ES256'],
      ['EdDSA', 'EdDSA'],
    ] as const) {
      const { idToken, clientId } = await idTokenFor(asked);
      expect(decodeProtectedHeader(idToken).alg).toBe(expected);
      await expect(jwtVerify(idToken, jwks, { issuer: server.issuer, audience: clientId })).resolves.toBeDefined();
    }
  }, 30_000);

  it('refuses an algorithm Tessera has no keys for at registration', async () => {
    const result = await tessera(
      [
        'clients',
        'create',
        '--name',
        'x',
        '--grant-types',
        'authorization_code',
        '--redirect-uri',
        REDIRECT,
        '--id-token-alg',
        'HS256',
      ],
      { env },
    );
    expect(result).toMatchObject({
      code: 2,
      stderr: 'tessera: --id-token-alg must be one of RS256, ES256, EdDSA, not "HS256"\n',
    });
  });
});
