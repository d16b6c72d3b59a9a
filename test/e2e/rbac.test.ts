// Roles and permissions (RBAC) end to end: an API that enforces roles, a role billing-admin
// that grants refunds:write, users and clients with and without it, driven by oauth4webapi and
// openid-client, and the resource-server kit refusing a token without the permission.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import Koa from 'koa';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceServer } from '../../src/resource-server/index.ts';
import { requireTokenKoa } from '../../src/resource-server/koa.ts';
import { call } from '../resource-server/apps.ts';
import { eventually } from '../setup/eventually.ts';
import { approveDevice, form } from '../hardening/device-approval.ts';
import { authorize, newJar } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const REDIRECT = 'https://billing-app.example.test/callback';
const PASSWORD = 'correct horse battery';
const options = { [oauth.allowInsecureRequests]: true };
// Each test drives the CLI several times (a process each, seconds apiece on a loaded machine).
const SLOW = { timeout: 180_000 };

let server: TestServer;
let as: oauth.AuthorizationServer;
let audience: string;
let admin: string;
let viewer: string;

beforeAll(async () => {
  server = await startTestServer();
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  audience = `https://${randomId('billing')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'refunds:read refunds:write invoices:read']);
  const updated = await tesseraJson([
    'apis',
    'update',
    audience,
    '--rbac',
    'enforce',
    '--token-claims',
    'roles,permissions',
  ]);
  expect(updated).toEqual({ audience, rbac: 'enforce', token_claims: ['permissions', 'roles'] });
  admin = randomId('billing-admin');
  viewer = randomId('billing-viewer');
  await tesseraJson([
    'roles',
    'create',
    admin,
    '--description',
    'may refund',
    '--api',
    audience,
    '--scope',
    'refunds:read refunds:write',
  ]);
  await tesseraJson(['roles', 'create', viewer, '--api', audience, '--scope', 'refunds:read']);
}, 300_000);
afterAll(() => server?.close());

async function newUser(...roles: string[]) {
  const email = `${randomId('rbac')}@example.test`;
  expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: PASSWORD })).code).toBe(0);
  for (const role of roles) await tesseraJson(['users', 'assign-role', email, '--role', role]);
  return { email, password: PASSWORD };
}

async function webClient(extra: string[] = []) {
  const created = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Billing',
    '--grant-types',
    'authorization_code,refresh_token',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid offline_access refunds:read refunds:write',
    ...extra,
  ]);
  return { client: { client_id: created.client_id } as oauth.Client, secret: created.client_secret };
}

/** Signs the user in (approving consent when asked) and returns the callback URL. */
async function signIn(app: Awaited<ReturnType<typeof webClient>>, user: { email: string; password: string }) {
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: app.client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid offline_access refunds:read refunds:write',
    // oidc-provider issues a refresh token (offline_access) only with a consent prompt.
    prompt: 'consent',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  return { callback: await authorize(url, user), verifier };
}

async function tokensFor(app: Awaited<ReturnType<typeof webClient>>, user: { email: string; password: string }) {
  const { callback, verifier } = await signIn(app, user);
  const auth = oauth.ClientSecretBasic(app.secret);
  const params = oauth.validateAuthResponse(as, app.client, callback, oauth.expectNoState);
  const response = await oauth.authorizationCodeGrantRequest(as, app.client, auth, params, REDIRECT, verifier, options);
  return oauth.processAuthorizationCodeResponse(as, app.client, response);
}

async function refresh(app: Awaited<ReturnType<typeof webClient>>, refreshToken: string) {
  const response = await oauth.refreshTokenGrantRequest(
    as,
    app.client,
    oauth.ClientSecretBasic(app.secret),
    refreshToken,
    options,
  );
  return oauth.processRefreshTokenResponse(as, app.client, response);
}

describe('user tokens under RBAC', SLOW, () => {
  it('gives refunds:write to a billing-admin, and not to a user without the role', async () => {
    const app = await webClient();
    const withRole = await tokensFor(app, await newUser(admin));
    expect(withRole.scope?.split(' ').sort()).toEqual(['offline_access', 'openid', 'refunds:read', 'refunds:write']);
    expect(decodeJwt(withRole.access_token)).toMatchObject({
      aud: expect.arrayContaining([audience]),
      roles: [admin],
      permissions: ['refunds:read', 'refunds:write'],
    });

    // RFC 6749 §3.3: the request succeeds with fewer scopes, and `scope` says which.
    const without = await tokensFor(app, await newUser());
    expect(without.scope?.split(' ').sort()).toEqual(['offline_access', 'openid']);
    expect(decodeJwt(without.access_token)).toMatchObject({ roles: [], permissions: [] });

    const readOnly = await tokensFor(app, await newUser(viewer));
    expect(readOnly.scope?.split(' ').sort()).toEqual(['offline_access', 'openid', 'refunds:read']);
  });

  it('issues the smaller set at the first refresh after a role is taken away', async () => {
    const app = await webClient();
    const user = await newUser(admin, viewer);
    const first = await tokensFor(app, user);
    expect(first.scope).toContain('refunds:write');

    await tesseraJson(['users', 'remove-role', user.email, '--role', admin]);
    const refreshed = await refresh(app, first.refresh_token!);
    expect(refreshed.scope?.split(' ').sort()).toEqual(['offline_access', 'openid', 'refunds:read']);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ roles: [viewer], permissions: ['refunds:read'] });

    // Given back, the refresh token (which kept what was consented) carries it again.
    await tesseraJson(['users', 'assign-role', user.email, '--role', admin]);
    const again = await refresh(app, refreshed.refresh_token!);
    expect(again.scope).toContain('refunds:write');
  });

  it('introspects a refresh token with what its roles grant now, and inactive once its user is disabled', async () => {
    const app = await webClient();
    const user = await newUser(admin);
    const first = await tokensFor(app, user);
    const introspect = async () => {
      const response = await oauth.introspectionRequest(
        as,
        app.client,
        oauth.ClientSecretBasic(app.secret),
        first.refresh_token!,
        options,
      );
      return oauth.processIntrospectionResponse(as, app.client, response);
    };
    expect((await introspect()).scope?.split(' ').sort()).toEqual([
      'offline_access',
      'openid',
      'refunds:read',
      'refunds:write',
    ]);
    // The refresh token still holds what was consented; introspection says what a refresh gets.
    await tesseraJson(['users', 'remove-role', user.email, '--role', admin]);
    const narrowed = await introspect();
    expect(narrowed).toMatchObject({ active: true, client_id: app.client.client_id });
    expect(narrowed.scope?.split(' ').sort()).toEqual(['offline_access', 'openid']);
    await tesseraJson(['users', 'disable', user.email]);
    expect(await introspect()).toEqual({ active: false });
  });

  it("gives a device (RFC 8628) only what the user's roles grant", async () => {
    const device = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'Billing TV',
      '--grant-types',
      'device_code',
      '--public',
      '--api',
      audience,
      '--scope',
      'openid refunds:read refunds:write',
    ]);
    const started = await fetch(
      `${server.issuer}/device/auth`,
      form({ client_id: device.client_id, scope: 'openid refunds:read refunds:write' }),
    ).then((r) => r.json() as Promise<{ device_code: string; verification_uri_complete: string }>);
    await approveDevice(newJar(), server.issuer, started.verification_uri_complete, await newUser(viewer));
    const res = await fetch(
      `${server.issuer}/token`,
      form({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: started.device_code,
        client_id: device.client_id,
      }),
    );
    const tokens = (await res.json()) as { scope: string; access_token: string };
    expect(tokens.scope.split(' ').sort()).toEqual(['openid', 'refunds:read']);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ roles: [viewer], permissions: ['refunds:read'] });
  });

  it('refuses a --rbac-strict client access_denied when the roles do not grant a scope', async () => {
    const app = await webClient(['--rbac-strict']);
    const { callback } = await signIn(app, await newUser(viewer));
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('error_description')).toBe(
      "the user's roles do not grant the requested scope refunds:write",
    );
    // With every requested scope granted, the strict client gets its code.
    const ok = await tokensFor(app, await newUser(admin));
    expect(ok.scope).toContain('refunds:write');
  });

  it('shows on the consent page only what will be granted', async () => {
    const app = await webClient();
    const user = await newUser(viewer);
    const jar = { cookies: new Map<string, string>() };
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: app.client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid refunds:read refunds:write',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    // Sign in through the helper's steps, stopping at the consent page.
    const { get } = await import('../setup/sign-in.ts');
    let res = await get(jar, url.href);
    let location = new URL(res.headers.get('location')!, url).href;
    res = await get(jar, location);
    const html = await res.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const uid = new URL(location).pathname.split('/')[2];
    res = await get(jar, `${server.issuer}/interaction/${uid}/login`, {
      method: 'POST',
      body: new URLSearchParams({ csrf, email: user.email, password: user.password }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    location = new URL(res.headers.get('location')!, url).href;
    for (let hops = 0; hops < 5 && !location.includes('/interaction/'); hops++) {
      res = await get(jar, location);
      location = new URL(res.headers.get('location')!, location).href;
    }
    const consent = await (await get(jar, location)).text();
    expect(consent).toContain('refunds:read');
    expect(consent).not.toContain('refunds:write');
  });
});

describe('client credentials under RBAC', SLOW, () => {
  async function service(extra: string[] = []) {
    const created = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'refunder',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'refunds:read refunds:write',
      ...extra,
    ]);
    const config = await oidc.discovery(
      new URL(server.issuer),
      created.client_id,
      created.client_secret,
      oidc.ClientSecretBasic(created.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    return { id: created.client_id, config };
  }

  it("issues only what the client's roles grant, and follows role changes", async () => {
    const svc = await service();
    // No role: a token without the API's scopes (the default asks for all the client may have).
    const none = await oidc.clientCredentialsGrant(svc.config);
    expect(none.scope).toBeUndefined();
    const named = await oidc.clientCredentialsGrant(svc.config, { scope: 'refunds:read refunds:write' });
    expect(named.scope).toBeUndefined();

    await tesseraJson(['clients', 'assign-role', svc.id, '--role', viewer]);
    // The catalog hears of the change through the notifications (caches.test.ts for the timing).
    await eventually(async () => {
      const tokens = await oidc.clientCredentialsGrant(svc.config, { scope: 'refunds:read refunds:write' });
      expect(tokens.scope).toBe('refunds:read');
      expect(decodeJwt(tokens.access_token)).toMatchObject({
        sub: svc.id,
        roles: [viewer],
        permissions: ['refunds:read'],
      });
    });

    await tesseraJson(['roles', 'grant-permission', viewer, '--api', audience, '--scope', 'invoices:read']);
    await tesseraJson(['clients', 'assign-role', svc.id, '--role', admin]);
    await eventually(async () => {
      const tokens = await oidc.clientCredentialsGrant(svc.config);
      expect(tokens.scope).toBe('refunds:read refunds:write');
    });
    await tesseraJson(['clients', 'remove-role', svc.id, '--role', admin]);
    await eventually(async () => {
      expect((await oidc.clientCredentialsGrant(svc.config)).scope).toBe('refunds:read');
    });
  });

  it('refuses a --rbac-strict client invalid_scope for a scope its roles do not grant', async () => {
    const svc = await service(['--rbac-strict']);
    await tesseraJson(['clients', 'assign-role', svc.id, '--role', viewer]);
    await eventually(async () => {
      const error = await oidc.clientCredentialsGrant(svc.config, { scope: 'refunds:read refunds:write' }).then(
        () => undefined,
        (err: oidc.ResponseBodyError) => err,
      );
      expect(error).toMatchObject({
        error: 'invalid_scope',
        error_description: "the client's roles do not grant the requested scope",
      });
    });
    expect((await oidc.clientCredentialsGrant(svc.config, { scope: 'refunds:read' })).scope).toBe('refunds:read');
  });
});

describe('token exchange (RFC 8693) under RBAC', SLOW, () => {
  it("issues towards an API that enforces roles only what the subject's roles grant there", async () => {
    // A gateway API without RBAC whose tokens carry both scopes, and a client that exchanges them.
    const gateway = `https://${randomId('gateway')}.example.test`;
    await tesseraJson(['apis', 'create', '--audience', gateway, '--scope', 'refunds:read refunds:write']);
    const created = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'gateway',
      '--grant-types',
      'client_credentials',
      '--api',
      gateway,
      '--scope',
      'refunds:read refunds:write',
    ]);
    await tesseraJson(['clients', 'allow-exchange', created.client_id, '--api', audience]);
    await tesseraJson(['clients', 'assign-role', created.client_id, '--role', viewer]);
    const config = await oidc.discovery(
      new URL(server.issuer),
      created.client_id,
      created.client_secret,
      oidc.ClientSecretBasic(created.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const subject = await oidc.clientCredentialsGrant(config, { resource: gateway });
    expect(subject.scope).toBe('refunds:read refunds:write');
    await eventually(async () => {
      const exchanged = await oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', {
        subject_token: subject.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: audience,
      });
      expect(exchanged.scope).toBe('refunds:read');
    });
  });
});

