// The kit and Tessera's own key rotation (`tessera keys rotate`, `keys retire --compromised`):
// an API that cached the JWKS before a rotation accepts the new key's first token, and drops a
// compromised key once its cache ages out. Tessera runs on a database of this file's own, so
// rotating its keys disturbs no other test.
import { decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { startServerProcess, type ServerProcess } from '../setup/server-process.ts';
import { tessera, tesseraJson, TEST_SECRETS } from '../setup/tessera.ts';
import { call, startProtectedApi, type ProtectedApi } from './apps.ts';
import { eventually } from '../setup/eventually.ts';

const AUDIENCE = 'https://rotating-orders.example.test';
const JWKS_MAX_AGE = 3;
let database: ScratchDatabase;
let server: ServerProcess;
let api: ProtectedApi;
let env: Record<string, string>;
let auth: string;

async function token(): Promise<string> {
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=orders:read',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}
const introspect = async (t: string) =>
  (await (
    await fetch(`${server.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${t}`,
    })
  ).json()) as { active: boolean };
const status = async (t: string) => (await call(`${api.url}/orders`, { authorization: `Bearer ${t}` })).status;

beforeAll(async () => {
  database = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_rs_keys');
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  await pool.end();
  env = {
    ...TEST_SECRETS,
    DATABASE_URL: database.url,
    KEYS_PUBLICATION_DELAY: '2',
    KEYS_CHECK_INTERVAL: '1',
    HOST: '127.0.0.1',
  };
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  server = await startServerProcess({ ...env, PORT: String(port), ISSUER: issuer }, issuer);
  await tesseraJson(['apis', 'create', '--audience', AUDIENCE, '--scope', 'orders:read'], env);
  const client = await tesseraJson<{ client_id: string; client_secret: string }>(
    [
      'clients',
      'create',
      '--name',
      'svc',
      '--grant-types',
      'client_credentials',
      '--api',
      AUDIENCE,
      '--scope',
      'orders:read',
    ],
    env,
  );
  auth = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
  api = await startProtectedApi('koa', { issuer, audience: AUDIENCE, jwksCooldown: 1, jwksMaxAge: JWKS_MAX_AGE });
}, 60_000);
afterAll(async () => {
  await api?.close();
  await server?.stop();
  await database?.drop();
});

describe("Tessera's key rotation, seen by the kit", () => {
  it("accepts the first token of a key rotated in after the JWKS was cached, and the old key's tokens", async () => {
    const before = await token();
    expect(await status(before)).toBe(200); // the JWKS is cached now, with the old key only
    const { kid } = await tesseraJson<{ kid: string }>(['keys', 'rotate'], env);
    await eventually(async () => expect(decodeProtectedHeader(await token()).kid).toBe(kid), {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    expect(await status(await token())).toBe(200);
    expect(await status(before)).toBe(200);
  }, 30_000);

  it("refuses a compromised key's tokens once its JWKS cache has aged out", async () => {
    const compromised = decodeProtectedHeader(await token()).kid!;
    const signed = await token();
    expect(await status(signed)).toBe(200);
    // Tessera's own introspection remembers tokens it verified; a compromised key's go at once.
    expect(await introspect(signed)).toMatchObject({ active: true });
    expect((await tessera(['keys', 'retire', compromised, '--compromised'], { env })).code).toBe(0);
    await eventually(async () => expect(await introspect(signed)).toMatchObject({ active: false }), {
      intervalMs: 200,
    });
    // The kit's JWKS cache is jose's, which reads Date.now() and has no clock option: Date alone
    // is faked (timers and I/O stay real, Tessera runs in its own process) and moved past it.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + JWKS_MAX_AGE * 1000 + 1);
    expect(await call(`${api.url}/orders`, { authorization: `Bearer ${signed}` })).toEqual({
      status: 401,
      wwwAuthenticate: `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="the access token's signature is invalid"`,
      body: { error: 'invalid_token', error_description: "the access token's signature is invalid" },
    });
    expect(await status(await token())).toBe(200); // the replacement key's tokens
  }, 30_000);
  afterEach(() => {
    vi.useRealTimers();
  });
});
