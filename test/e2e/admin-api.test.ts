// The admin API end to end, on a database of its own (so that "no admin client yet" is true at
// the start): bootstrap, a CI-style client creating an API and a client over HTTP, the token
// checks, ETag/If-Match, Idempotency-Key, cursors, problem details, the OpenAPI document, the
// audit trail, and the CLI's remote mode.
import type Router from '@koa/router';
import { importJWK, SignJWT, type JWK } from 'jose';
import * as oidc from 'openid-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openApiPath } from '../../src/admin/openapi.ts';
import { unseal } from '../../src/keys/seal.ts';
import { ADMIN_AUDIENCE } from '../../src/services/admin-api.ts';
import { adminCaller, adminToken, createAdminClient, type AdminClient } from '../setup/admin.ts';
import { authorize } from '../setup/sign-in.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { randomId, startTestServer, TEST_SECRETS, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

// Tests that run the CLI: each run is a process start and a database connection, seconds apiece
// on a loaded CI machine.
const CLI_TIMEOUT = 180_000;

let scratch: ScratchDatabase;
let server: TestServer;
let env: Record<string, string>;
let admin: AdminClient;
let token: string;
let call: ReturnType<typeof adminCaller>;

beforeAll(async () => {
  scratch = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_admin_api');
  env = { DATABASE_URL: scratch.url };
  server = await startTestServer({ ...env, MIGRATE_ON_START: 'true' });
}, 180_000);
afterAll(async () => {
  await server?.close();
  await scratch?.drop();
});

const problem = (status: number, error: string, detail: string | RegExp = expect.any(String) as never) => ({
  type: `urn:tessera:problem:${error}`,
  title: expect.any(String),
  status,
  detail,
  error,
  error_description: detail,
});

