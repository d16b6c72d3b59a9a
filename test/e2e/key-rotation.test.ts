// Signing keys rotate with no restart and no failed verification, on every instance: two
// Tessera processes on one database, rotated through the CLI, checked with jose against /jwks.
// The keys live in a database of this file's own, so rotating them disturbs no other test.
import { decodeProtectedHeader, createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { freePort } from '../../src/db/embedded.ts';
import { seal, unseal } from '../../src/keys/seal.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { startServerProcess, type ServerProcess } from '../setup/server-process.ts';
import { tessera, tesseraJson, TEST_SECRETS } from '../setup/tessera.ts';
import { eventually } from '../setup/eventually.ts';

const AUDIENCE = 'https://rotating.example.test';
const PUBLICATION_DELAY = 4;
let database: ScratchDatabase;
let servers: ServerProcess[] = [];
let env: Record<string, string>;
let auth: string;

const jwks = async (s: ServerProcess) => (await (await fetch(`${s.issuer}/jwks`)).json()) as JSONWebKeySet;
const kids = async (s: ServerProcess) => (await jwks(s)).keys.map((k) => k.kid).sort();
async function token(s: ServerProcess): Promise<string> {
  const res = await fetch(`${s.issuer}/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}
const signer = async (s: ServerProcess) => decodeProtectedHeader(await token(s)).kid!;
const verifies = async (s: ServerProcess, jwt: string) =>
  jwtVerify(jwt, createLocalJWKSet(await jwks(s)), { algorithms: ['RS256'] }).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  database = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_keys');
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  await pool.end();
  env = {
    ...TEST_SECRETS,
    DATABASE_URL: database.url,
    KEYS_PUBLICATION_DELAY: String(PUBLICATION_DELAY),
    KEYS_CHECK_INTERVAL: '1',
    HOST: '127.0.0.1',
  };
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    // One issuer for both replicas, as behind a load balancer.
    servers.push(
      await startServerProcess(
        { ...env, PORT: String(port), ISSUER: 'http://tessera.example.test' },
        `http://127.0.0.1:${port}`,
      ),
    );
  }
  await tesseraJson(['apis', 'create', '--audience', AUDIENCE, '--ttl', '600'], env);
  const client = await tesseraJson<{ client_id: string; client_secret: string }>(
    ['clients', 'create', '--name', 'k', '--grant-types', 'client_credentials', '--api', AUDIENCE],
    env,
  );
  auth = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  servers = [];
  await database?.drop();
});

