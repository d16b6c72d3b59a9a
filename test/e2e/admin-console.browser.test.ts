// The admin console (/admin) in a real browser (Chromium, script off): an admin — a user whose
// role grants admin scopes — signs in through Tessera's own sign-in page, creates a client and
// rotates its secret (each secret checked at /token with oauth4webapi), finds a user and ends
// their sessions (checked in that user's own browser); a user without admin rights gets the 403
// page; a form without its CSRF token is refused; every call is in the audit trail with the
// admin as actor. Screenshots go to test-results/screenshots/.
import * as oauth from 'oauth4webapi';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CLIENT_ID } from '../../src/oidc/admin-console-client.ts';
import { adminCaller, adminToken, createAdminClient, createConsoleAdmin } from '../setup/admin.ts';
import { launchBrowser, screenshot, signIn } from '../setup/browser.ts';
import { randomId, startTestServer, type TestServer } from '../setup/tessera.ts';
import { createApi, createClient, createUser, refresh, signInForTokens } from '../hardening/support.ts';
import { newJar } from '../setup/sign-in.ts';

const options = { [oauth.allowInsecureRequests]: true };
const REDIRECT = 'https://app.example.test/callback';

let server: TestServer;
let browser: Browser;
let api: string;
let admin: { email: string; password: string; id: string };

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  admin = await createConsoleAdmin();
  api = await createApi('reports:read');
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled: false });
  return context.newPage();
}

/** Client credentials at /token with this secret: the access token, or the error code. */
async function clientCredentials(clientId: string, secret: string): Promise<string> {
  const as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  const client = { client_id: clientId };
  const res = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic(secret),
    new URLSearchParams({ resource: api }),
    options,
  );
  try {
    return (await oauth.processClientCredentialsResponse(as, client, res)).access_token;
  } catch (err) {
    return `refused: ${(err as { error?: string }).error ?? String(err)}`;
  }
}