describe('before an admin client exists', () => {
  it('answers 404 at every operation, with a problem saying how to set it up; the document is served', async () => {
    const res = await fetch(`${server.issuer}/admin/v1/clients`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toEqual(
      problem(404, 'not_found', 'the admin API is not set up: run tessera admin bootstrap'),
    );
    expect((await fetch(`${server.issuer}/admin/v1/openapi.json`)).status).toBe(200);
  });
});

describe('tessera admin bootstrap', () => {
  it(
    'creates the admin API and its first client once, printing the secret; a second run is refused',
    async () => {
      const boot = await tesseraJson<{ api: string; client_id: string; client_secret: string }>(
        ['admin', 'bootstrap'],
        env,
      );
      expect(boot).toMatchObject({ api: 'created', client_id: expect.any(String) });
      expect(boot.client_secret).toMatch(/^tessera_cs_/);
      admin = boot;
      token = await adminToken(server.issuer, admin);
      call = adminCaller(server.issuer, () => token);

      const again = await tessera(['admin', 'bootstrap'], { env });
      expect(again.code).toBe(2);
      expect(again.stderr).toContain(`an admin client exists already (${boot.client_id})`);
    },
    CLI_TIMEOUT,
  );
});

describe('a CI pipeline with an admin client', () => {
  it('creates an API and a client over HTTP, and that client gets tokens for the API', async () => {
    const audience = `https://${randomId('ci')}.example.test`;
    const api = await call('POST', '/apis', { body: { audience, scopes: 'orders:read orders:write' } });
    expect(api).toMatchObject({
      status: 201,
      body: { audience, scopes: ['orders:read', 'orders:write'], access_token_ttl: 3600 },
    });
    expect(api.headers.get('location')).toBe(`/admin/v1/apis/${encodeURIComponent(audience)}`);

    const created = await call<{ client_id: string; client_secret: string }>('POST', '/clients', {
      body: { name: 'orders worker', grant_types: ['client_credentials'], apis: [audience], scope: 'orders:read' },
    });
    expect(created.status).toBe(201);
    expect(created.body.client_secret).toMatch(/^tessera_cs_/);
    expect(created.headers.get('etag')).toMatch(/^"[0-9a-z]+"$/);

    const config = await oidc.discovery(
      new URL(server.issuer),
      created.body.client_id,
      created.body.client_secret,
      oidc.ClientSecretBasic(created.body.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'orders:read' });
    expect(tokens.access_token).toEqual(expect.any(String));

    // The secret is in the creation's answer only.
    const shown = await call('GET', `/clients/${created.body.client_id}`);
    expect(JSON.stringify(shown.body)).not.toContain(created.body.client_secret);
  });

  it('rotates a secret, changes users, lists keys and grants, with the audit trail naming the caller', async () => {
    const { body: client } = await call<{ client_id: string; client_secret: string }>('POST', '/clients', {
      body: {
        name: 'rotating',
        grant_types: ['client_credentials'],
        apis: [ADMIN_AUDIENCE],
        scope: 'admin:audit:read',
      },
    });
    const rotated = await call('POST', `/clients/${client.client_id}/secrets`, { body: { grace_seconds: 0 } });
    expect(rotated).toMatchObject({
      status: 201,
      body: { client_id: client.client_id, client_secret: expect.stringMatching(/^tessera_cs_/) },
    });

    const email = `${randomId('admin-user')}@example.test`;
    const user = await call<{ id: string }>('POST', '/users', { body: { email, name: 'Ada' } });
    expect(user).toMatchObject({ status: 201, body: { email, name: 'Ada', disabled: false } });
    const read = await call('GET', `/users/${encodeURIComponent(email)}`);
    const disabled = await call('PATCH', `/users/${user.body.id}`, {
      body: { disabled: true },
      headers: { 'if-match': read.headers.get('etag')! },
    });
    expect(disabled).toMatchObject({ status: 200, body: { disabled: true } });
    expect(await call('GET', `/users/${user.body.id}/grants`)).toMatchObject({
      status: 200,
      body: { items: [], next_cursor: null },
    });
    expect(await call('DELETE', '/grants/no-such-grant')).toMatchObject({ status: 404, body: { error: 'not_found' } });

    const keys = await call<{ items: { state: string }[] }>('GET', '/keys');
    expect(keys.body.items.map((k) => k.state)).toContain('current');
    // Retiring needs the confirmation, and a key that exists (retiring the current one here
    // would end this file's own token: the CLI's key tests cover the retirement itself).
    expect(await call('POST', '/keys/no-such-kid/retire', { body: { compromised: false } })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', errors: [expect.objectContaining({ path: 'body.compromised' })] },
    });
    expect(await call('POST', '/keys/no-such-kid/retire', { body: { compromised: true } })).toMatchObject({
      status: 404,
      body: problem(404, 'not_found', 'no signing key has kid no-such-kid'),
    });

    const events = await call<{ items: { type: string; actor: string; subject: string }[] }>(
      'GET',
      `/audit-events?type=client.secret_rotated&subject=${client.client_id}`,
    );
    expect(events.body.items).toEqual([
      expect.objectContaining({ type: 'client.secret_rotated', actor: `client:${admin.client_id}` }),
    ]);
    const calls = await call<{ items: { subject: string; details: { status: number } }[] }>(
      'GET',
      `/audit-events?type=admin.call&actor=client:${admin.client_id}&limit=200`,
    );
    expect(calls.body.items).toContainEqual(
      expect.objectContaining({ subject: 'rotateClientSecret', details: expect.objectContaining({ status: 201 }) }),
    );
  });
});

describe("a user's grants and sessions", () => {
  it('are listed after a sign-in, and ending the session ends its grants', async () => {
    const email = `${randomId('signed-in')}@example.test`;
    const password = 'a long admin-made password';
    const { body: user } = await call<{ id: string }>('POST', '/users', { body: { email, password } });
    const redirect = 'https://app.example.test/callback';
    const { body: app } = await call<{ client_id: string }>('POST', '/clients', {
      body: {
        name: 'web app',
        public: true,
        first_party: true,
        grant_types: ['authorization_code'],
        redirect_uris: [redirect],
        scope: 'openid',
      },
    });
    const config = await oidc.discovery(new URL(server.issuer), app.client_id, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirect,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await authorize(url, { email, password });
    await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });

    const grants = await call<{ items: { grant_id: string; client_id: string }[] }>('GET', `/users/${user.id}/grants`);
    expect(grants.body.items).toEqual([expect.objectContaining({ client_id: app.client_id, scope: 'openid' })]);
    const sessions = await call<{ items: { session_uid: string; client_ids: string[] }[] }>(
      'GET',
      `/users/${encodeURIComponent(email)}/sessions`,
    );
    expect(sessions.body.items).toEqual([
      {
        session_uid: expect.any(String),
        client_ids: [app.client_id],
        login_at: expect.any(String),
        amr: ['pwd'],
        expires_at: expect.any(String),
      },
    ]);
    expect(await call('DELETE', `/sessions/${sessions.body.items[0]!.session_uid}`)).toMatchObject({ status: 204 });
    expect(await call('GET', `/users/${user.id}/sessions`)).toMatchObject({ body: { items: [] } });
    expect(await call('GET', `/users/${user.id}/grants`)).toMatchObject({ body: { items: [] } });
    expect(await call('DELETE', `/sessions/${sessions.body.items[0]!.session_uid}`)).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });
  });
});

