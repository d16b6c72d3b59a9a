// Managed API keys (issue 18): created with the CLI and shown once, answered by introspection to
// the API's own client only, metered per day, refused after revocation, after their quota and by
// another API's client, rotated with a grace; accepted by the resource-server kit beside JWTs.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { eventually } from '../setup/eventually.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { basic, createApi, createUser } from '../hardening/support.ts';
import { call, startProtectedApi, type ProtectedApi } from '../resource-server/apps.ts';
import { generateApiKey, isWellFormedApiKey } from '../../src/api-keys/key-format.ts';

// Most steps run the CLI, a process each: slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000 });

const options = { [oauth.allowInsecureRequests]: true };
let server: TestServer;
let as: oauth.AuthorizationServer;
let audience: string;
let otherAudience: string;

interface Registered {
  client: oauth.Client;
  auth: oauth.ClientAuth;
  id: string;
  secret: string;
}
async function register(args: string[]): Promise<Registered> {
  const { client_id: id, client_secret: secret } = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    randomId('app'),
    '--grant-types',
    'client_credentials',
    ...args,
  ]);
  return { client: { client_id: id }, auth: oauth.ClientSecretBasic(secret), id, secret };
}

interface Created {
  id: string;
  value: string;
  key: string;
  scopes: string[];
  owner: string | null;
}
const createKey = (args: string[]) =>
  tesseraJson<Created>(['api-keys', 'create', '--name', randomId('key'), '--api', audience, ...args]);

