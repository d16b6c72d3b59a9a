// The admin API's operations on who may do what (README "Admin API"): roles (RBAC) and their
// assignment to users and clients, organizations with their settings, members and roles, and API
// keys, each over real HTTP with an admin token from client credentials, with the effect checked
// where it shows (introspection of a created, rotated and revoked key), the audit trail naming
// the caller, and a token without the group's write scope refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../setup/eventually.ts';
import { adminCaller, adminToken, createAdminClient, type AdminClient } from '../setup/admin.ts';
import { randomId, startTestServer, type TestServer } from '../setup/tessera.ts';
import { basic, createApi, createClient, createUser, type Registered } from '../hardening/support.ts';

let server: TestServer;
let admin: AdminClient;
let reader: AdminClient;

beforeAll(async () => {
  server = await startTestServer();
  // Every scope, and a client that may only read what these groups hold.
  [admin, reader] = await Promise.all([
    createAdminClient(),
    createAdminClient(['admin:roles:read', 'admin:orgs:read', 'admin:api_keys:read']),
  ]);
  // Each step is a CLI process: slow on a loaded machine.
}, 180_000);
afterAll(() => server?.close());

/** A caller with a fresh token: admin tokens live five minutes, longer than a loaded run's test. */
const caller = async (client: AdminClient = admin) =>
  adminCaller(server.issuer, await adminToken(server.issuer, client));

const problem = (status: number, error: string, detail: string) => ({
  type: `urn:tessera:problem:${error}`,
  title: expect.any(String),
  status,
  detail,
  error,
  error_description: detail,
});

async function expectRefused(method: string, path: string, scope: string, body?: unknown) {
  const call = await caller(reader);
  const res = await call(method, path, body === undefined ? {} : { body });
  expect(res.status).toBe(403);
  expect(res.body).toEqual(problem(403, 'insufficient_scope', `this call needs the scope ${scope}`));
  expect(res.headers.get('www-authenticate')).toContain(`scope="${scope}"`);
}

/** The latest audit event of this type about `subject`: who the trail says did it. */
async function auditedActor(type: string, subject: string): Promise<unknown> {
  const call = await caller();
  const { body } = await call<{ items: { actor: string }[] }>(
    'GET',
    `/audit-events?type=${type}&subject=${encodeURIComponent(subject)}&limit=1`,
  );
  return body.items[0]?.actor;
}

describe('roles', () => {
  it('creates, pages, grants and revokes permissions, assigns to a user and a client, deletes', async () => {
    const call = await caller();
    const audience = await createApi('reports:read reports:write');
    const name = randomId('auditors');
    const created = await call('POST', '/roles', {
      body: { name, description: 'read reports', permissions: [{ api: audience, scope: 'reports:read' }] },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { name, description: 'read reports', permissions: [{ api: audience, scope: 'reports:read' }] },
    });
    expect(created.headers.get('location')).toBe(`/admin/v1/roles/${name}`);
    expect(await auditedActor('role.created', name)).toBe(`client:${admin.client_id}`);
    expect(await call('POST', '/roles', { body: { name } })).toMatchObject({
      status: 409,
      body: { error: 'conflict' },
    });

    // Pages of one: the new role is on one of them, and no page repeats another's.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=1&cursor=${cursor}` : '?limit=1';
      const { body } = await call<{ items: { name: string }[]; next_cursor: string | null }>('GET', `/roles${query}`);
      expect(body.items.length).toBeLessThanOrEqual(1);
      seen.push(...body.items.map((r) => r.name));
      cursor = body.next_cursor;
    } while (cursor && seen.length < 1000);
    expect(seen).toContain(name);
    expect(new Set(seen).size).toBe(seen.length);

    expect(
      await call('POST', `/roles/${name}/permissions`, { body: { api: audience, scope: 'reports:write' } }),
    ).toMatchObject({
      status: 200,
      body: {
        permissions: [
          { api: audience, scope: 'reports:read' },
          { api: audience, scope: 'reports:write' },
        ],
      },
    });
    const q = new URLSearchParams({ api: audience, scope: 'reports:read' });
    expect((await call('DELETE', `/roles/${name}/permissions?${q}`)).status).toBe(204);

    const user = await createUser();
    const client = await createClient(['--grant-types', 'client_credentials', '--api', audience]);
    expect(
      await call('POST', `/users/${encodeURIComponent(user.email)}/roles`, { body: { role: name } }),
    ).toMatchObject({ status: 200, body: { user: user.email, roles: [name] } });
    expect(await call('POST', `/clients/${client.client_id}/roles`, { body: { role: name } })).toMatchObject({
      status: 200,
      body: { client: client.client_id, roles: [name] },
    });
    expect((await call('GET', `/roles/${name}`)).body).toMatchObject({
      permissions: [{ api: audience, scope: 'reports:write' }],
      users: [user.email],
      clients: [client.client_id],
    });
    expect((await call('DELETE', `/users/${encodeURIComponent(user.email)}/roles/${name}`)).status).toBe(204);
    expect((await call('DELETE', `/clients/${client.client_id}/roles/${name}`)).status).toBe(204);
    expect((await call('GET', `/roles/${name}`)).body).toMatchObject({ users: [], clients: [] });
    expect(await call('DELETE', `/clients/${client.client_id}/roles/${name}`)).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });

    await expectRefused('POST', '/roles', 'admin:roles:write', { name: randomId('nope') });
    await expectRefused('POST', `/users/${encodeURIComponent(user.email)}/roles`, 'admin:roles:write', {
      role: name,
    });
    // The reader may read.
    expect((await (await caller(reader))('GET', `/roles/${name}`)).status).toBe(200);

    expect((await call('DELETE', `/roles/${name}`)).status).toBe(204);
    expect(await call('GET', `/roles/${name}`)).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await auditedActor('role.deleted', name)).toBe(`client:${admin.client_id}`);
  });
});