// ---- Tokens ----

/** An access token signed with Tessera's current key (read from the database), claims as given. */
async function forged(claims: Record<string, unknown>, alg = 'RS256'): Promise<string> {
  const db = new pg.Client({ connectionString: scratch.url });
  await db.connect();
  const { rows } = await db.query(
    "SELECT kid, private_jwk_enc FROM signing_keys WHERE state = 'current' AND alg = 'RS256' LIMIT 1",
  );
  await db.end();
  const jwk = JSON.parse(
    unseal(rows[0].private_jwk_enc, Buffer.from(TEST_SECRETS.KEYS_ENCRYPTION_KEY, 'base64url'), rows[0].kid).toString(),
  ) as JWK;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: server.issuer,
    aud: ADMIN_AUDIENCE,
    client_id: admin.client_id,
    sub: admin.client_id,
    jti: randomId('jti'),
    iat: now,
    exp: now + 300,
    scope: 'admin:clients:read',
    ...claims,
  })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid: rows[0].kid })
    .sign(await importJWK({ ...jwk, alg }, alg));
}

describe('who may call', () => {
  const invalidToken = {
    status: 401,
    body: problem(401, 'invalid_token'),
  };

  it('refuses no token with a bare Bearer challenge, and a malformed one with invalid_token', async () => {
    const res = await fetch(`${server.issuer}/admin/v1/clients`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tessera-admin"');
    const basic = await adminCaller(server.issuer, 'x')('GET', '/clients', {
      headers: {
        authorization: `Basic ${Buffer.from(`${admin.client_id}:${admin.client_secret}`).toString('base64')}`,
      },
    });
    expect(basic.status).toBe(401);
    const malformed = await adminCaller(server.issuer, 'not a token!')('GET', '/clients');
    expect(malformed).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(malformed.headers.get('www-authenticate')).toMatch(/^Bearer realm="tessera-admin", error="invalid_token"/);
  });

  it(
    "refuses another API's token, a forged audience, another algorithm, an expired and a revoked token",
    async () => {
      // A real token of Tessera's, for another API.
      const other = `https://${randomId('other')}.example.test`;
      await tesseraJson(['apis', 'create', '--audience', other, '--scope', 'x:read'], env);
      const svc = await tesseraJson<AdminClient>(
        [
          'clients',
          'create',
          '--name',
          'svc',
          '--grant-types',
          'client_credentials',
          '--api',
          other,
          '--scope',
          'x:read',
        ],
        env,
      );
      const config = await oidc.discovery(new URL(server.issuer), svc.client_id, svc.client_secret, undefined, {
        execute: [oidc.allowInsecureRequests],
      });
      const otherToken = (await oidc.clientCredentialsGrant(config, { scope: 'x:read' })).access_token;
      expect(await adminCaller(server.issuer, otherToken)('GET', '/clients')).toMatchObject(invalidToken);

      // The control: a forged token with every claim right passes, so each refusal below is its one change.
      expect(await adminCaller(server.issuer, await forged({}))('GET', '/clients')).toMatchObject({ status: 200 });
      for (const bad of [
        await forged({ aud: 'https://elsewhere.example.test' }),
        await forged({}, 'PS256'),
        await forged({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 }),
        await forged({ iss: 'https://evil.example.test' }),
      ]) {
        expect(await adminCaller(server.issuer, bad)('GET', '/clients')).toMatchObject(invalidToken);
      }
      // alg none.
      const [, payload] = (await forged({})).split('.');
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
      expect(await adminCaller(server.issuer, none)('GET', '/clients')).toMatchObject(invalidToken);

      // Revoked at the revocation endpoint (RFC 7009) by the client it was issued to.
      const doomed = await adminToken(server.issuer, admin);
      expect(await adminCaller(server.issuer, doomed)('GET', '/clients')).toMatchObject({ status: 200 });
      const revoked = await fetch(`${server.issuer}/token/revocation`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${admin.client_id}:${admin.client_secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: doomed }),
      });
      expect(revoked.status).toBe(200);
      expect(await adminCaller(server.issuer, doomed)('GET', '/clients')).toMatchObject(invalidToken);
    },
    CLI_TIMEOUT,
  );

  it(
    'refuses a token without the scope with 403 insufficient_scope, and audits the attempt',
    async () => {
      const reader = await createAdminClient(['admin:clients:read'], env);
      const readToken = await adminToken(server.issuer, reader);
      const asReader = adminCaller(server.issuer, readToken);
      expect(await asReader('GET', '/clients')).toMatchObject({ status: 200 });
      const refused = await asReader('POST', '/clients', { body: { name: 'x', grant_types: ['client_credentials'] } });
      expect(refused).toMatchObject({
        status: 403,
        body: problem(403, 'insufficient_scope', 'this call needs the scope admin:clients:write'),
      });
      expect(refused.headers.get('www-authenticate')).toContain('scope="admin:clients:write"');
      const events = await call<{ items: { details: { status: number } }[] }>(
        'GET',
        `/audit-events?type=admin.call&actor=client:${reader.client_id}`,
      );
      expect(events.body.items.map((e) => e.details.status).sort()).toEqual([200, 403]);
    },
    CLI_TIMEOUT,
  );
});