/** The introspection endpoint by hand (oauth4webapi validates answers a test wants to see raw). */
async function introspect(c: { id: string; secret: string }, token: string, requestId = randomUUID()) {
  const res = await fetch(as.introspection_endpoint!, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(c.id, c.secret),
      'x-request-id': requestId,
    },
    body: new URLSearchParams({ token }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

let apiClient: Registered;
let otherApiClient: Registered;
let owner: Registered;

beforeAll(async () => {
  // Statements counted per request: a malformed key must cost none.
  server = await startTestServer({}, { countStatementsPerRequest: true });
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  [audience, otherAudience] = await Promise.all([createApi('orders:read orders:write'), createApi('orders:read')]);
  [apiClient, otherApiClient, owner] = await Promise.all([
    register(['--api', audience, '--scope', 'orders:read', '--serves', audience]),
    register(['--api', otherAudience, '--scope', 'orders:read', '--serves', otherAudience]),
    register(['--api', audience, '--scope', 'orders:read']),
  ]);
  // Each step is a CLI process: slow on a loaded machine.
}, 180_000);
afterAll(() => server?.close());

describe('creating and listing keys', () => {
  it('prints the key once, recognisable and checksummed; lists only its last four characters', async () => {
    const created = await createKey(['--scope', 'orders:read', '--client', owner.id, '--expires', '90d']);
    expect(created.value).toMatch(/^tsk_[0-9A-Za-z]{49}$/);
    expect(isWellFormedApiKey(created.value)).toBe(true);
    expect(created.key).toBe(`tsk_…${created.value.slice(-4)}`);
    expect(created.owner).toBe(`client:${owner.id}`);

    const list = await tessera(['api-keys', 'list', '--api', audience]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(created.id);
    expect(list.stdout).toContain(created.key);
    expect(list.stdout).not.toContain(created.value);
    const shown = await tessera(['--json', 'api-keys', 'show', created.id]);
    expect(shown.stdout).not.toContain(created.value);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: created.id, scopes: ['orders:read'], last_used_at: null });
  });

  it('refuses bad input with a clear message and exit 2, creating nothing', async () => {
    const name = randomId('bad');
    const cases: [string[], string][] = [
      [['--api', 'https://nope.example.test'], 'no API has audience https://nope.example.test'],
      [['--api', audience, '--scope', 'orders:delete'], `API ${audience} defines no scope orders:delete`],
      [['--api', audience, '--client', 'nobody'], 'no client has id nobody'],
      [['--api', audience, '--user', 'nobody@example.test'], 'no user has email nobody@example.test'],
      [
        ['--api', audience, '--client', owner.id, '--user', 'someone@example.test'],
        'an API key belongs to a client or to a user, not both',
      ],
      [
        ['--api', audience, '--quota', '10/hour'],
        'a quota is a positive count per min or day, e.g. 100/min or 10000/day, not "10/hour"',
      ],
      [
        ['--api', audience, '--quota', '0/min'],
        'a quota is a positive count per min or day, e.g. 100/min or 10000/day, not "0/min"',
      ],
      [
        ['--api', audience, '--expires', 'soon'],
        '--expires must be a duration such as 0, 90s, 15m, 24h or 7d, not "soon"',
      ],
    ];
    const subs = ['show', 'revoke', 'rotate', 'usage'];
    // In parallel: each is a CLI process.
    const [created, unknown] = await Promise.all([
      Promise.all(cases.map(([args]) => tessera(['api-keys', 'create', '--name', name, ...args]))),
      Promise.all(subs.map((sub) => tessera(['api-keys', sub, 'not-a-key-id']))),
    ]);
    cases.forEach(([args, message], i) => {
      expect(created[i]!.code, args.join(' ')).toBe(2);
      expect(created[i]!.stderr.trim(), args.join(' ')).toBe(`tessera: ${message}`);
    });
    subs.forEach((sub, i) => {
      expect(unknown[i]!.code, sub).toBe(2);
      expect(unknown[i]!.stderr.trim()).toBe('tessera: no API key has id not-a-key-id');
    });
    expect((await tessera(['api-keys', 'list', '--api', audience])).stdout).not.toContain(name);
  });
});

describe('introspection of a key', () => {
  it("answers the API's own client with the key's claims", async () => {
    const created = await createKey(['--scope', 'orders:read orders:write', '--client', owner.id, '--expires', '90d']);
    const { status, body } = await introspect(apiClient, created.value);
    expect(status).toBe(200);
    expect(body).toEqual({
      active: true,
      token_type: 'api_key',
      scope: 'orders:read orders:write',
      aud: audience,
      sub: owner.id,
      client_id: owner.id,
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect((body.exp as number) - (body.iat as number)).toBeGreaterThanOrEqual(90 * 86_400 - 5);
  });

  it("names a user's key by the user's id, and is read by oauth4webapi", async () => {
    const user = await createUser();
    const created = await createKey(['--scope', 'orders:read', '--user', user.email]);
    const userId = (await tesseraJson<{ id: string }>(['users', 'show', user.email])).id;
    const res = await oauth.introspectionRequest(as, apiClient.client, apiClient.auth, created.value, options);
    const answer = await oauth.processIntrospectionResponse(as, apiClient.client, res);
    expect(answer).toMatchObject({ active: true, sub: userId, aud: audience, token_type: 'api_key' });
    expect(answer.exp).toBeUndefined();
  });

  it("is inactive to another API's client and to the key's own owner", async () => {
    const created = await createKey(['--scope', 'orders:read', '--client', owner.id]);
    expect((await introspect(otherApiClient, created.value)).body).toEqual({ active: false });
    expect((await introspect(owner, created.value)).body).toEqual({ active: false });
    expect((await introspect(apiClient, created.value)).body.active).toBe(true);
  });

  it('refuses mistyped, truncated and made-up keys by their checksum, without a database statement', async () => {
    const [created, unseen] = await Promise.all([createKey([]), createKey([])]);
    // Warm the client catalog, so that what is counted below is the key's cost alone. A key not
    // seen before costs its lookup (the control: the count is taken); one seen before is answered
    // from memory (src/cache/api-keys.ts), as a JWT is.
    await introspect(apiClient, created.value);
    const control = randomUUID();
    expect((await introspect(apiClient, unseen.value, control)).body.active).toBe(true);
    expect(server.db.statements.request(control)?.statements).toBeGreaterThan(0);
    const cached = randomUUID();
    expect((await introspect(apiClient, created.value, cached)).body.active).toBe(true);
    expect(server.db.statements.request(cached)).toMatchObject({ statements: 0, commits: 0 });
    const flipped = created.value.slice(0, 10) + (created.value[10] === 'a' ? 'b' : 'a') + created.value.slice(11);
    const forged = `tsk_${'A'.repeat(49)}`;
    for (const bad of [
      flipped,
      created.value.slice(0, -1),
      `${created.value}x`,
      forged,
      'tsk_',
      created.value.toLowerCase(),
    ]) {
      const id = randomUUID();
      const { status, body } = await introspect(apiClient, bad, id);
      expect(status).toBe(200);
      expect(body).toEqual({ active: false });
      expect(server.db.statements.request(id), bad).toMatchObject({ statements: 0, commits: 0 });
    }
  });

  it('answers hostile values as inactive, never with a server error', async () => {
    for (const bad of [
      'tsk_\u0000abc',
      `tsk_${'x'.repeat(50_000)}`,
      'tsk_é🙂',
      'tsk_%00',
      `tsk_${"' OR 1=1 --".repeat(5)}`,
    ]) {
      const { status, body } = await introspect(apiClient, bad);
      expect(status, bad.slice(0, 20)).toBeLessThan(500);
      if (status === 200) expect(body).toEqual({ active: false });
    }
  });

  it('is refused after revocation, though the server had it in memory', async () => {
    const created = await createKey([]);
    expect((await introspect(apiClient, created.value)).body.active).toBe(true);
    const revoked = await tesseraJson<{ revoked_at: string | null }>(['api-keys', 'revoke', created.id]);
    expect(revoked.revoked_at).not.toBeNull();
    // Another process (the CLI) revoked it: the change notification reaches the server within
    // milliseconds, and from then on the key is inactive.
    await eventually(async () => expect((await introspect(apiClient, created.value)).body).toEqual({ active: false }));
    // Revoked keys cannot be rotated back to life.
    const rotated = await tessera(['api-keys', 'rotate', created.id]);
    expect(rotated.code).toBe(2);
    expect(rotated.stderr.trim()).toBe(`tessera: API key ${created.id} is revoked`);
  });

  it('rotates: old and new work during the grace, only the new one after it', async () => {
    const created = await createKey([]);
    const rotated = await tesseraJson<Created & { previous_valid_until: string }>([
      'api-keys',
      'rotate',
      created.id,
      '--grace',
      '20s',
    ]);
    expect(rotated.value).not.toBe(created.value);
    expect(rotated.key).toBe(`tsk_…${rotated.value.slice(-4)}`);
    expect((await introspect(apiClient, rotated.value)).body.active).toBe(true);
    expect((await introspect(apiClient, created.value)).body).toMatchObject({
      active: true,
      exp: Math.floor(Date.parse(rotated.previous_valid_until) / 1000),
    });
    // The grace ends (the database's clock decides).
    await eventually(async () => expect((await introspect(apiClient, created.value)).body).toEqual({ active: false }), {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    expect((await introspect(apiClient, rotated.value)).body.active).toBe(true);

    // Without a grace the old value stops at once.
    const again = await tesseraJson<Created>(['api-keys', 'rotate', created.id]);
    await eventually(async () => expect((await introspect(apiClient, rotated.value)).body).toEqual({ active: false }));
    expect((await introspect(apiClient, again.value)).body.active).toBe(true);
  });
});

describe('usage and quota', () => {
  it('counts each introspection per day, with the last address, in batches', async () => {
    const created = await createKey([]);
    for (let i = 0; i < 3; i++) expect((await introspect(apiClient, created.value)).body.active).toBe(true);
    // Another API's client learns nothing, and its attempt is not the key's use.
    await introspect(otherApiClient, created.value);
    const today = new Date().toISOString().slice(0, 10);
    // Every answer, even one polled while the meter flushes, is one snapshot: requests counted
    // come with the last use that counted them (a report once showed 3 requests and no address).
    const torn: unknown[] = [];
    const usage = await eventually(
      async () => {
        const u = await tesseraJson<{ days: { day: string; requests: number }[]; last_used_ip: string | null }>([
          'api-keys',
          'usage',
          created.id,
          '--since',
          '1d',
        ]);
        if (u.days.length > 0 && u.last_used_ip === null) torn.push(u);
        expect(u.days).toEqual([{ day: today, requests: 3 }]);
        return u;
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    expect(torn).toEqual([]);
    expect(usage.last_used_ip).toBe('127.0.0.1');
    const text = await tessera(['api-keys', 'usage', created.id]);
    expect(text.stdout).toContain(`${today}  3`);
  });

  it('answers inactive with a reason once the quota is spent, and concurrent requests never overspend it', async () => {
    const created = await createKey(['--quota', '5/min,1000/day']);
    const answers = await Promise.all(Array.from({ length: 25 }, () => introspect(apiClient, created.value)));
    const active = answers.filter((a) => a.body.active === true);
    // One process: exactly the quota (across replicas, batched-quota.ts's bound adds what the
    // others served in their last flush period).
    expect(active).toHaveLength(5);
    for (const a of answers.filter((x) => x.body.active !== true)) {
      expect(a.body).toEqual({ active: false, reason: 'quota_exceeded', retry_after: expect.any(Number) });
      expect(a.body.retry_after as number).toBeGreaterThan(0);
      expect(a.body.retry_after as number).toBeLessThanOrEqual(60);
    }
    // Another API's client is not told why.
    expect((await introspect(otherApiClient, created.value)).body).toEqual({ active: false });
  });
});

describe('the resource-server kit', () => {
  let api: ProtectedApi;
  beforeAll(async () => {
    api = await startProtectedApi('koa', {
      issuer: server.issuer,
      audience,
      introspection: { clientId: apiClient.id, clientSecret: apiClient.secret, cacheTtl: 0 },
      apiKeys: { header: 'x-api-key' },
    });
  });
  afterAll(() => api?.close());

  it('accepts a key as a Bearer token and in the configured header, beside JWTs', async () => {
    const created = await createKey(['--scope', 'orders:read', '--client', owner.id]);
    const expected = {
      status: 200,
      wwwAuthenticate: null,
      body: { sub: owner.id, scopes: ['orders:read'], scheme: 'Bearer' },
    };
    expect(await call(`${api.url}/orders`, { authorization: `Bearer ${created.value}` })).toEqual(expected);
    expect(await call(`${api.url}/orders`, { 'x-api-key': created.value })).toEqual(expected);
    // The same route still takes Tessera's JWT access tokens.
    const res = await oauth.clientCredentialsGrantRequest(
      as,
      owner.client,
      owner.auth,
      new URLSearchParams({ scope: 'orders:read', resource: audience }),
      options,
    );
    const at = (await oauth.processClientCredentialsResponse(as, owner.client, res)).access_token;
    expect((await call(`${api.url}/orders`, { authorization: `Bearer ${at}` })).status).toBe(200);
  });

  it('refuses missing scopes, revoked and malformed keys, and a key with an Authorization header', async () => {
    const created = await createKey(['--scope', 'orders:read']);
    expect(await call(`${api.url}/orders`, { 'x-api-key': created.value }, 'POST')).toMatchObject({
      status: 403,
      body: {
        error: 'insufficient_scope',
        error_description: 'this resource needs the scope orders:write',
        scope: 'orders:write',
      },
    });
    expect(
      await call(`${api.url}/orders`, { 'x-api-key': created.value, authorization: `Bearer ${created.value}` }),
    ).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    for (const bad of [created.value.slice(0, -2), 'tsk_!!', 'not-a-key']) {
      expect(await call(`${api.url}/orders`, { 'x-api-key': bad }), bad).toMatchObject({
        status: 401,
        body: { error: 'invalid_token' },
      });
    }
    await tesseraJson(['api-keys', 'revoke', created.id]);
    await eventually(async () =>
      expect(await call(`${api.url}/orders`, { authorization: `Bearer ${created.value}` })).toMatchObject({
        status: 401,
        body: { error: 'invalid_token', error_description: 'the API key is not active' },
      }),
    );
  });

  it("refuses another API's key", async () => {
    const foreign = await tesseraJson<Created>([
      'api-keys',
      'create',
      '--name',
      randomId('key'),
      '--api',
      otherAudience,
      '--scope',
      'orders:read',
    ]);
    expect(await call(`${api.url}/orders`, { 'x-api-key': foreign.value })).toMatchObject({ status: 401 });
  });

  it('answers 429 with Retry-After once the quota is spent', async () => {
    const created = await createKey(['--scope', 'orders:read', '--quota', '2/min']);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${api.url}/orders`, { headers: { 'x-api-key': created.value } });
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        expect(await res.json()).toEqual({
          error: 'quota_exceeded',
          error_description: 'the API key has used up its quota',
        });
      } else await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  });
});

describe('the seed file', () => {
  it('declares a key whose value comes from the environment; applied twice, changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-seed-keys-'));
    try {
      const name = randomId('seeded');
      const value = generateApiKey(Buffer.alloc(32)).value;
      const file = join(dir, 'seed.yaml');
      writeFileSync(
        file,
        [
          'api_keys:',
          `  - name: ${name}`,
          `    api: ${audience}`,
          '    scopes: orders:read',
          `    client: ${owner.id}`,
          '    quota: { per_minute: 100 }',
          '    key: { env: TESSERA_SEED_PARTNER_KEY }',
        ].join('\n'),
      );
      const [first, mistyped] = await Promise.all([
        tesseraJson(['seed', file], { TESSERA_SEED_PARTNER_KEY: value }),
        tessera(['seed', file], { env: { TESSERA_SEED_PARTNER_KEY: `${value.slice(0, -1)}x` } }),
      ]);
      expect(first).toEqual({ apis: {}, clients: {}, users: {}, api_keys: { [`${audience} ${name}`]: 'created' } });
      // A value that is not a key (its checksum fails) is refused before anything is written.
      expect(mistyped.code).toBe(2);
      expect(mistyped.stderr.trim()).toBe(
        `tessera: API key ${name}: TESSERA_SEED_PARTNER_KEY does not hold a Tessera API key (generate one with tessera api-keys create)`,
      );
      expect(await tesseraJson(['seed', file], { TESSERA_SEED_PARTNER_KEY: value })).toEqual({
        apis: {},
        clients: {},
        users: {},
        api_keys: { [`${audience} ${name}`]: 'unchanged' },
      });
      expect((await introspect(apiClient, value)).body).toMatchObject({
        active: true,
        sub: owner.id,
        scope: 'orders:read',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
