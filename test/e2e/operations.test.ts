// Operating Tessera: metrics, health, the audit trail, cleanup, rate limits shared by replicas,
// and logs that never carry a credential.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, loadEmbeddedPostgres } from '../../src/db/embedded.ts';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { eventually } from '../setup/eventually.ts';
import { authorize } from '../setup/sign-in.ts';
import { startServerProcess } from '../setup/server-process.ts';
import { randomId, startTestServer, tessera, tesseraJson, testEnv, type TestServer } from '../setup/tessera.ts';

const METRICS_TOKEN = 'metrics-token-for-tests-only';
let server: TestServer;
let clockOffset = 0;
let audience: string;

beforeAll(async () => {
  // Tessera's clock (src/clock.ts): the refresh-reuse test moves it past the retry grace.
  server = await startTestServer({ METRICS_TOKEN }, { clock: () => Date.now() + clockOffset });
  audience = `https://${randomId('ops')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'ops:read']);
});
afterAll(() => server?.close());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
async function client() {
  const c = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'ops',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'ops:read',
  ]);
  return { ...c, auth: basic(c.client_id, c.client_secret) };
}
const token = (on: { issuer: string }, auth: string, headers: Record<string, string> = {}) =>
  fetch(`${on.issuer}/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: 'grant_type=client_credentials&scope=ops:read',
  });