// ---- ETag, Idempotency-Key, cursors, problems ----

describe('updates', () => {
  it('need If-Match: 428 without, 412 when stale, and of two concurrent updates from one version one wins', async () => {
    const { body: client, headers } = await call<{ client_id: string }>('POST', '/clients', {
      body: { name: 'etag', grant_types: ['client_credentials'], apis: [ADMIN_AUDIENCE] },
    });
    const etag = headers.get('etag')!;
    const path = `/clients/${client.client_id}`;
    expect(await call('PATCH', path, { body: { name: 'x' } })).toMatchObject({
      status: 428,
      body: problem(428, 'precondition_required'),
    });
    const [a, b] = await Promise.all(
      ['first', 'second'].map((name) => call('PATCH', path, { body: { name }, headers: { 'if-match': etag } })),
    );
    expect([a!.status, b!.status].sort()).toEqual([200, 412]);
    const winner = a!.status === 200 ? a! : b!;
    expect(await call('PATCH', path, { body: { name: 'stale' }, headers: { 'if-match': etag } })).toMatchObject({
      status: 412,
      body: problem(412, 'precondition_failed'),
    });
    const fresh = await call('GET', path);
    expect(fresh.headers.get('etag')).toBe(winner.headers.get('etag'));
    expect(fresh.body.name).toBe(winner.body.name);
    expect(
      await call('PATCH', path, { body: { name: 'third' }, headers: { 'if-match': fresh.headers.get('etag')! } }),
    ).toMatchObject({ status: 200, body: { name: 'third' } });
  });
});