describe('organizations', () => {
  it('creates once per Idempotency-Key, updates settings under If-Match, manages members and roles', async () => {
    const call = await caller();
    const audience = await createApi('tickets:read tickets:write');
    const name = randomId('acme')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-');
    const body = { name, display_name: 'Acme', allowed_email_domains: ['acme.example.test'] };
    const key = { 'idempotency-key': randomId('org') };
    const created = await call<{ id: string }>('POST', '/organizations', { body, headers: key });
    expect(created).toMatchObject({
      status: 201,
      body: { name, display_name: 'Acme', allowed_email_domains: ['acme.example.test'], mfa_required: false },
    });
    const replay = await call('POST', '/organizations', { body, headers: key });
    expect(replay).toMatchObject({ status: 201, body: created.body });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const id = created.body.id;
    expect(await auditedActor('organization.created', id)).toBe(`client:${admin.client_id}`);

    const shown = await call('GET', `/organizations/${name}`);
    const etag = shown.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-z]+"$/);
    expect(shown.body).toMatchObject({ id, roles: [], members: [] });

    const change = { mfa_required: true, allowed_email_domains: ['acme.example.test', 'acme-eu.example.test'] };
    expect(await call('PATCH', `/organizations/${id}`, { body: change })).toMatchObject({
      status: 428,
      body: { error: 'precondition_required' },
    });
    const updated = await call('PATCH', `/organizations/${id}`, { body: change, headers: { 'if-match': etag } });
    expect(updated).toMatchObject({
      status: 200,
      body: {
        mfa_required: true,
        allowed_email_domains: ['acme-eu.example.test', 'acme.example.test'],
        changed: ['allowed_email_domains', 'mfa_required'],
      },
    });
    expect(updated.headers.get('etag')).not.toBe(etag);
    // A second admin who read before the change does not overwrite it.
    expect(
      await call('PATCH', `/organizations/${id}`, { body: { mfa_required: false }, headers: { 'if-match': etag } }),
    ).toMatchObject({ status: 412, body: { error: 'precondition_failed' } });
    // Two admins who read the same version at once: exactly one of them changes it.
    const current = { 'if-match': updated.headers.get('etag')! };
    const racing = await Promise.all(
      ['Acme A', 'Acme B', 'Acme C'].map((display_name) =>
        call('PATCH', `/organizations/${id}`, { body: { display_name }, headers: current }),
      ),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([200, 412, 412]);
    expect(
      await call('PATCH', `/organizations/${id}`, {
        body: { allowed_email_domains: ['not a domain'] },
        headers: { 'if-match': '*' },
      }),
    ).toMatchObject({ status: 400, body: { error: 'invalid_request' } });

    const user = await createUser();
    expect(await call('POST', `/organizations/${name}/members`, { body: { user: user.email } })).toMatchObject({
      status: 200,
      body: { added: true },
    });
    expect(
      await call('POST', `/organizations/${name}/roles`, {
        body: { name: 'agent', permissions: [{ api: audience, scope: 'tickets:read tickets:write' }] },
      }),
    ).toMatchObject({ status: 201, body: { name: 'agent' } });
    const member = `/organizations/${name}/members/${encodeURIComponent(user.email)}`;
    expect(await call('POST', `${member}/roles`, { body: { role: 'agent' } })).toMatchObject({
      status: 200,
      body: { assigned: true },
    });
    expect((await call('GET', `/organizations/${id}`)).body).toMatchObject({
      roles: [
        {
          name: 'agent',
          permissions: [
            { audience, scope: 'tickets:read' },
            { audience, scope: 'tickets:write' },
          ],
        },
      ],
      members: [{ email: user.email, roles: ['agent'] }],
    });
    expect((await call('DELETE', `${member}/roles/agent`)).status).toBe(204);
    expect((await call('DELETE', member)).status).toBe(204);
    expect((await call('DELETE', `/organizations/${name}/roles/agent`)).status).toBe(204);
    expect((await call('GET', `/organizations/${id}`)).body).toMatchObject({ roles: [], members: [] });

    const { body: list } = await call<{ items: { id: string }[] }>('GET', '/organizations?limit=200');
    expect(list.items.map((o) => o.id)).toContain(id);

    await expectRefused('PATCH', `/organizations/${id}`, 'admin:orgs:write', { mfa_required: false });
    await expectRefused('POST', `/organizations/${name}/members`, 'admin:orgs:write', { user: user.email });

    expect((await call('DELETE', `/organizations/${id}`)).status).toBe(204);
    expect(await call('GET', `/organizations/${id}`)).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });
});