const metric = async (name: string, labels: string) => {
  const text = await (
    await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('metrics', () => {
  it('need the bearer token on the main port, and count tokens, errors and requests', async () => {
    const refused = await fetch(`${server.issuer}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');

    const c = await client();
    const before = await metric('tessera_tokens_issued_total', `client_id="${c.client_id}"`);
    expect((await token(server, c.auth)).status).toBe(200);
    expect(
      await metric('tessera_tokens_issued_total', `grant_type="client_credentials",client_id="${c.client_id}"`),
    ).toBe(before + 1);

    const errorsBefore = await metric('tessera_oauth_errors_total', 'error="invalid_client"');
    await token(server, basic(c.client_id, 'wrong'));
    expect(await metric('tessera_oauth_errors_total', 'error="invalid_client"')).toBe(errorsBefore + 1);
    expect(await metric('tessera_http_requests_total', 'method="POST",route="/token",status="200"')).toBeGreaterThan(0);
    expect(await metric('tessera_db_pool_connections', 'state="total"')).toBeGreaterThan(0);
  });

  it('can be served on a port of their own', async () => {
    const port = await freePort();
    const separate = await startTestServer({ METRICS_PORT: String(port) });
    try {
      expect((await fetch(`${separate.issuer}/metrics`)).status).toBe(404);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('tessera_http_requests_total');
    } finally {
      await separate.close();
    }
  });
});

describe('the audit trail', () => {
  it('records administration, sign-in, consent, reuse and revocation events', async () => {
    const since = new Date().toISOString();
    const c = await client();
    await tesseraJson(['clients', 'update', c.client_id, '--name', 'ops2']);
    await tesseraJson(['clients', 'rotate-secret', c.client_id, '--grace', '0']);
    const email = `${randomId('audited')}@example.test`;
    const created = await tessera(['--json', 'users', 'create', '--email', email, '--password-stdin'], {
      input: 'correct horse battery',
    });
    const userId = (JSON.parse(created.stdout) as { id: string }).id;

    // A sign-in with a wrong password, then a right one, approving consent; then refresh reuse.
    const app = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'audited app',
      '--grant-types',
      'authorization_code,refresh_token',
      '--redirect-uri',
      'https://app.example.test/cb',
      '--scope',
      'openid offline_access',
    ]);
    const authUrl = new URL(`${server.issuer}/auth`);
    const verifier = randomBytes(32).toString('base64url');
    const { createHash } = await import('node:crypto');
    authUrl.search = new URLSearchParams({
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: 'https://app.example.test/cb',
      scope: 'openid offline_access',
      prompt: 'consent',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    await expect(authorize(authUrl, { email, password: 'not it' })).rejects.toThrow('login answered 401');
    const callback = await authorize(authUrl, { email, password: 'correct horse battery' });
    const tokenResponse = (await (
      await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: basic(app.client_id, app.client_secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: callback.searchParams.get('code')!,
          redirect_uri: 'https://app.example.test/cb',
          code_verifier: verifier,
        }),
      })
    ).json()) as { refresh_token: string; access_token: string };
    const refresh = () =>
      fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: basic(app.client_id, app.client_secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokenResponse.refresh_token }),
      });
    expect((await refresh()).status).toBe(200);
    clockOffset += 2_001; // past the 2 s retry grace
    expect((await refresh()).status).toBe(400);

    const cc = (await (
      await token(
        server,
        basic(
          c.client_id,
          (
            await tesseraJson<{ client_secret: string }>(['clients', 'rotate-secret', c.client_id, '--grace', '0'])
          ).client_secret,
        ),
      )
    ).json()) as { access_token: string };
    const latest = await tesseraJson<{ client_secret: string }>([
      'clients',
      'rotate-secret',
      c.client_id,
      '--grace',
      '1h',
    ]);
    await fetch(`${server.issuer}/token/revocation`, {
      method: 'POST',
      headers: {
        authorization: basic(c.client_id, latest.client_secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: cc.access_token }),
    });
    await tesseraJson(['users', 'disable', email]);
    await tesseraJson(['clients', 'delete', c.client_id]);
    // Audit writes after a response are not awaited by it: polled.
    const events = await eventually(
      async () => {
        const found = await tesseraJson<{ type: string; actor: string; subject: string | null; ip: string | null }[]>([
          'audit',
          '--since',
          since,
          '--limit',
          '1000',
        ]);
        const types = new Set(found.map((e) => e.type));
        for (const type of [
          'client.created',
          'client.updated',
          'client.secret_rotated',
          'client.deleted',
          'user.created',
          'user.disabled',
          'login.failed',
          'login.succeeded',
          'consent.granted',
          'refresh_token.reuse_detected',
          'token.revoked',
        ]) {
          expect(types, type).toContain(type);
        }
        return found;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    // A failed sign-in names the account by its id, never by what was typed.
    const failed = events.find((e) => e.type === 'login.failed' && e.subject === userId)!;
    expect(failed).toMatchObject({ actor: 'anonymous', ip: expect.stringContaining('127.0.0.1') });
    expect(events.find((e) => e.type === 'client.created' && e.subject === c.client_id)?.actor).toMatch(/^cli:/);
    expect(JSON.stringify(events)).not.toContain('correct horse battery');
  }, 30_000);
});

describe('cleanup', () => {
  it('deletes only what has expired', async () => {
    const db = new pg.Client({ connectionString: inject('databaseUrl') });
    await db.connect();
    const live = randomId('live');
    const dead = randomId('dead');
    await db.query(
      `INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES
      ('Session', $1, '{}', now() + interval '1 hour'), ('Session', $2, '{}', now() - interval '1 second')`,
      [live, dead],
    );
    await db.query(
      `INSERT INTO revoked_tokens (jti, client_id, expires_at) VALUES ($1, 'c', now() + interval '1 hour'), ($2, 'c', now() - interval '1 second')`,
      [live, dead],
    );
    const result = await tesseraJson<{ deleted: Record<string, number> }>(['cleanup']);
    expect(result.deleted.oidc_payloads).toBeGreaterThanOrEqual(1);
    const { rows } = await db.query(
      `SELECT (SELECT count(*)::int FROM oidc_payloads WHERE id IN ($1, $2)) AS payloads,
      (SELECT count(*)::int FROM revoked_tokens WHERE jti IN ($1, $2)) AS revoked,
      (SELECT count(*)::int FROM oidc_payloads WHERE id = $1) AS live_payload`,
      [live, dead],
    );
    await db.end();
    expect(rows[0]).toEqual({ payloads: 1, revoked: 1, live_payload: 1 });
  });
});

describe('rate limits', () => {
  it('limit a client at the token endpoint across two server processes, with 429 and Retry-After', async () => {
    const replica = async () => {
      const port = await freePort();
      return startServerProcess(
        {
          ...testEnv(),
          RATE_LIMIT_TOKEN_PER_MINUTE: '3',
          TRUSTED_PROXIES: '127.0.0.1',
          PORT: String(port),
          HOST: '127.0.0.1',
          ISSUER: `http://127.0.0.1:${port}`,
        },
        `http://127.0.0.1:${port}`,
      );
    };
    const [a, b] = await Promise.all([replica(), replica()]);
    try {
      const c = await client();
      // Each process sends what it counted within 0.1 s (rate-limit/batched-quota.ts): once the
      // shared counter holds every request so far, the next decision is exact at either process.
      const db = new pg.Client({ connectionString: inject('databaseUrl') });
      await db.connect();
      let sent = 0;
      const settle = () => {
        sent++;
        return eventually(async () => {
          const { rows } = await db.query('SELECT points FROM rate_limits WHERE key = $1', [
            `token:client:${c.client_id}`,
          ]);
          expect(rows[0]?.points).toBe(sent);
        });
      };
      // An address of this test's own: every failed token request from 127.0.0.1 in the other
      // test files (one database) spends that address's quota, which is 3 here too.
      const from = { 'x-forwarded-for': `198.51.100.${Math.floor(Math.random() * 250) + 1}` };
      expect((await token(a, c.auth, from)).status).toBe(200);
      await settle();
      expect((await token(b, c.auth, from)).status).toBe(200);
      await settle();
      expect((await token(a, c.auth, from)).status).toBe(200);
      await settle();
      const limited = await token(b, c.auth, from);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await limited.json()).toEqual({
        error: 'rate_limited',
        error_description: expect.stringMatching(/^too many token requests for this client; retry after \d+ s$/),
      });
      // Another client is not affected, and wrong secrets sent under a client's id spend the
      // sender's quota, not the client's.
      const victim = await client();
      const attacker = { 'x-forwarded-for': `203.0.113.${Math.floor(Math.random() * 250) + 1}` };
      for (let i = 0; i < 3; i++) expect((await token(a, basic(victim.client_id, 'guess'), attacker)).status).toBe(401);
      expect((await token(a, basic(victim.client_id, 'guess'), attacker)).status).toBe(429);
      expect((await token(b, victim.auth, from)).status).toBe(200);
      await db.end();
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('lock an account after repeated failures from one address, for a while, and not from elsewhere', async () => {
    const limited = await startTestServer({ RATE_LIMIT_LOGIN_FAILURES: '2', TRUSTED_PROXIES: '127.0.0.1' });
    try {
      const email = `${randomId('locked')}@example.test`;
      await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: 'correct horse battery' });
      const app = await tesseraJson<{ client_id: string }>([
        'clients',
        'create',
        '--name',
        'lock',
        '--grant-types',
        'authorization_code',
        '--public',
        '--first-party',
        '--redirect-uri',
        'https://app.example.test/cb',
        '--scope',
        'openid',
      ]);
      const attempt = (password: string, ip: string) => attemptAs(email, password, ip);
      const attemptAs = async (email: string, password: string, ip: string) => {
        const url = new URL(`${limited.issuer}/auth`);
        url.search = new URLSearchParams({
          client_id: app.client_id,
          response_type: 'code',
          redirect_uri: 'https://app.example.test/cb',
          scope: 'openid',
          code_challenge: 'a'.repeat(43),
          code_challenge_method: 'S256',
        }).toString();
        const first = await fetch(url, { redirect: 'manual', headers: { 'x-forwarded-for': ip } });
        const cookies = first.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; ');
        const interaction = new URL(first.headers.get('location')!, limited.issuer);
        const html = await (await fetch(interaction, { headers: { cookie: cookies, 'x-forwarded-for': ip } })).text();
        const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
        const res = await fetch(`${interaction.href}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: cookies, 'x-forwarded-for': ip, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ csrf, email, password }),
        });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
      };
      const attacker = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
      // An address longer than any counter key is counted like any other (hashed), not a 500.
      const long = await attemptAs(
        `${'x'.repeat(300)}@example.test`,
        'guess',
        `192.0.2.${Math.floor(Math.random() * 250) + 1}`,
      );
      expect(long.status).toBe(401);
      expect((await attempt('wrong 1', attacker)).status).toBe(401);
      expect((await attempt('wrong 2', attacker)).status).toBe(401);
      const locked = await attempt('correct horse battery', attacker);
      expect(locked.status).toBe(429);
      expect(Number(locked.retryAfter)).toBeGreaterThan(0);
      expect(locked.body).toContain('Too many attempts.');
      // The real user, from their own address, signs in.
      expect((await attempt('correct horse battery', `192.0.2.${Math.floor(Math.random() * 250) + 1}`)).status).toBe(
        303,
      );
    } finally {
      await limited.close();
    }
  });
});

describe('health', () => {
  it('/readyz follows the database down and back up, with no restart; /healthz stays up', async () => {
    const Postgres = await loadEmbeddedPostgres();
    const { mkdtempSync, chmodSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'tessera-flaky-pg-'));
    chmodSync(dir, 0o711);
    const port = await freePort();
    const pgServer = new Postgres({
      databaseDir: join(dir, 'data'),
      port,
      user: 'postgres',
      password: 'flaky',
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => {},
      onError: () => {},
    });
    await pgServer.initialise();
    await pgServer.start();
    const url = `postgresql://postgres:flaky@127.0.0.1:${port}/postgres`;
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
    await pool.end();
    const flaky = await startTestServer({ DATABASE_URL: url });
    try {
      expect((await fetch(`${flaky.issuer}/readyz`)).status).toBe(200);
      await pgServer.stop();
      const down = await fetch(`${flaky.issuer}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'unavailable', reason: 'database unreachable' });
      expect((await fetch(`${flaky.issuer}/healthz`)).status).toBe(200);
      await pgServer.start();
      await eventually(async () => expect((await fetch(`${flaky.issuer}/readyz`)).status).toBe(200), {
        timeoutMs: 10_000,
        intervalMs: 200,
      });
    } finally {
      await flaky.close();
      await pgServer.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('logs', () => {
  it('never carry a secret, token, code, password, Authorization header or cookie through a full flow', async () => {
    const c = await client();
    const issued = (await (await token(server, c.auth)).json()) as { access_token: string };
    await fetch(`${server.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: c.auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: issued.access_token }),
    });
    await fetch(`${server.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: c.auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: issued.access_token }),
    });
    await token(server, basic(c.client_id, `${c.client_secret}-wrong`));

    const email = `${randomId('logged')}@example.test`;
    await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: 'a logged password 123' });
    const app = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'logged',
      '--grant-types',
      'authorization_code,refresh_token',
      '--first-party',
      '--redirect-uri',
      'https://app.example.test/cb',
      '--scope',
      'openid offline_access',
    ]);
    const verifier = randomBytes(32).toString('base64url');
    const { createHash } = await import('node:crypto');
    const authUrl = new URL(`${server.issuer}/auth`);
    authUrl.search = new URLSearchParams({
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: 'https://app.example.test/cb',
      scope: 'openid offline_access',
      prompt: 'consent',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const callback = await authorize(authUrl, { email, password: 'a logged password 123' });
    const code = callback.searchParams.get('code')!;
    const tokens = (await (
      await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: basic(app.client_id, app.client_secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: 'https://app.example.test/cb',
          code_verifier: verifier,
        }),
      })
    ).json()) as { access_token: string; refresh_token: string; id_token: string };

    const logs = JSON.stringify(server.logs);
    for (const secret of [
      c.client_secret,
      issued.access_token,
      c.auth.slice(6),
      'a logged password 123',
      code,
      verifier,
      tokens.access_token,
      tokens.refresh_token,
      tokens.id_token,
      app.client_secret,
    ]) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toMatch(/_session=|_interaction=/);
    expect(server.logs.some((l) => l.path === '/token')).toBe(true); // the flow was logged at all
  }, 30_000);
});
