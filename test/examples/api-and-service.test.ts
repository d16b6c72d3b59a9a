// examples/api (an API protected by the kit) and examples/service (Client Credentials), run as
// the README's Quickstart runs them: the seed file registers everything, then one command each.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { eventually } from '../setup/eventually.ts';
import { startTestServer, tessera, type TestServer } from '../setup/tessera.ts';
import { runExample, type ExampleProcess } from './example-process.ts';

let server: TestServer;
let api: ExampleProcess;
let apiUrl: string;
// The secrets the Quickstart generates into the environment before seeding.
const secrets = {
  TESSERA_SEED_ORDERS_SERVICE_SECRET: `tessera_cs_${randomBytes(32).toString('base64url')}`,
  TESSERA_SEED_ORDERS_API_SECRET: `tessera_cs_${randomBytes(32).toString('base64url')}`,
  TESSERA_SEED_ORDERS_WEB_SECRET: `tessera_cs_${randomBytes(32).toString('base64url')}`,
  TESSERA_SEED_ADA_PASSWORD: 'correct horse battery staple',
};

beforeAll(async () => {
  server = await startTestServer();
  const seeded = await tessera(['seed', 'examples/seed.yaml'], { env: secrets });
  expect(seeded.code, seeded.stderr).toBe(0);
  const port = await freePort();
  apiUrl = `http://localhost:${port}`;
  api = runExample('examples/api/server.ts', {
    ISSUER: server.issuer,
    PORT: String(port),
    API_CLIENT_ID: 'orders-api',
    API_CLIENT_SECRET: secrets.TESSERA_SEED_ORDERS_API_SECRET,
  });
  await api.waitFor(/orders API listening/);
});
afterAll(async () => {
  await api?.stop();
  await server?.close();
});

describe('examples/api and examples/service', () => {
  it('the API refuses a call without a token, as RFC 6750 says', async () => {
    const res = await fetch(`${apiUrl}/orders`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="https://orders.example.test"');
  });

  it('the service gets a token with Client Credentials and reads and writes orders', async () => {
    const service = runExample('examples/service/call-api.ts', {
      ISSUER: server.issuer,
      CLIENT_SECRET: secrets.TESSERA_SEED_ORDERS_SERVICE_SECRET,
      API_URL: apiUrl,
    });
    expect(await service.exit()).toBe(0);
    const lines = service.output().trim().split('\n');
    expect(lines[0]).toBe('got an access token for "orders:read orders:write", valid 900 s');
    expect(lines[1]).toMatch(
      /^GET \/orders → 200 \{"orders":\[\{"id":1,"item":"tessera tiles","quantity":40\}.*\],"caller":\{"sub":"orders-service","client_id":"orders-service"\}\}$/,
    );
    expect(lines[2]).toMatch(/^POST \/orders → 201 \{"id":\d+,"item":"grout","quantity":1\}$/);
    expect(lines[3]).toMatch(/^GET \/orders → 200 /);
    // One token for all three calls: the service reuses it until shortly before it expires.
    expect(lines).toHaveLength(4);
  });

  it('the service with too few scopes is refused with 403 insufficient_scope', async () => {
    const service = runExample('examples/service/call-api.ts', {
      ISSUER: server.issuer,
      CLIENT_SECRET: secrets.TESSERA_SEED_ORDERS_SERVICE_SECRET,
      API_URL: apiUrl,
      SCOPE: 'orders:read',
    });
    expect(await service.exit()).toBe(1);
    expect(service.output()).toContain(
      'POST /orders → 403 {"error":"insufficient_scope","error_description":"this resource needs the scope orders:write","scope":"orders:write"}',
    );
  });

  it('a write with a revoked token is refused once the 5 s introspection cache has passed: the API introspects writes', async () => {
    const auth = `Basic ${Buffer.from(`orders-service:${secrets.TESSERA_SEED_ORDERS_SERVICE_SECRET}`).toString('base64')}`;
    const form = { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' };
    const { access_token: token } = (await (
      await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: form,
        body: 'grant_type=client_credentials&scope=orders:read%20orders:write',
      })
    ).json()) as { access_token: string };
    expect(
      (await fetch(`${apiUrl}/orders`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(201);
    await fetch(`${server.issuer}/token/revocation`, { method: 'POST', headers: form, body: `token=${token}` });
    // The example API runs in its own process, whose clock a test cannot move: it is asked until
    // the kit's cache of the "active" answer (5 s by default) has run out.
    const refused = await eventually(
      async () => {
        const res = await fetch(`${apiUrl}/orders`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(401);
        return res;
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    expect(refused.headers.get('www-authenticate')).toBe(
      'Bearer realm="https://orders.example.test", error="invalid_token", error_description="the access token is not active"',
    );
    // Reads do not introspect: the token reads until it expires.
    expect((await fetch(`${apiUrl}/orders`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
