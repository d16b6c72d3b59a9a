// Tessera behind PgBouncer in transaction-pooling mode (Debian's pgbouncer, test/setup/pgbouncer.ts):
// DATABASE_URL points at the pooler, DIRECT_DATABASE_URL at PostgreSQL. Two replicas and the CLI
// run the flows through the pooler; what needs a session (the change listener's LISTEN, the
// migrations' advisory lock) goes direct. Without DIRECT_DATABASE_URL the LISTEN goes through
// the pooler, hears nothing, and the cache and key tests below fail.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { form, approveDevice } from '../hardening/device-approval.ts';
import { eventually } from '../setup/eventually.ts';
import { startPgBouncer, type PgBouncer } from '../setup/pgbouncer.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { authorize, newJar } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const REDIRECT = 'https://app.example.test/callback';
let database: ScratchDatabase;
let bouncer: PgBouncer;
let a: TestServer;
let b: TestServer;
let env: Record<string, string>;
let audience: string;

beforeAll(async () => {
  // A database of this file's own: the key rotation below must disturb no other test.
  database = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_pgbouncer');
  bouncer = await startPgBouncer({ targetUrl: database.url });
  env = {
    DATABASE_URL: bouncer.url,
    DIRECT_DATABASE_URL: database.url,
    // Longer than every wait below: keys reach the replicas by notification, not by polling.
    KEYS_CHECK_INTERVAL: '120',
  };
  // The first replica migrates the empty database (through DIRECT_DATABASE_URL).
  a = await startTestServer({ ...env, MIGRATE_ON_START: 'true' });
  b = await startTestServer({ ...env, ISSUER: a.issuer });
  audience = `https://${randomId('pooled')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'r w'], env);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await bouncer?.stop();
  await database?.drop();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function token(server: TestServer, auth: string | undefined, body: Record<string, string>) {
  const res = await fetch(`${server.issuer}/token`, {
    ...form(body),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(auth ? { authorization: auth } : {}),
    },
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function user() {
  const email = `${randomId('pooled')}@example.test`;
  const password = 'correct horse battery';
  expect(
    (await tessera(['users', 'create', '--email', email, '--password-stdin'], { env, input: password })).code,
  ).toBe(0);
  return { email, password };
}

/** Both replicas hear changes: their listeners are connected. */
async function listening() {
  for (const server of [a, b])
    await eventually(
      async () =>
        ((await (await fetch(`${server.issuer}/readyz`)).json()) as { change_listener?: string }).change_listener ===
        'connected',
    );
}

// Each CLI call starts a Node process: on a loaded 2-core machine a test makes several, seconds each.
describe('behind PgBouncer (pool_mode = transaction)', { timeout: 90_000 }, () => {
  it('serves the flows through the pooler', () => {
    expect(a.db.url).toBe(bouncer.url);
    expect(a.config.directDatabaseUrl).toBe(database.url);
  });

  it('client credentials at either replica', async () => {
    const client = await tesseraJson<{ client_id: string; client_secret: string }>(
      ['clients', 'create', '--name', 'svc', '--grant-types', 'client_credentials', '--api', audience, '--scope', 'r'],
      env,
    );
    for (const server of [a, b]) {
      const res = await token(server, basic(client.client_id, client.client_secret), {
        grant_type: 'client_credentials',
        scope: 'r',
      });
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
    }
  });

  it('authorization code at one replica, redeemed and refreshed at the other', async () => {
    const person = await user();
    const client = await tesseraJson<{ client_id: string; client_secret: string }>(
      [
        'clients',
        'create',
        '--name',
        'web',
        '--grant-types',
        'authorization_code,refresh_token',
        '--first-party',
        '--redirect-uri',
        REDIRECT,
        '--api',
        audience,
        '--scope',
        'openid offline_access r',
      ],
      env,
    );
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(`${a.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid offline_access r',
      prompt: 'consent',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const callback = await authorize(url, person);
    const code = callback.searchParams.get('code')!;
    const auth = basic(client.client_id, client.client_secret);
    const issued = await token(b, auth, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expect(issued.status).toBe(200);
    const refreshed = await token(a, auth, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(issued.body.refresh_token);
    // The code was consumed: a second redemption is refused (atomic through the pooler too).
    expect(
      (
        await token(a, auth, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT,
          code_verifier: verifier,
        })
      ).status,
    ).toBe(400);
  });

  it('device flow: started at one replica, approved at the other', async () => {
    const person = await user();
    const client = await tesseraJson<{ client_id: string }>(
      [
        'clients',
        'create',
        '--name',
        'tv',
        '--grant-types',
        'device_code,refresh_token',
        '--public',
        '--api',
        audience,
        '--scope',
        'openid offline_access r',
      ],
      env,
    );
    const started = await fetch(`${a.issuer}/device/auth`, form({ client_id: client.client_id, scope: 'openid r' }));
    expect(started.status).toBe(200);
    const { device_code, verification_uri_complete } = (await started.json()) as Record<string, string>;
    await approveDevice(newJar(), b.issuer, verification_uri_complete!, person);
    const polled = await token(a, undefined, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: device_code!,
      client_id: client.client_id,
    });
    expect(polled.status).toBe(200);
    expect(polled.body.access_token).toBeTypeOf('string');
  });

  it("invalidates both replicas' caches when the CLI changes a client", async () => {
    await listening();
    const client = await tesseraJson<{ client_id: string; client_secret: string }>(
      ['clients', 'create', '--name', 'svc', '--grant-types', 'client_credentials', '--api', audience, '--scope', 'r'],
      env,
    );
    const auth = basic(client.client_id, client.client_secret);
    // Warm both caches.
    for (const server of [a, b])
      expect((await token(server, auth, { grant_type: 'client_credentials' })).status).toBe(200);
    await tesseraJson(['clients', 'delete', client.client_id], env);
    for (const server of [a, b])
      await eventually(async () => (await token(server, auth, { grant_type: 'client_credentials' })).status === 401);
  });

  it('a key rotated by the CLI reaches both replicas by notification', async () => {
    await listening();
    const rotated = await tesseraJson<{ kid: string }>(['keys', 'rotate'], env);
    for (const server of [a, b])
      await eventually(async () => {
        const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
        expect(jwks.keys.map((k) => k.kid)).toContain(rotated.kid);
      });
  });
});
