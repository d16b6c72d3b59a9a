// Organizations (multi-tenant B2B): an organization's token carries org_id and only what the
// member's roles there grant; a non-member is refused; just-in-time membership by verified email
// domain; a refresh keeps the organization and re-reads the roles; the CLI and the seed file
// refuse unknown names without changing anything. oauth4webapi is the client.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authorize } from '../setup/sign-in.ts';
import { browser } from './mfa-flow.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const REDIRECT = 'https://app.example.test/callback';
const PASSWORD = 'correct horse battery';
const SCOPES = 'invoices:read invoices:write reports:read';
let server: TestServer;
let as: oauth.AuthorizationServer;
let audience: string;
let client: oauth.Client;
let secret: string;
const options = { [oauth.allowInsecureRequests]: true };
// The CLI tests run a process per command (a few seconds each on a loaded machine).
vi.setConfig({ testTimeout: 240_000 });

beforeAll(async () => {
  server = await startTestServer();
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  audience = `https://${randomId('billing')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', SCOPES]);
  const created = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Billing',
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    `openid offline_access ${SCOPES}`,
  ]);
  client = { client_id: created.client_id };
  secret = created.client_secret;
});
afterAll(() => server?.close());

// Every CLI call starts a process: a test sets its world up with one seed file instead of many
// commands, and looks the organizations' ids up once.
const dir = mkdtempSync(join(tmpdir(), 'tessera-orgs-'));
const SEED_ENV = { TESSERA_SEED_ORG_TEST_PASSWORD: PASSWORD };

interface User {
  email: string;
  password: string;
}
const newUser = (domain = 'example.test'): User => ({ email: `${randomId('member')}@${domain}`, password: PASSWORD });

/** Applies a seed file of users (with `verified`) and organizations; the organizations' ids by name. */
async function seed(users: (User & { verified?: boolean })[], organizations: Record<string, unknown>[]) {
  const file = join(dir, `${randomId('seed')}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      users: users.map((u) => ({
        email: u.email,
        email_verified: u.verified ?? false,
        password: { env: 'TESSERA_SEED_ORG_TEST_PASSWORD' },
      })),
      organizations,
    }),
  );
  const result = await tessera(['seed', file], { env: SEED_ENV });
  expect(result.stderr).toBe('');
  const list = await tesseraJson<{ id: string; name: string }[]>(['orgs', 'list']);
  return Object.fromEntries(list.map((o) => [o.name, o.id]));
}

/** A role of the seed file: its name and the API scopes it grants (as RBAC's roles: by audience). */
const role = (name: string, ...scopes: string[]) => ({ name, permissions: { [audience]: scopes.join(' ') } });

/** A code flow to its end: the token response, or the callback's error. */
async function signIn(user: { email: string; password: string }, params: Record<string, string> = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: `openid offline_access ${SCOPES}`,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'st',
    // oidc-provider issues a refresh token (offline_access) only for a request that prompts for consent.
    prompt: 'consent',
    ...params,
  }).toString();
  const callback = await authorize(url, user);
  if (callback.searchParams.has('error')) return { error: Object.fromEntries(callback.searchParams) };
  const checked = oauth.validateAuthResponse(as, client, callback, 'st');
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic(secret),
    checked,
    REDIRECT,
    verifier,
    options,
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
  return { tokens, access: decodeJwt(tokens.access_token), id: decodeJwt(tokens.id_token!) };
}

async function refresh(refreshToken: string) {
  return fetch(as.token_endpoint!, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.client_id}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
}

async function introspect(token: string) {
  const response = await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(secret), token, options);
  return oauth.processIntrospectionResponse(as, client, response);
}

const apiScopes = (scope: unknown) =>
  String(scope)
    .split(' ')
    .filter((s) => SCOPES.split(' ').includes(s))
    .sort();