describe('signing-key rotation', () => {
  it('publishes a new key before it signs, switches both replicas, and keeps old tokens verifying', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const first = await signer(a);
    expect(await signer(b)).toBe(first);
    const oldToken = await token(a);

    const rotated = await tesseraJson<{ kid: string }>(['keys', 'rotate'], env);
    // Within a second or two both publish the new key; neither signs with it yet.
    await eventually(
      async () => {
        expect(await kids(a)).toContain(rotated.kid);
        expect(await kids(b)).toContain(rotated.kid);
      },
      { timeoutMs: 3_000, intervalMs: 200 },
    );
    expect(await signer(a)).toBe(first);
    expect(await signer(b)).toBe(first);

    // After the publication delay both sign with it and serve the same JWKS.
    await eventually(
      async () => {
        expect(await signer(a)).toBe(rotated.kid);
        expect(await signer(b)).toBe(rotated.kid);
      },
      { timeoutMs: (PUBLICATION_DELAY + 4) * 1000, intervalMs: 200 },
    );
    expect(await kids(a)).toEqual(await kids(b));
    expect(await kids(a)).toEqual([first, rotated.kid].sort());

    // A token signed before the rotation still verifies: its key is retired, not gone.
    expect(await verifies(a, oldToken)).toBe(true);
    expect(await verifies(b, oldToken)).toBe(true);

    const listed = await tesseraJson<{ kid: string; state: string; retires_at: string; unpublish_at: string }[]>(
      ['keys', 'list'],
      env,
    );
    const retired = listed.find((k) => k.kid === first)!;
    expect(retired.state).toBe('retired');
    // It stays published as long as the longest token it signed can live: the ID token's hour
    // (longer than the API's 600 s) plus a minute of clock skew.
    expect(Date.parse(retired.unpublish_at) - Date.parse(retired.retires_at)).toBe((3600 + 60) * 1000);
  }, 60_000);

  it('removes a retired key only once its tokens have expired', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const retired = (await tesseraJson<{ kid: string; state: string }[]>(['keys', 'list'], env)).find(
      (k) => k.state === 'retired',
    )!;
    expect(await kids(a)).toContain(retired.kid);
    // Let its time come (rather than wait an hour).
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    await db.query("UPDATE signing_keys SET unpublish_at = now() - interval '1 second' WHERE kid = $1", [retired.kid]);
    await db.end();
    await eventually(
      async () => {
        expect(await kids(a)).not.toContain(retired.kid);
        expect(await kids(b)).not.toContain(retired.kid);
      },
      { intervalMs: 200 },
    );
  }, 30_000);

  it('an emergency retirement takes a compromised key out at once, and a new key signs', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const compromised = await signer(a);
    const before = await token(a);
    const result = await tessera(['--json', 'keys', 'retire', compromised, '--compromised'], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`WARNING: key ${compromised} is out of the JWKS`);
    const { signing_kid: replacement } = JSON.parse(result.stdout) as { signing_kid: string };
    await eventually(
      async () => {
        expect(await kids(a)).not.toContain(compromised);
        expect(await kids(b)).not.toContain(compromised);
        expect(await signer(a)).toBe(replacement);
        expect(await signer(b)).toBe(replacement);
      },
      { intervalMs: 200 },
    );
    expect(await verifies(a, before)).toBe(false);
  }, 30_000);

  it('keeps private keys unreadable without the key-encryption key, and can change that key', async () => {
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const { rows } = await db.query<{ kid: string; private_jwk_enc: Buffer; public_jwk: { n: string } }>(
      'SELECT kid, private_jwk_enc, public_jwk FROM signing_keys',
    );
    expect(rows.length).toBeGreaterThan(0);
    const kek = Buffer.from(TEST_SECRETS.KEYS_ENCRYPTION_KEY, 'base64url');
    for (const row of rows) {
      const stored = row.private_jwk_enc.toString('latin1');
      const jwk = JSON.parse(unseal(row.private_jwk_enc, kek, row.kid).toString()) as {
        d: string;
        p: string;
        n: string;
      };
      for (const secret of [jwk.d, jwk.p, '"d"', 'PRIVATE KEY']) expect(stored).not.toContain(secret);
      expect(jwk.n).toBe(row.public_jwk.n);
      expect(() => unseal(row.private_jwk_enc, Buffer.alloc(32, 1), row.kid)).toThrow(
        'cannot be decrypted with the configured KEYS_ENCRYPTION_KEY',
      );
    }

    // An authenticator-app secret, sealed as enrolment seals it (mfa/totp.ts): rewrapped too.
    const user = await tesseraJson<{ id: string }>(['users', 'create', '--email', 'rewrap@example.test'], env);
    const totpSecret = Buffer.from('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    await db.query('INSERT INTO user_totp (user_id, secret_enc, last_step) VALUES ($1, $2, 0)', [
      user.id,
      seal(totpSecret, kek, `totp:${user.id}`),
    ]);

    const newKek = Buffer.alloc(32, 42).toString('base64url');
    const rewrapped = await tesseraJson<{ rewrapped: number; totp_secrets: number }>(['keys', 'rewrap'], {
      ...env,
      KEYS_ENCRYPTION_KEY: newKek,
      KEYS_ENCRYPTION_KEY_PREVIOUS: TEST_SECRETS.KEYS_ENCRYPTION_KEY,
    });
    expect(rewrapped.rewrapped).toBe(rows.length);
    expect(rewrapped.totp_secrets).toBe(1);
    const totp = await db.query<{ secret_enc: Buffer }>('SELECT secret_enc FROM user_totp WHERE user_id = $1', [
      user.id,
    ]);
    expect(unseal(totp.rows[0]!.secret_enc, Buffer.from(newKek, 'base64url'), `totp:${user.id}`)).toEqual(totpSecret);
    const after = await db.query<{ kid: string; private_jwk_enc: Buffer }>(
      'SELECT kid, private_jwk_enc FROM signing_keys',
    );
    await db.end();
    for (const row of after.rows) {
      expect(() => unseal(row.private_jwk_enc, kek, row.kid)).toThrow();
      expect(
        JSON.parse(unseal(row.private_jwk_enc, Buffer.from(newKek, 'base64url'), row.kid).toString()),
      ).toHaveProperty('d');
    }
  });
});
