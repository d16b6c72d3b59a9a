// Every Tessera process keeps clients and revocations in memory (src/cache/); these tests prove
// that a change made elsewhere — by the CLI, or at another server on the same database — takes
// effect at a running server at once, without a restart or an expiry to wait for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../setup/eventually.ts';
import { randomId, startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';

let a: TestServer;
let b: TestServer;
let audience: string;

beforeAll(async () => {
  a = await startTestServer();
  // Replicas: one issuer (the public URL a load balancer would serve), two processes.
  b = await startTestServer({ ISSUER: a.issuer });
  audience = `https://${randomId('cache')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'r w']);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function post(server: TestServer, path: string, auth: string, body: Record<string, string>) {
  return fetch(`${server.issuer}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
}

async function createClient(extra: string[] = []) {
  return tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    randomId('svc'),
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'r',
    ...extra,
  ]);
}

/** Asks until `check` holds: a notification takes milliseconds; eventually's 5 s is for a loaded machine. */
const seen = (check: () => Promise<boolean>) => eventually(check);

/** The server hears of changes (its listener connects just after start), so its caches are on. */
async function listening(server: TestServer) {
  await seen(
    async () =>
      ((await (await fetch(`${server.issuer}/readyz`)).json()) as { change_listener?: string }).change_listener ===
      'connected',
  );
}

describe('in-memory client catalog', () => {
  it('sees a deleted client, a narrowed grant and a rotated-out secret at once', async () => {
    await Promise.all([listening(a), listening(b)]);
    const client = await createClient();
    const auth = basic(client.client_id, client.client_secret);
    const grant = (server: TestServer, body: Record<string, string> = {}) =>
      post(server, '/token', auth, { grant_type: 'client_credentials', scope: 'r', ...body });
    // Warm both caches.
    expect((await grant(a)).status).toBe(200);
    expect((await grant(b)).status).toBe(200);

    // The API grant loses scope r: the next request for r is refused.
    await tesseraJson([
      'clients',
      'update',
      client.client_id,
      '--name',
      'narrowed',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'w',
    ]);
    for (const server of [a, b]) {
      await seen(async () => (await grant(server)).status === 400);
      expect(await (await grant(server)).json()).toEqual({
        error: 'invalid_scope',
        error_description: 'requested scope is not allowed',
        scope: 'r',
      });
    }

    // A rotation with no grace: the old secret stops working, the new one works.
    const rotated = await tesseraJson<{ client_secret: string }>([
      'clients',
      'rotate-secret',
      client.client_id,
      '--grace',
      '0',
    ]);
    await seen(async () => (await grant(a, { scope: 'w' })).status === 401);
    const fresh = await post(b, '/token', basic(client.client_id, rotated.client_secret), {
      grant_type: 'client_credentials',
      scope: 'w',
    });
    expect(fresh.status).toBe(200);

    // Deleted: unknown everywhere.
    await tesseraJson(['clients', 'delete', client.client_id]);
    for (const server of [a, b]) {
      await seen(
        async () =>
          (
            await post(server, '/token', basic(client.client_id, rotated.client_secret), {
              grant_type: 'client_credentials',
            })
          ).status === 401,
      );
    }
  });
});

describe("a client's roles (RBAC), cached with the client", () => {
  it('follow a permission revoked and granted, and a role taken from the client, at both servers at once', async () => {
    await Promise.all([listening(a), listening(b)]);
    const enforced = `https://${randomId('cache-rbac')}.example.test`;
    const role = randomId('cache-role');
    await tesseraJson(['apis', 'create', '--audience', enforced, '--scope', 'r w']);
    await tesseraJson(['apis', 'update', enforced, '--rbac', 'enforce']);
    await tesseraJson(['roles', 'create', role, '--api', enforced, '--scope', 'r']);
    // Strict: a scope the roles do not grant is refused (invalid_scope), not left out.
    const client = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      randomId('svc'),
      '--grant-types',
      'client_credentials',
      '--api',
      enforced,
      '--scope',
      'r w',
      '--rbac-strict',
    ]);
    await tesseraJson(['clients', 'assign-role', client.client_id, '--role', role]);
    const auth = basic(client.client_id, client.client_secret);
    const status = async (server: TestServer) =>
      (await post(server, '/token', auth, { grant_type: 'client_credentials', scope: 'r', resource: enforced })).status;
    const everywhere = async (expected: number) => {
      for (const server of [a, b]) await seen(async () => (await status(server)) === expected);
    };
    // Warm both caches.
    await everywhere(200);
    await tesseraJson(['roles', 'revoke-permission', role, '--api', enforced, '--scope', 'r']);
    await everywhere(400);
    await tesseraJson(['roles', 'grant-permission', role, '--api', enforced, '--scope', 'r']);
    await everywhere(200);
    await tesseraJson(['clients', 'remove-role', client.client_id, '--role', role]);
    await everywhere(400);
    // Seven CLI processes: seconds apiece on a loaded machine.
  }, 180_000);
});

describe('in-memory revocation list', () => {
  it('a JWT access token revoked at one server introspects as inactive at the other at once', async () => {
    await Promise.all([listening(a), listening(b)]);
    const client = await createClient();
    const auth = basic(client.client_id, client.client_secret);
    const { access_token: token } = (await (
      await post(a, '/token', auth, { grant_type: 'client_credentials', scope: 'r' })
    ).json()) as { access_token: string };
    // b has looked at it (and so has every cache on the way) before it is revoked.
    expect(await (await post(b, '/token/introspection', auth, { token })).json()).toMatchObject({ active: true });

    expect((await post(a, '/token/revocation', auth, { token })).status).toBe(200);
    // The revocation committed before a answered; b hears of it within milliseconds.
    await seen(
      async () =>
        ((await (await post(b, '/token/introspection', auth, { token })).json()) as { active: boolean }).active ===
        false,
    );
    expect(await (await post(b, '/token/introspection', auth, { token })).json()).toEqual({ active: false });
  });
});