describe('organization tokens', () => {
  it("carry org_id and only the permissions of the member's roles in that organization", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const [acmeName, globexName] = [randomId('acme'), randomId('globex')];
    const ids = await seed(
      [alice, bob],
      [
        {
          name: acmeName,
          roles: [role('billing', 'invoices:read', 'invoices:write')],
          members: [{ email: alice.email, roles: ['billing'] }],
        },
        {
          name: globexName,
          roles: [role('viewer', 'reports:read'), role('billing', 'invoices:read')],
          members: [
            { email: alice.email, roles: ['viewer'] },
            { email: bob.email, roles: ['billing'] },
          ],
        },
      ],
    );
    const acme = { name: acmeName, id: ids[acmeName]! };
    const globex = { name: globexName, id: ids[globexName]! };

    const aliceAcme = await signIn(alice, { organization: acme.name });
    expect(aliceAcme.access).toMatchObject({ org_id: acme.id, aud: expect.arrayContaining([audience]) });
    expect(apiScopes(aliceAcme.access?.scope)).toEqual(['invoices:read', 'invoices:write']);
    expect(aliceAcme.id).toMatchObject({ org_id: acme.id, org_name: acme.name });

    // The same user in her other organization, asked for by the scope form and by id.
    const aliceGlobex = await signIn(alice, { scope: `openid ${SCOPES} urn:tessera:org:${globex.id}` });
    expect(aliceGlobex.access).toMatchObject({ org_id: globex.id });
    expect(apiScopes(aliceGlobex.access?.scope)).toEqual(['reports:read']);
    expect(aliceGlobex.tokens?.scope).not.toContain('urn:tessera:org');

    const bobGlobex = await signIn(bob, { organization: globex.id });
    expect(bobGlobex.access).toMatchObject({ org_id: globex.id });
    expect(apiScopes(bobGlobex.access?.scope)).toEqual(['invoices:read']);

    // Without an organization: as before, every scope the client may have, and no org_id.
    const plain = await signIn(alice);
    expect(plain.access?.org_id).toBeUndefined();
    expect(plain.id?.org_id).toBeUndefined();
    expect(apiScopes(plain.access?.scope)).toEqual(SCOPES.split(' ').sort());
  });

  it('refuse a non-member and an unknown organization alike (access_denied)', async () => {
    const outsider = newUser();
    const acme = randomId('acme');
    await seed([outsider], [{ name: acme, roles: [role('billing', 'invoices:read')] }]);
    const refused = {
      error: 'access_denied',
      error_description: 'the user is not a member of the requested organization',
      state: 'st',
      iss: server.issuer,
    };
    expect((await signIn(outsider, { organization: acme })).error).toEqual(refused);
    expect((await signIn(outsider, { organization: randomId('nowhere') })).error).toEqual(refused);
    expect((await signIn(outsider, { organization: '00000000-0000-4000-8000-000000000000' })).error).toEqual(refused);
  });

  it('keep their organization on refresh, and re-read the roles there', async () => {
    const carol = newUser();
    const name = randomId('acme');
    const ids = await seed(
      [carol],
      [
        {
          name,
          roles: [role('billing', 'invoices:read', 'invoices:write'), role('reader', 'invoices:read')],
          members: [{ email: carol.email, roles: ['billing', 'reader'] }],
        },
      ],
    );
    const acme = { name, id: ids[name]! };
    const first = await signIn(carol, { organization: acme.name });
    expect(apiScopes(first.access?.scope)).toEqual(['invoices:read', 'invoices:write']);

    await tesseraJson(['orgs', 'remove-role', acme.name, carol.email, 'billing']);
    expect(first.tokens?.refresh_token).toEqual(expect.any(String));
    const second = await refresh(first.tokens!.refresh_token!);
    expect(second.body).toMatchObject({ token_type: 'Bearer' });
    const access = decodeJwt(second.body.access_token as string);
    expect(access.org_id).toBe(acme.id);
    expect(apiScopes(access.scope)).toEqual(['invoices:read']);
    expect(decodeJwt(second.body.id_token as string)).toMatchObject({ org_id: acme.id });
    // The rotated refresh token holds what was consented (billing's too); introspection says
    // what a refresh gets now.
    const introspected = await introspect(second.body.refresh_token as string);
    expect(apiScopes(introspected.scope)).toEqual(['invoices:read']);

    // No longer a member: the refresh token is refused (RFC 6749 §5.2).
    await tesseraJson(['orgs', 'remove-member', acme.name, carol.email]);
    expect(await introspect(second.body.refresh_token as string)).toEqual({ active: false });
    expect(await refresh(second.body.refresh_token as string)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
  });

  it("show on a third-party app's consent page only what the member's roles there grant", async () => {
    const user = newUser();
    const name = randomId('acme');
    await seed(
      [user],
      [{ name, roles: [role('reader', 'invoices:read')], members: [{ email: user.email, roles: ['reader'] }] }],
    );
    const partner = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'Partner',
      '--public',
      '--grant-types',
      'authorization_code',
      '--redirect-uri',
      REDIRECT,
      '--api',
      audience,
      '--scope',
      `openid ${SCOPES}`,
    ]);
    const b = browser(server, as);
    const flow = await b.start(partner, { scope: `openid ${SCOPES}`, organization: name });
    await b.submit(flow, 'login', { email: user.email, password: user.password });
    const consent = flow.page!.html;
    expect(consent).toContain('invoices:read');
    expect(consent).not.toContain('invoices:write');
    expect(consent).not.toContain('reports:read');
  });

  it('let a user with a verified email at an allowed domain join on their first request', async () => {
    const domain = `${randomId('jit')}.example.test`;
    const name = randomId('jit');
    const verified = { ...newUser(domain), verified: true };
    const unverified = newUser(domain);
    const elsewhere = { ...newUser(`other-${domain}`), verified: true };
    const ids = await seed([verified, unverified, elsewhere], [{ name, allowed_email_domains: [domain] }]);
    const org = { name, id: ids[name]! };
    const joined = await signIn(verified, { organization: org.name });
    expect(joined.error).toBeUndefined();
    expect(joined.access).toMatchObject({ org_id: org.id });
    // No roles yet: no API permission, only the sign-in's own scopes.
    expect(apiScopes(joined.access?.scope)).toEqual([]);
    const shown = await tesseraJson<{ members: { email: string }[] }>(['orgs', 'show', org.name]);
    expect(shown.members.map((m) => m.email)).toEqual([verified.email]);
    const audit = await tesseraJson<{ type: string; subject: string }[]>([
      'audit',
      '--type',
      'organization.member_joined',
    ]);
    expect(audit.some((e) => e.subject === org.id)).toBe(true);

    // An unverified email at the domain, or another domain, does not join.
    for (const user of [unverified, elsewhere])
      expect((await signIn(user, { organization: org.name })).error?.error).toBe('access_denied');
  });
});