describe('concurrent creates of one name', () => {
  // Without an Idempotency-Key: the INSERT decides, so exactly one is created and the others are
  // 409s (a read before the insert let several reach it, and each loser was a 500).
  const bodies: [string, () => Record<string, unknown>][] = [
    ['/apis', () => ({ audience: `https://${randomId('race')}.example.test` })],
    [
      '/clients',
      () => ({
        client_id: randomId('race'),
        name: 'race',
        grant_types: ['client_credentials'],
        apis: [ADMIN_AUDIENCE],
      }),
    ],
    ['/users', () => ({ email: `${randomId('race')}@example.test` })],
    ['/roles', () => ({ name: randomId('race') })],
    ['/organizations', () => ({ name: randomId('race') })],
  ];
  it.each(bodies)('at %s: one 201, the others 409 conflict', async (path, body) => {
    const same = body();
    const answers = await Promise.all(Array.from({ length: 6 }, () => call('POST', path, { body: same })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body).toEqual(problem(409, 'conflict'));
  });
});

describe('creates with an Idempotency-Key', () => {
  it('answer a replay with the first answer, refuse the key for another body, and create once when raced', async () => {
    const key = randomId('key');
    const body = { name: randomId('idem'), grant_types: ['client_credentials'], apis: [ADMIN_AUDIENCE] };
    const first = await call('POST', '/clients', { body, headers: { 'idempotency-key': key } });
    const replay = await call('POST', '/clients', { body, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    expect(replay).toMatchObject({ status: 201, body: first.body });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(
      await call('POST', '/clients', { body: { ...body, name: 'other' }, headers: { 'idempotency-key': key } }),
    ).toMatchObject({ status: 422, body: problem(422, 'idempotency_key_reused') });

    // The answer, secret and all, is stored sealed: not in the clear.
    const db = new pg.Client({ connectionString: scratch.url });
    await db.connect();
    const { rows } = await db.query('SELECT response FROM admin_idempotency_keys WHERE key = $1', [key]);
    expect(Buffer.from(rows[0].response).toString('latin1')).not.toContain(String(first.body.client_secret));

    const raced = { ...body, name: randomId('raced') };
    const racedKey = randomId('key');
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        call('POST', '/clients', { body: raced, headers: { 'idempotency-key': racedKey } }),
      ),
    );
    for (const a of answers) expect([201, 409]).toContain(a.status);
    const { rows: made } = await db.query('SELECT count(*)::int AS n FROM clients WHERE name = $1', [raced.name]);
    await db.end();
    expect(made[0].n).toBe(1);
  });

  it('give the key up when the create fails, so that a corrected retry runs', async () => {
    const key = randomId('key');
    const bad = await call('POST', '/apis', { body: { audience: 'not a uri' }, headers: { 'idempotency-key': key } });
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const audience = `https://${randomId('retry')}.example.test`;
    expect(await call('POST', '/apis', { body: { audience }, headers: { 'idempotency-key': key } })).toMatchObject({
      status: 201,
    });
  });
});

describe('idempotency records', () => {
  it(
    'are taken over past their day, and deleted by the cleanup job',
    async () => {
      const key = randomId('old-key');
      const db = new pg.Client({ connectionString: scratch.url });
      await db.connect();
      // A record a day old, for another body: past its expiry it no longer holds the key.
      await db.query(
        `INSERT INTO admin_idempotency_keys (caller, key, request_hash, status, response, expires_at)
       VALUES ($1, $2, '\\x00', 201, '\\x00', now() - interval '1 second')`,
        [`${admin.client_id} ${admin.client_id}`, key],
      );
      const audience = `https://${randomId('late')}.example.test`;
      expect(await call('POST', '/apis', { body: { audience }, headers: { 'idempotency-key': key } })).toMatchObject({
        status: 201,
        body: { audience },
      });
      await db.query(
        `INSERT INTO admin_idempotency_keys (caller, key, request_hash, expires_at) VALUES ('x', $1, '\\x00', now() - interval '1 second')`,
        [key],
      );
      const cleaned = await tesseraJson<{ deleted: Record<string, number> }>(['cleanup'], env);
      expect(cleaned.deleted.admin_idempotency_keys).toBe(1);
      const { rows } = await db.query('SELECT caller FROM admin_idempotency_keys WHERE key = $1', [key]);
      await db.end();
      expect(rows).toEqual([{ caller: `${admin.client_id} ${admin.client_id}` }]);
    },
    CLI_TIMEOUT,
  );
});

describe('lists', () => {
  it('page with cursors through every item once, whatever the page size', async () => {
    const made = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { body } = await call<{ id: string }>('POST', '/users', {
        body: { email: `${randomId('page')}@example.test` },
      });
      made.add(body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await call<{ items: { id: string }[]; next_cursor: string | null }>(
        'GET',
        `/users${query}`,
      );
      expect(status).toBe(200);
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((u) => u.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of made) expect(seen).toContain(id);
    expect(await call('GET', '/users?cursor=garbage')).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    expect(await call('GET', '/users?limit=0')).toMatchObject({ status: 400 });
  });

  it('search clients by a part of their id or name and users by a part of their address, case-insensitively', async () => {
    const tag = randomId('Findme').toLowerCase();
    const { body: client } = await call<{ client_id: string }>('POST', '/clients', {
      body: {
        name: `Reports ${tag.toUpperCase()}`,
        grant_types: ['authorization_code'],
        redirect_uris: ['https://r.example.test/cb'],
      },
    });
    const { body: user } = await call<{ id: string }>('POST', '/users', { body: { email: `${tag}@example.test` } });
    await call('POST', '/users', { body: { email: `${randomId('other')}@example.test` } });
    const clients = await call<{ items: { client_id: string }[] }>('GET', `/clients?q=${tag}`);
    expect(clients.body.items.map((c) => c.client_id)).toEqual([client.client_id]);
    const byId = await call<{ items: { client_id: string }[] }>('GET', `/clients?q=${client.client_id.slice(2, 12)}`);
    expect(byId.body.items.map((c) => c.client_id)).toContain(client.client_id);
    const users = await call<{ items: { id: string }[] }>('GET', `/users?q=${tag.toUpperCase()}`);
    expect(users.body.items.map((u) => u.id)).toEqual([user.id]);
    expect(await call('GET', `/users?q=`)).toMatchObject({ status: 400 });
    // The user page's second factors and roles: none yet.
    expect(await call('GET', `/users/${user.id}/security`)).toMatchObject({
      status: 200,
      body: { totp: null, recovery_codes_left: 0, passkeys: [], roles: [] },
    });
  });
});

describe('problems', () => {
  it('are RFC 9457 problem details, with where the body is wrong', async () => {
    const res = await call('POST', '/clients', { body: { name: 5, grant_types: 'x', extra: true } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ ...problem(400, 'invalid_request'), errors: expect.any(Array) });
    expect((res.body.errors as { path: string }[]).map((e) => e.path)).toEqual(
      expect.arrayContaining(['body.name', 'body.grant_types']),
    );
    expect(
      await call('POST', '/clients', { body: undefined, headers: { 'content-type': 'text/plain' } }),
    ).toMatchObject({ status: 415, body: { error: 'invalid_request' } });
    expect(await call('GET', '/nothing-here')).toMatchObject({ status: 404, body: problem(404, 'not_found') });
    const wrong = await call('PUT', '/clients');
    expect(wrong).toMatchObject({ status: 405, body: problem(405, 'method_not_allowed') });
    expect(wrong.headers.get('allow')).toMatch(/GET/);
    expect(await call('GET', '/clients/no-such-client')).toMatchObject({
      status: 404,
      body: problem(404, 'not_found'),
    });
  });
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1, lists every route the server has and no other, with the request schemas', async () => {
    const doc = (await (await fetch(`${server.issuer}/admin/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const router = (server.tessera.app.middleware as { router?: Router }[]).find((m) =>
      m.router?.opts.prefix?.startsWith('/admin'),
    )!.router!;
    const served = router.stack.flatMap((layer) =>
      layer.methods
        .filter((m) => m !== 'HEAD')
        .map((m) => `${m} ${openApiPath(String(layer.path).slice('/admin/v1'.length))}`),
    );
    expect(served.length).toBeGreaterThan(15);
    expect(new Set(documented)).toEqual(new Set(served));
    expect(doc.paths['/admin/v1/clients']!.post!.requestBody!.content['application/json']!.schema).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['name', 'grant_types']),
      additionalProperties: false,
    });
  });
});

describe('the CLI in remote mode', () => {
  it('drives the admin API with the same commands and output as on the database (apis, clients show, keys)', async () => {
    const remote = {
      TESSERA_URL: server.issuer,
      TESSERA_CLIENT_ID: admin.client_id,
      TESSERA_CLIENT_SECRET: admin.client_secret,
    };
    // No DATABASE_URL at all: the remote mode must not need one.
    const cli = (args: string[], input?: string) =>
      tessera(args, { env: { ...remote, DATABASE_URL: '' }, ...(input ? { input } : {}) });
    const json = async <T = Record<string, unknown>>(args: string[]) => {
      const r = await cli(['--json', ...args]);
      if (r.code !== 0) throw new Error(`tessera ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };
    const audience = `https://${randomId('remote')}.example.test`;
    expect(await json(['apis', 'create', '--audience', audience, '--scope', 'r:read'])).toMatchObject({
      audience,
      scopes: ['r:read'],
    });
    expect(await json<{ audience: string }[]>(['apis', 'list'])).toContainEqual(expect.objectContaining({ audience }));

    const created = await json<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'remote',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'r:read',
    ]);
    expect(created.client_secret).toMatch(/^tessera_cs_/);
    // What the database mode prints for the same client is what the remote mode printed.
    const local = await tessera(['clients', 'show', created.client_id], { env });
    const viaApi = await cli(['clients', 'show', created.client_id]);
    expect(viaApi).toMatchObject({ code: 0, stdout: local.stdout });
    // clients update/rotate-secret/delete and users create/show/disable/enable run in both modes
    // in test/e2e/cli.test.ts.

    expect((await json<{ state: string }[]>(['keys', 'list'])).map((k) => k.state)).toContain('current');
    expect(await json(['keys', 'rotate'])).toMatchObject({ state: 'next', kid: expect.any(String) });

    // What works on the database itself says so, and what is wrong with the settings is named.
    expect(await cli(['cleanup'])).toMatchObject({
      code: 2,
      stderr: 'tessera: this command works on the database only; unset TESSERA_URL to run it there\n',
    });
    expect(await tessera(['apis', 'list'], { env: { TESSERA_URL: server.issuer } })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('TESSERA_CLIENT_ID: required for the remote mode'),
    });
    expect(await tessera(['apis', 'list'], { env: { ...remote, TESSERA_CLIENT_SECRET: 'wrong' } })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('cannot get an admin token'),
    });
  }, 300_000);
});