describe('the resource-server kit', SLOW, () => {
  let api: Server;
  let url: string;
  beforeAll(async () => {
    const rs = createResourceServer({ issuer: server.issuer, audience, allowedEndpointOrigins: [server.issuer] });
    const app = new Koa();
    app.use(requireTokenKoa(rs, { permissions: ['refunds:write'] }));
    app.use((ctx) => {
      ctx.body = { permissions: ctx.state.accessToken.permissions };
    });
    api = createServer(app.callback());
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/refunds`;
  }, 180_000);
  afterAll(() => new Promise((r) => api?.close(r)));

  it('lets a token with the permission through and answers 403 insufficient_scope without it', async () => {
    const app = await webClient();
    const granted = await tokensFor(app, await newUser(admin));
    const ok = await call(url, { authorization: `Bearer ${granted.access_token}` });
    expect(ok).toMatchObject({ status: 200, body: { permissions: ['refunds:read', 'refunds:write'] } });

    const lacking = await tokensFor(app, await newUser(viewer));
    const refused = await call(url, { authorization: `Bearer ${lacking.access_token}` });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'this resource needs the scope refunds:write',
      scope: 'refunds:write',
    });
    expect(refused.wwwAuthenticate).toContain('error="insufficient_scope"');
  });
});

describe('administration', SLOW, () => {
  it('refuses unknown roles, APIs and scopes with exit 2', async () => {
    const user = await newUser();
    const unknownRole = await tessera(['users', 'assign-role', user.email, '--role', 'no-such-role']);
    expect(unknownRole).toMatchObject({ code: 2, stderr: 'tessera: no role no-such-role\n' });
    const badScope = await tessera(['roles', 'grant-permission', viewer, '--api', audience, '--scope', 'nope']);
    expect(badScope).toMatchObject({ code: 2, stderr: `tessera: API ${audience} defines no scope nope\n` });
    const badName = await tessera(['roles', 'create', 'has space']);
    expect(badName.code).toBe(2);
    const badMode = await tessera(['apis', 'update', audience, '--rbac', 'maybe']);
    expect(badMode.code).toBe(2);
    expect((await tessera(['clients', 'assign-role', 'no-such-client', '--role', viewer])).code).toBe(2);
    expect((await tessera(['roles', 'show', viewer])).stdout).toContain('refunds:read');
  });

  it('applies roles from the seed file, and refuses one naming unknown roles without applying any of it', async () => {
    const role = randomId('seeded-role');
    const email = `${randomId('seeded')}@example.test`;
    const file = join(tmpdir(), `${randomId('seed')}.json`);
    const seeded = `https://${randomId('seeded-api')}.example.test`;
    const broken = {
      apis: [{ audience: seeded, scopes: 'a:read', rbac: 'enforce', token_claims: ['roles'] }],
      roles: [{ name: role, permissions: { [seeded]: 'a:read' } }],
      users: [{ email, roles: [role, 'ghost-role'] }],
    };
    await writeFile(file, JSON.stringify(broken));
    const refused = await tessera(['seed', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`user ${email}: no role ghost-role`);
    expect((await tessera(['roles', 'show', role])).code).toBe(2);
    expect((await tessera(['users', 'show', email])).code).toBe(2);

    await writeFile(file, JSON.stringify({ ...broken, users: [{ email, roles: [role] }] }));
    const report = await tesseraJson<Record<string, Record<string, string>>>(['seed', file]);
    expect(report).toMatchObject({ roles: { [role]: 'created' }, users: { [email]: 'created' } });
    expect(await tesseraJson(['roles', 'show', role])).toMatchObject({
      permissions: [{ api: seeded, scope: 'a:read' }],
      users: [email],
    });
    // Applied again, nothing changes.
    const again = await tesseraJson<Record<string, Record<string, string>>>(['seed', file]);
    expect(again).toMatchObject({ roles: { [role]: 'unchanged' }, users: { [email]: 'unchanged' } });
  });

  it('audits every change', async () => {
    const role = randomId('audited');
    await tesseraJson(['roles', 'create', role]);
    await tesseraJson(['roles', 'grant-permission', role, '--api', audience, '--scope', 'invoices:read']);
    await tesseraJson(['roles', 'delete', role]);
    const events = await tesseraJson<{ type: string; subject: string }[]>(['audit', '--type', 'role.created']);
    expect(events.some((e) => e.subject === role)).toBe(true);
    const granted = await tesseraJson<{ type: string; subject: string }[]>([
      'audit',
      '--type',
      'role.permission_granted',
    ]);
    expect(granted.some((e) => e.subject === role)).toBe(true);
  });
});