describe('the organization parameter, hostile', () => {
  it.each([
    ['a path', '../admin'],
    ['spaces', 'acme corp'],
    ['upper case', 'ACME'],
    ['too long', 'a'.repeat(64)],
    ['a quote', 'acme"'],
  ])('refuses %s with invalid_request at the callback, before sign-in', async (_name, value) => {
    // Refused before anyone signs in: this user need not exist.
    const user = newUser();
    expect((await signIn(user, { organization: value })).error).toEqual({
      error: 'invalid_request',
      error_description: 'organization must be an organization id or name',
      state: 'st',
      iss: server.issuer,
    });
  });

  it('is refused by the device flow (invalid_request), which has no grant to hold it', async () => {
    const device = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'TV',
      '--grant-types',
      'device_code',
      '--public',
      '--scope',
      'openid',
    ]);
    const extras: Record<string, string>[] = [{ organization: 'acme' }, { scope: 'openid urn:tessera:org:acme' }];
    for (const extra of extras) {
      const res = await fetch(`${server.issuer}/device/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: device.client_id, scope: 'openid', ...extra }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'invalid_request',
        error_description: 'organization is supported in authorization requests only',
      });
    }
  });

  it('refuses two organizations, and a parameter and scope that disagree', async () => {
    const user = newUser();
    expect((await signIn(user, { scope: `openid urn:tessera:org:a urn:tessera:org:b` })).error).toMatchObject({
      error: 'invalid_request',
      error_description: 'a request may ask for one organization only',
    });
    expect((await signIn(user, { scope: 'openid urn:tessera:org:a', organization: 'b' })).error).toMatchObject({
      error: 'invalid_request',
      error_description: 'the organization parameter and the organization scope disagree',
    });
    expect((await signIn(user, { scope: 'openid urn:tessera:org:Not_Valid' })).error).toMatchObject({
      error: 'invalid_request',
    });
  });
});

describe('tessera orgs and the seed file, bad input', () => {
  it('exits 2 on unknown names and changes nothing', async () => {
    const user = newUser();
    const name = randomId('org');
    await seed([user], [{ name, roles: [role('billing', 'invoices:read')] }]);
    const org = { name };
    const cases: [string[], string][] = [
      [['orgs', 'show', randomId('nowhere')], 'no organization'],
      [['orgs', 'add-member', randomId('nowhere'), user.email], 'no organization'],
      [['orgs', 'add-member', org.name, `${randomId('nobody')}@example.test`], 'no user'],
      [['orgs', 'assign-role', org.name, user.email, 'billing'], 'is not a member'],
      [['orgs', 'assign-role', org.name, user.email, 'no-such-role'], 'has no role no-such-role'],
      [['orgs', 'roles', 'create', org.name, 'r', '--permission', 'https://nowhere.example.test x'], 'no API'],
      [
        ['orgs', 'roles', 'create', org.name, 'r', '--api', audience, '--scope', 'invoices:read nope'],
        'has no scope nope',
      ],
      [['orgs', 'roles', 'create', org.name, 'r', '--permission', audience], 'a permission is'],
      [['orgs', 'create', 'Not Valid'], 'lower-case letters'],
      [['orgs', 'create', '00000000-0000-4000-8000-000000000000'], 'not shaped like an id'],
      [['orgs', 'create', randomId('org'), '--allow-email-domain', 'not a domain'], 'is not an email domain'],
      [['orgs', 'create', org.name], 'exists already'],
      [['orgs', 'remove-member', org.name, user.email], 'is not a member'],
    ];
    for (const [args, message] of cases) {
      const result = await tessera(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain(message);
    }
    const shown = await tesseraJson<{ roles: { name: string }[]; members: unknown[] }>(['orgs', 'show', org.name]);
    expect(shown.roles.map((r) => r.name)).toEqual(['billing']);
    expect(shown.members).toEqual([]);
  });

  it('applies organizations from a seed file, idempotently, and refuses one with an unknown name whole', async () => {
    const user = newUser();
    await seed([user], []);
    const name = randomId('seeded');
    const good = {
      organizations: [
        {
          name,
          display_name: 'Seeded Inc.',
          allowed_email_domains: ['seeded.example.test'],
          roles: [
            { name: 'billing', permissions: [`${audience} invoices:read`, { api: audience, scope: 'reports:read' }] },
          ],
          members: [{ email: user.email, roles: ['billing'] }],
        },
      ],
    };
    const file = join(dir, 'good.json');
    writeFileSync(file, JSON.stringify(good));
    expect(await tesseraJson<{ organizations: Record<string, string> }>(['seed', file])).toMatchObject({
      organizations: { [name]: 'created' },
    });
    expect(await tesseraJson<{ organizations: Record<string, string> }>(['seed', file])).toMatchObject({
      organizations: { [name]: 'unchanged' },
    });
    const seeded = await signIn(user, { organization: name });
    expect(apiScopes(seeded.access?.scope)).toEqual(['invoices:read', 'reports:read']);

    const other = randomId('half');
    const bad = (org: Record<string, unknown>) => {
      const path = join(dir, `${randomId('bad')}.json`);
      writeFileSync(path, JSON.stringify({ organizations: [{ name: other }, org] }));
      return path;
    };
    const badCases: [Record<string, unknown>, string][] = [
      [{ name: randomId('o'), members: [{ email: `${randomId('nobody')}@example.test` }] }, 'no such user'],
      [{ name: randomId('o'), members: [{ email: user.email, roles: ['ghost'] }] }, 'has no role ghost'],
      [{ name: randomId('o'), roles: [{ name: 'r', permissions: [`${audience} nope`] }] }, 'has no scope nope'],
      [{ name: randomId('o'), roles: [{ name: 'r', permissions: ['https://nowhere.example.test x'] }] }, 'no API'],
      [{ name: randomId('o'), unknown_setting: true }, 'unknown_setting'],
    ];
    for (const [org, message] of badCases) {
      const result = await tessera(['seed', bad(org)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
    }
    // The valid organization listed first in those files was not created either.
    expect((await tessera(['orgs', 'show', other])).code).toBe(2);
  });
});
