// Issue 16, finding 7: a change listener whose packets are dropped (a NAT's idle timeout) closes
// nothing, so it used to look connected while every cache kept trusting it: a revoked token
// stayed active and a deleted client kept getting tokens at another replica, and /readyz said
// `change_listener: connected`. Here the listener of server `a` runs through a TCP proxy the test
// can freeze (forwarding stops, nothing is closed), cache ages run on a clock the test moves, and
// a disconnection is a pg_terminate_backend. No fixed sleeps: everything is polled.
import { createServer, Socket, type Server } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { CACHE_MAX_AGE_MS } from '../../src/cache/max-age.ts';
import { eventually } from '../setup/eventually.ts';
import { startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { basic, createApi, createClient, form } from './support.ts';

/** A TCP proxy to PostgreSQL that can stop forwarding in both directions without closing anything. */
async function freezableProxy(target: URL) {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = new Socket();
    upstream.connect(Number(target.port), target.hostname);
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        downstream.destroy();
        upstream.destroy();
      });
    }
    // Dropped while frozen, as a middlebox drops packets: the stream is dead from then on.
    downstream.on('data', (chunk) => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!frozen) downstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(target);
  url.port = String(port);
  return {
    url: url.href,
    freeze() {
      frozen = true;
    },
    /** Forwards again; connections that lost data while frozen are cut, as they are dead. */
    thaw() {
      frozen = false;
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let admin: pg.Pool;
let proxy: Awaited<ReturnType<typeof freezableProxy>>;
let quietProxy: Awaited<ReturnType<typeof freezableProxy>>;
let a: TestServer; // listener through `proxy`, heartbeat every 200 ms, cache clock the test moves
let c: TestServer; // listener through `quietProxy`, with a heartbeat too slow to notice anything here
let b: TestServer; // an ordinary replica
let clockOffset = 0;
let audience: string;

beforeAll(async () => {
  const databaseUrl = new URL(inject('databaseUrl'));
  admin = new pg.Pool({ connectionString: databaseUrl.href, max: 2 });
  [proxy, quietProxy] = await Promise.all([freezableProxy(databaseUrl), freezableProxy(databaseUrl)]);
  a = await startTestServer(
    {},
    {
      listener: { databaseUrl: proxy.url, heartbeatMs: 200, heartbeatTimeoutMs: 300 },
      clock: () => Date.now() + clockOffset,
    },
  );
  [b, c] = await Promise.all([
    startTestServer({ ISSUER: a.issuer }),
    startTestServer({ ISSUER: a.issuer }, { listener: { databaseUrl: quietProxy.url, heartbeatMs: 600_000 } }),
  ]);
  audience = await createApi('data:read');
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), c?.close()]);
  await Promise.all([proxy?.close(), quietProxy?.close(), admin?.end()]);
});