describe('API keys', () => {
  it('creates a key shown once, rotates it, revokes it: introspection follows each step', async () => {
    const call = await caller();
    const audience = await createApi('stock:read stock:write');
    const resourceServer = await createClient([
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'stock:read',
      '--serves',
      audience,
    ]);
    const introspect = async (token: string) => {
      const res = await fetch(`${server.issuer}/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(resourceServer.client_id, (resourceServer as Required<Registered>).client_secret),
        },
        body: new URLSearchParams({ token }),
      });
      return (await res.json()) as Record<string, unknown>;
    };

    const created = await call<{ id: string; value: string; key: string }>('POST', '/api-keys', {
      body: { name: 'warehouse', api: audience, scope: 'stock:read', expires_in: 86_400, quota: { per_minute: 100 } },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { name: 'warehouse', api: audience, scopes: ['stock:read'], quota: { per_minute: 100, per_day: null } },
    });
    expect(created.body.value).toMatch(/^tsk_/);
    expect(created.body.key).toBe(`tsk_…${created.body.value.slice(-4)}`);
    expect(await introspect(created.body.value)).toMatchObject({ active: true, aud: audience, scope: 'stock:read' });
    expect(await auditedActor('api_key.created', created.body.id)).toBe(`client:${admin.client_id}`);

    // Shown once: neither the key nor the list has the value again.
    const shown = await call('GET', `/api-keys/${created.body.id}`);
    expect(shown.status).toBe(200);
    expect(JSON.stringify(shown.body)).not.toContain(created.body.value);
    const { body: list } = await call<{ items: { id: string }[] }>(
      'GET',
      `/api-keys?api=${encodeURIComponent(audience)}`,
    );
    expect(list.items.map((k) => k.id)).toEqual([created.body.id]);
    expect(JSON.stringify(list)).not.toContain(created.body.value);

    const rotated = await call<{ value: string }>('POST', `/api-keys/${created.body.id}/rotate`, {
      body: { grace_seconds: 0 },
    });
    expect(rotated.status).toBe(201);
    expect(rotated.body.value).not.toBe(created.body.value);
    expect(await introspect(rotated.body.value)).toMatchObject({ active: true });
    expect(await introspect(created.body.value)).toEqual({ active: false });

    // Introspection counts the key's uses (written after the answer: eventually).
    await eventually(
      async () => {
        const usage = await call<{ days: { requests: number }[]; last_used_at: string | null }>(
          'GET',
          `/api-keys/${created.body.id}/usage`,
        );
        expect(usage.status).toBe(200);
        expect(usage.body.days.reduce((n, d) => n + d.requests, 0)).toBeGreaterThanOrEqual(1);
        expect(usage.body.last_used_at).toEqual(expect.any(String));
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );

    await expectRefused('POST', `/api-keys/${created.body.id}/revoke`, 'admin:api_keys:write');
    expect(await introspect(rotated.body.value)).toMatchObject({ active: true });

    expect(await call('POST', `/api-keys/${created.body.id}/revoke`)).toMatchObject({
      status: 200,
      body: { revoked_at: expect.any(String) },
    });
    expect(await introspect(rotated.body.value)).toEqual({ active: false });
    expect(await call('POST', `/api-keys/${created.body.id}/rotate`, { body: {} })).toMatchObject({
      status: 409,
      body: { error: 'conflict' },
    });
    expect(await call('GET', '/api-keys/not-a-key')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    await expectRefused('POST', '/api-keys', 'admin:api_keys:write', { name: 'x', api: audience });
  });
});

// The tests below run a CLI process or two each: slow on a loaded machine.
describe("a user's password and second factors", () => {
  it('sets a password under the policy (never recorded), lists and resets the second factors', async () => {
    const call = await caller();
    const user = await createUser();
    const at = `/users/${encodeURIComponent(user.email)}`;
    expect(await call('POST', `${at}/password`, { body: { password: 'short' } })).toMatchObject({
      status: 400,
      body: problem(400, 'invalid_request', 'Use at least 12 characters.'),
    });
    const password = `${randomId('a fresh long password')}`;
    const set = await call<{ id: string; has_password: boolean }>('POST', `${at}/password`, { body: { password } });
    expect(set).toMatchObject({ status: 200, body: { email: user.email, has_password: true } });
    expect(set.headers.get('etag')).toMatch(/^"[0-9a-z]+"$/);
    expect(await auditedActor('user.password_set', set.body.id)).toBe(`client:${admin.client_id}`);
    // The call is in the trail (admin.call), its body is not.
    const { body: calls } = await call<{ items: unknown[] }>(
      'GET',
      '/audit-events?type=admin.call&subject=setUserPassword&limit=10',
    );
    expect(calls.items.length).toBeGreaterThan(0);
    expect(JSON.stringify(calls)).not.toContain(password);
    expect(await call('POST', `${at}/password`, { body: { password, extra: 1 } })).toMatchObject({ status: 400 });
    expect(await call('POST', '/users/nobody@example.test/password', { body: { password } })).toMatchObject({
      status: 404,
      body: problem(404, 'not_found', 'no user nobody@example.test'),
    });

    expect(await call('GET', `${at}/mfa`)).toMatchObject({
      status: 200,
      body: { user_id: set.body.id, email: user.email, factors: [] },
    });
    expect(await call('DELETE', `${at}/mfa`)).toMatchObject({
      status: 200,
      body: { user_id: set.body.id, email: user.email, totp: false, recovery_codes: 0 },
    });
    expect(await auditedActor('mfa.reset', set.body.id)).toBe(`client:${admin.client_id}`);

    await expectRefused('POST', `${at}/password`, 'admin:users:write', { password });
    await expectRefused('GET', `${at}/mfa`, 'admin:users:read');
    await expectRefused('DELETE', `${at}/mfa`, 'admin:users:write');
  }, 120_000);
});

describe('webhooks', () => {
  it('creates once per Idempotency-Key with the secret in that answer only, rotates it, lists, deletes', async () => {
    const call = await caller();
    const body = { url: `https://${randomId('hooks')}.example.test/in`, events: ['user.created'], description: 'ci' };
    const key = { 'idempotency-key': randomId('hook') };
    const created = await call<{ id: string; secret: string }>('POST', '/webhooks', { body, headers: key });
    expect(created).toMatchObject({
      status: 201,
      body: { url: body.url, events: ['user.created'], description: 'ci', secret: expect.stringMatching(/^whsec_/) },
    });
    expect(created.headers.get('location')).toBe(`/admin/v1/webhooks/${created.body.id}`);
    const again = await call<{ id: string; secret: string }>('POST', '/webhooks', { body, headers: key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(created.body);
    expect(await auditedActor('webhook.created', created.body.id)).toBe(`client:${admin.client_id}`);

    // Shown once: neither the hook nor the list has the secret again.
    const shown = await call('GET', `/webhooks/${created.body.id}`);
    expect(shown).toMatchObject({ status: 200, body: { id: created.body.id, secret_rotated_at: null } });
    const { body: list } = await call<{ items: { id: string }[]; next_cursor: null }>('GET', '/webhooks');
    expect(list.items.map((h) => h.id)).toContain(created.body.id);
    expect(list.next_cursor).toBeNull();
    expect(JSON.stringify([shown.body, list])).not.toContain(created.body.secret);

    const rotated = await call<{ secret: string; previous_secret_valid_until: string }>(
      'POST',
      `/webhooks/${created.body.id}/secrets`,
      { body: { overlap_seconds: 60 } },
    );
    expect(rotated).toMatchObject({ status: 201, body: { secret: expect.stringMatching(/^whsec_/) } });
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(await call('GET', `/webhook-deliveries?webhook=${created.body.id}&status=pending`)).toMatchObject({
      status: 200,
      body: { items: [], next_cursor: null },
    });
    expect(await call('GET', '/webhook-deliveries?status=lost')).toMatchObject({ status: 400 });
    expect(await call('POST', '/webhooks', { body: { ...body, url: 'ftp://example.test/x' } })).toMatchObject({
      status: 400,
      body: problem(400, 'invalid_request', '--url must be an http(s) URL'),
    });
    expect(await call('POST', '/webhook-deliveries/00000000-0000-0000-0000-000000000000/redeliver')).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });

    await expectRefused('GET', '/webhooks', 'admin:webhooks:read');
    await expectRefused('POST', '/webhooks', 'admin:webhooks:write', body);
    await expectRefused('DELETE', `/webhooks/${created.body.id}`, 'admin:webhooks:write');
    expect(await call('DELETE', `/webhooks/${created.body.id}`)).toMatchObject({ status: 204 });
    expect(await call('GET', `/webhooks/${created.body.id}`)).toMatchObject({ status: 404 });
  }, 120_000);
});

describe('dynamic client registration', () => {
  it('issues an initial access token in that answer only, lists and revokes it; approval of a client', async () => {
    const call = await caller();
    const created = await call<{ id: string; token: string; max_uses: number; expires_at: string }>(
      'POST',
      '/dcr/initial-tokens',
      { body: { max_uses: 3, expires_in: 3600, description: 'ci' } },
    );
    expect(created).toMatchObject({ status: 201, body: { max_uses: 3, token: expect.any(String) } });
    expect(Math.abs(Date.parse(created.body.expires_at) - Date.now() - 3_600_000)).toBeLessThan(60_000);
    expect(await auditedActor('dcr.token_created', created.body.id)).toBe(`client:${admin.client_id}`);
    const { body: list } = await call<{ items: { id: string }[] }>('GET', '/dcr/initial-tokens');
    expect(list.items.find((t) => t.id === created.body.id)).toEqual({
      id: created.body.id,
      description: 'ci',
      uses: 0,
      max_uses: 3,
      expires_at: created.body.expires_at,
      revoked_at: null,
    });
    expect(JSON.stringify(list)).not.toContain(created.body.token);
    expect(await call('POST', '/dcr/initial-tokens', { body: { max_uses: 0 } })).toMatchObject({ status: 400 });

    await expectRefused('GET', '/dcr/initial-tokens', 'admin:dcr:read');
    await expectRefused('DELETE', `/dcr/initial-tokens/${created.body.id}`, 'admin:dcr:write');
    expect(await call('DELETE', `/dcr/initial-tokens/${created.body.id}`)).toMatchObject({ status: 204 });
    expect(await call('DELETE', `/dcr/initial-tokens/${created.body.id}`)).toMatchObject({
      status: 404,
      body: problem(404, 'not_found', `no live initial access token has id ${created.body.id}`),
    });
    expect(await auditedActor('dcr.token_revoked', created.body.id)).toBe(`client:${admin.client_id}`);
    // Only a self-registered client can be approved (one registered by DCR: dynamic-registration.test.ts).
    const ordinary = await createClient(['--public', '--grant-types', 'device_code', '--scope', 'openid']);
    expect(await call('POST', `/clients/${ordinary.client_id}/approval`)).toMatchObject({
      status: 404,
      body: problem(404, 'not_found', `no self-registered client has id ${ordinary.client_id}`),
    });
    await expectRefused('POST', `/clients/${ordinary.client_id}/approval`, 'admin:dcr:write');
  }, 120_000);
});