describe('the admin console', () => {
  it('lets an admin create a client, rotate its secret, find a user and end their sessions', async () => {
    const page = await newPage();
    await page.goto(`${server.issuer}/admin`);
    await signIn(page, admin);
    await expect.poll(() => page.url()).toBe(`${server.issuer}/admin`);
    expect(await page.locator('#page-title').textContent()).toBe('Admin console');
    expect(await page.locator('#rights').textContent()).toContain('admin:clients:write');
    // The page holds no token: only the console session's cookie, httpOnly.
    const html = await page.content();
    expect(html).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    const cookies = await page.context().cookies();
    const consoleCookie = cookies.find((c) => c.name === 'tessera.admin');
    expect(consoleCookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });

    // Create a machine client for the test API.
    const name = randomId('Console made');
    await page.getByRole('navigation').getByRole('link', { name: 'Clients', exact: true }).click();
    await page.locator('#new-client').click();
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Kind').selectOption('machine');
    await page.getByLabel('APIs it may get tokens for').fill(api);
    await page.getByLabel('Scopes it may ask for').fill('reports:read');
    await page.locator('#create').click();
    expect(await page.locator('#page-title').textContent()).toBe('Client created');
    const clientId = (await page.locator('#client-id').textContent())!;
    const firstSecret = (await page.locator('#client-secret').textContent())!;
    await screenshot(page, 'admin-console-client-created');
    expect(await clientCredentials(clientId, firstSecret)).not.toMatch(/^refused/);

    // Find it, open its page: one secret with its age, its API, its creation in the trail.
    await page.getByRole('navigation').getByRole('link', { name: 'Clients', exact: true }).click();
    await page.getByLabel('Find a client').fill(name.toUpperCase());
    await page.getByRole('button', { name: 'Find' }).click();
    expect(await page.locator('#clients tbody tr').count()).toBe(1);
    await page.getByRole('link', { name }).click();
    expect(await page.locator('#secret-list tbody tr').count()).toBe(1);
    expect(await page.locator('.secret-age').first().textContent()).toBe('less than a minute');
    expect(await page.locator('#api-grants').textContent()).toContain(api);
    expect(await page.locator('#event-list').textContent()).toContain('client.created');

    // Rotate: the new secret is shown once and works; the old one still works during its grace.
    const clientPage = page.url();
    await page.locator('#rotate-secret').click();
    const newSecret = (await page.locator('#new-secret').textContent())!;
    expect(newSecret).not.toBe(firstSecret);
    expect(await page.locator('#secret-list tbody tr').count()).toBe(2);
    expect(await page.locator('#event-list').textContent()).toContain('client.secret_rotated');
    await screenshot(page, 'admin-console-client-rotated');
    expect(await clientCredentials(clientId, newSecret)).not.toMatch(/^refused/);
    // The client's page again does not show the secret.
    await page.goto(clientPage);
    expect(await page.locator('#new-secret').count()).toBe(0);

    // A user signed in (to the account page) in their own browser.
    const member = await createUser();
    const theirs = await newPage();
    await theirs.goto(`${server.issuer}/account`);
    await signIn(theirs, member);
    await expect.poll(() => theirs.url()).toBe(`${server.issuer}/account`);

    // The admin finds them and ends their sessions.
    await page.getByRole('navigation').getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByLabel('Find a user').fill(member.email.slice(0, 12));
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('link', { name: member.email }).click();
    expect(await page.locator('#session-list tbody tr').count()).toBe(1);
    expect(await page.locator('#factors').textContent()).toContain('Authenticator app: none');
    await screenshot(page, 'admin-console-user');
    await page.locator('#end-all-sessions').click();
    expect(await page.locator('#done').textContent()).toBe("Every one of the user's sessions was ended.");
    expect(await page.locator('#no-sessions').count()).toBe(1);

    // Their browser is signed out: the account page sends them to sign in.
    await theirs.goto(`${server.issuer}/account`);
    expect(await theirs.getByLabel('Password').count()).toBe(1);

    // Every call is in the trail, with the admin as actor.
    const auditor = adminCaller(
      server.issuer,
      await adminToken(server.issuer, await createAdminClient(['admin:audit:read'])),
    );
    const actor = `user:${admin.id} via client:${CONSOLE_CLIENT_ID}`;
    const calls = await auditor<{ items: { subject: string; details: { status: number } }[] }>(
      'GET',
      `/audit-events?type=admin.call&actor=${encodeURIComponent(actor)}&limit=200`,
    );
    const operations = calls.body.items.map((e) => e.subject);
    for (const op of ['createClient', 'rotateClientSecret', 'listUsers', 'getUser', 'revokeSession'])
      expect(operations).toContain(op);
    const rotated = await auditor<{ items: { actor: string }[] }>(
      'GET',
      `/audit-events?type=client.secret_rotated&subject=${encodeURIComponent(clientId)}`,
    );
    expect(rotated.body.items[0]?.actor).toBe(actor);
  }, 120_000);

  it("shows a client's grants, who granted what and when, and revokes one", async () => {
    const app = await createClient([
      '--grant-types',
      'authorization_code,refresh_token',
      '--redirect-uri',
      REDIRECT,
      '--api',
      api,
      '--scope',
      'openid offline_access reports:read',
    ]);
    const [alice, bob] = await Promise.all([createUser(), createUser()]);
    const signedIn = async (user: { email: string; password: string }) =>
      (
        await signInForTokens(
          server.issuer,
          { ...app, redirect: REDIRECT, scope: 'openid offline_access reports:read', resource: api },
          user,
          newJar(),
        )
      ).tokens.refresh_token;
    const aliceRefresh = await signedIn(alice);
    const bobRefresh = await signedIn(bob);

    const page = await newPage();
    await page.goto(`${server.issuer}/admin/clients/${encodeURIComponent(app.client_id)}`);
    await signIn(page, admin);
    await expect.poll(() => page.locator('#grant-list tbody tr').count()).toBe(2);
    const aliceRow = page.locator('#grant-list tbody tr', { hasText: alice.email });
    expect(await aliceRow.textContent()).toMatch(/openid offline_access/);
    expect(await aliceRow.textContent()).toContain(`reports:read on ${api}`);
    expect(await aliceRow.locator('td').nth(2).textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    await screenshot(page, 'admin-console-client-grants');

    // Revoke Alice's: her refresh token dies, Bob's lives.
    await aliceRow.getByRole('button', { name: 'Revoke' }).click();
    expect(await page.locator('#done').textContent()).toMatch(/^The grant was revoked/);
    expect(await page.locator('#grant-list tbody tr').count()).toBe(1);
    expect(await page.locator('#grant-list').textContent()).toContain(bob.email);
    expect(await refresh(server.issuer, app, aliceRefresh)).toEqual({ status: 400, error: 'invalid_grant' });
    expect((await refresh(server.issuer, app, bobRefresh)).status).toBe(200);

    // The same list over the API, a page at a time, newest first; an unknown client is a 404.
    const caller = adminCaller(
      server.issuer,
      await adminToken(server.issuer, await createAdminClient(['admin:grants:read', 'admin:audit:read'])),
    );
    const carol = await createUser();
    await signedIn(carol);
    type Grants = { items: { user_email: string; apis: unknown[] }[]; next_cursor: string | null };
    const path = `/clients/${encodeURIComponent(app.client_id)}/grants?limit=1`;
    const first = await caller<Grants>('GET', path);
    expect(first.body.items.map((g) => g.user_email)).toEqual([carol.email]);
    // The grant's resource scopes as the provider keeps them (the API's own among them).
    expect(first.body.items[0]!.apis).toEqual([{ audience: api, scope: 'openid offline_access reports:read' }]);
    const second = await caller<Grants>('GET', `${path}&cursor=${first.body.next_cursor}`);
    expect(second.body).toMatchObject({ items: [{ user_email: bob.email }], next_cursor: null });
    expect((await caller('GET', '/clients/no-such-client/grants')).status).toBe(404);

    // The revocation is the admin's, in the trail.
    const revoked = await caller<{ items: { actor: string; details: { client_id: string } }[] }>(
      'GET',
      `/audit-events?type=grant.revoked&actor=${encodeURIComponent(`user:${admin.id} via client:${CONSOLE_CLIENT_ID}`)}`,
    );
    expect(revoked.body.items.map((e) => e.details.client_id)).toContain(app.client_id);
  }, 120_000);

  it('refuses a form without its CSRF token', async () => {
    const page = await newPage();
    await page.goto(`${server.issuer}/admin`);
    await signIn(page, admin);
    await expect.poll(() => page.url()).toBe(`${server.issuer}/admin`);
    const forged = await page.request.post(`${server.issuer}/admin/clients`, {
      form: { name: 'forged', kind: 'machine', apis: api },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    const wrong = await page.request.post(`${server.issuer}/admin/clients`, {
      form: { name: 'forged', kind: 'machine', apis: api, csrf: 'x'.repeat(43) },
      maxRedirects: 0,
    });
    expect(wrong.status()).toBe(403);
  }, 60_000);

  it('ends the console session of an admin who is disabled, and keeps its client id reserved', async () => {
    const other = await createConsoleAdmin();
    const page = await newPage();
    await page.goto(`${server.issuer}/admin/users`);
    await signIn(page, other);
    await expect.poll(() => page.url()).toBe(`${server.issuer}/admin/users`);
    const caller = adminCaller(server.issuer, await adminToken(server.issuer, await createAdminClient()));
    const { headers } = await caller('GET', `/users/${other.id}`);
    expect(
      (
        await caller('PATCH', `/users/${other.id}`, {
          body: { disabled: true },
          headers: { 'if-match': headers.get('etag')! },
        })
      ).status,
    ).toBe(200);
    // The token is refused at once (disabled user): the console sends the browser to sign in.
    await page.goto(`${server.issuer}/admin/users`);
    expect(await page.getByLabel('Password').count()).toBe(1);
    expect((await page.context().cookies()).some((c) => c.name === 'tessera.admin')).toBe(false);
    expect(
      await caller('POST', '/clients', {
        body: { client_id: CONSOLE_CLIENT_ID, name: 'X', grant_types: ['client_credentials'], apis: [api] },
      }),
    ).toMatchObject({
      status: 400,
      body: { detail: `client id ${CONSOLE_CLIENT_ID} is reserved for the admin console` },
    });
  }, 120_000);

  it('refuses a user without admin rights with the 403 page', async () => {
    const user = await createUser();
    const page = await newPage();
    await page.goto(`${server.issuer}/admin/clients`);
    await signIn(page, user);
    await expect.poll(async () => page.locator('#forbidden').count()).toBe(1);
    expect(await page.locator('#forbidden').textContent()).toBe('Your account has no admin rights.');
    await screenshot(page, 'admin-console-forbidden');
    const again = await page.goto(`${server.issuer}/admin/users`);
    // No console session was made: signing in again (silently) ends at the same page.
    expect(again?.status()).toBe(403);
    expect(await page.locator('#forbidden').count()).toBe(1);
  }, 60_000);
});