async function call(on: TestServer, path: string, auth: string, fields: Record<string, string>) {
  const res = await fetch(`${on.issuer}${path}`, {
    ...form(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function readyz(on: TestServer) {
  const res = await fetch(`${on.issuer}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// Polled for up to 5 s (eventually's default): the heartbeat here notices within half a second.
const connected = (on: TestServer) => eventually(async () => (await readyz(on)).body.change_listener === 'connected');

async function service() {
  const created = await createClient([
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'data:read',
  ]);
  const auth = basic(created.client_id, created.client_secret!);
  return {
    ...created,
    auth,
    token: async (on: TestServer) => call(on, '/token', auth, { grant_type: 'client_credentials', scope: 'data:read' }),
  };
}

describe('a change listener that stops answering', () => {
  it('a frozen listener: /readyz goes not-ready, and a revocation or a deletion at another replica counts at once', async () => {
    await connected(a);
    const svc = await service();
    const token = (await svc.token(a)).body.access_token as string;
    // Both caches are warm: a has the client and has looked at the token.
    expect((await call(a, '/token/introspection', svc.auth, { token })).body).toMatchObject({ active: true });

    proxy.freeze();
    try {
      await eventually(async () => (await readyz(a)).status === 503);
      expect(await readyz(a)).toEqual({
        status: 503,
        body: { status: 'unavailable', reason: 'change listener not answering' },
      });
      // What a's listener can no longer hear, a reads from the database.
      expect(await call(b, '/token/revocation', svc.auth, { token })).toEqual({ status: 200, body: {} });
      expect(await call(a, '/token/introspection', svc.auth, { token })).toEqual({
        status: 200,
        body: { active: false },
      });
      await tesseraJson(['clients', 'delete', svc.client_id]);
      expect(await svc.token(a)).toEqual({
        status: 401,
        body: { error: 'invalid_client', error_description: 'client authentication failed' },
      });
    } finally {
      proxy.thaw();
    }
    // It reconnects by itself.
    await connected(a);
    expect((await readyz(a)).status).toBe(200);
  });

  it('a listener disconnected by the database reconnects, and what happened meanwhile counts', async () => {
    await connected(a);
    const svc = await service();
    const token = (await svc.token(a)).body.access_token as string;
    expect((await call(a, '/token/introspection', svc.auth, { token })).body).toMatchObject({ active: true });
    const pid = a.notifications.backendPid;
    expect(pid).toEqual(expect.any(Number));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    expect(await call(b, '/token/revocation', svc.auth, { token })).toEqual({ status: 200, body: {} });
    expect(await call(a, '/token/introspection', svc.auth, { token })).toEqual({
      status: 200,
      body: { active: false },
    });
    await connected(a);
    expect(a.notifications.backendPid).not.toBe(pid);
    expect(await call(a, '/token/introspection', svc.auth, { token })).toEqual({
      status: 200,
      body: { active: false },
    });
  });

  it('a revocation is denied at once by the replica that handled it, even when its listener hears nothing', async () => {
    await connected(c);
    const svc = await service();
    const token = (await svc.token(c)).body.access_token as string;
    expect((await call(c, '/token/introspection', svc.auth, { token })).body).toMatchObject({ active: true });
    quietProxy.freeze();
    try {
      // c still believes its listener (its heartbeat is not due): only its own deny-list can say.
      expect((await readyz(c)).body.change_listener).toBe('connected');
      expect(await call(c, '/token/revocation', svc.auth, { token })).toEqual({ status: 200, body: {} });
      expect(await call(c, '/token/introspection', svc.auth, { token })).toEqual({
        status: 200,
        body: { active: false },
      });
    } finally {
      quietProxy.thaw();
    }
  });
});

describe('cached entries have a maximum age', () => {
  // A writer with triggers switched off (as pg_restore and logical replication run) changes the
  // database without any notification: only the age of a cached entry can end it.
  async function unnotified(sql: string, params: unknown[]) {
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query(sql, params);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  it('a removed secret and a revoked token are trusted from memory until CACHE_MAX_AGE_MS, then read again', async () => {
    await connected(a);
    const svc = await service();
    const token = (await svc.token(a)).body.access_token as string;
    expect((await call(a, '/token/introspection', svc.auth, { token })).body).toMatchObject({ active: true });

    await unnotified('DELETE FROM client_secrets WHERE client_id = $1', [svc.client_id]);
    await unnotified(
      `INSERT INTO revoked_tokens (jti, client_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`,
      [JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti, svc.client_id],
    );
    // Nothing was notified: a still answers from memory (which is what the caches are for).
    expect((await svc.token(a)).status).toBe(200);
    expect((await call(a, '/token/introspection', svc.auth, { token })).body).toMatchObject({ active: true });

    clockOffset += CACHE_MAX_AGE_MS;
    expect(await svc.token(a)).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'client authentication failed' },
    });
    // The resource server's view: the token's own client can no longer authenticate, so ask as b's service would.
    const rs = await createClient(['--grant-types', 'client_credentials', '--api', audience, '--serves', audience]);
    expect(await call(a, '/token/introspection', basic(rs.client_id, rs.client_secret!), { token })).toEqual({
      status: 200,
      body: { active: false },
    });
  });
});
