// The admin console's pages for signing keys, APIs, roles and the audit trail, in a real browser
// (Chromium, script off), as an admin whose role grants every admin scope. The server has a
// database of this file's own: rotating and retiring its signing keys disturbs no other test.
// Each change is checked where it matters (the JWKS, the admin API) and in the audit trail with
// the admin as actor. Screenshots go to test-results/screenshots/.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CONSOLE_CLIENT_ID } from '../../src/oidc/admin-console-client.ts';
import { ADMIN_SCOPES } from '../../src/services/admin-api.ts';
import { createApi, createUser } from '../hardening/support.ts';
import { adminCaller, adminToken, createAdminClient, createConsoleAdmin } from '../setup/admin.ts';
import { launchBrowser, screenshot, signIn } from '../setup/browser.ts';
import { migratedScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { randomId, startTestServer, type TestServer, tesseraJson } from '../setup/tessera.ts';

let database: ScratchDatabase;
let env: Record<string, string>;
let server: TestServer;
let browser: Browser;
let admin: { email: string; password: string; id: string };
let actor: string;
let page: Page;

beforeAll(async () => {
  database = await migratedScratchDatabase(inject('adminDatabaseUrl'), 'tessera_console');
  env = { DATABASE_URL: database.url };
  [server, browser] = await Promise.all([startTestServer(env), launchBrowser()]);
  admin = await createConsoleAdmin(ADMIN_SCOPES, env);
  actor = `user:${admin.id} via client:${CONSOLE_CLIENT_ID}`;
  // One signed-in browser for the file: each test starts from a page of the console.
  page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await page.goto(`${server.issuer}/admin`);
  await signIn(page, admin);
  await page.waitForURL(`${server.issuer}/admin`);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.drop();
});

const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
const csrf = async () => (await page.locator('input[name=csrf]').first().getAttribute('value'))!;
const jwksKids = async () =>
  ((await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

/** The admin API as an auditor: the trail's events of this type by the console's admin. */
async function auditedByAdmin(type: string): Promise<{ subject: string }[]> {
  const auditor = adminCaller(
    server.issuer,
    await adminToken(server.issuer, await createAdminClient(['admin:audit:read'], env)),
  );
  const answer = await auditor<{ items: { subject: string }[] }>(
    'GET',
    `/audit-events?type=${type}&actor=${encodeURIComponent(actor)}`,
  );
  return answer.body.items;
}

describe('the admin console', () => {
  it('lists the signing keys, rotates them, and retires one after its confirmation page', async () => {
    await nav('Signing keys');
    expect(await page.locator('#page-title').textContent()).toBe('Signing keys');
    const before = await page.locator('#keys tbody tr').count();
    expect(before).toBeGreaterThan(0);
    expect(await page.locator('#keys tbody tr', { hasText: 'current' }).count()).toBeGreaterThan(0);

    // Without the ticked box nothing is done (the browser requires it; the server too).
    const unconfirmed = await page.request.post(`${server.issuer}/admin/keys/rotate`, {
      form: { csrf: await csrf() },
      maxRedirects: 0,
    });
    expect(unconfirmed.status()).toBe(400);
    expect(await page.locator('#keys tbody tr').count()).toBe(before);

    await page.getByLabel('Publish a new signing key').check();
    await page.locator('#rotate-keys').click();
    expect(await page.locator('#done').textContent()).toMatch(/^A new signing key was published/);
    const next = page.locator('#keys tbody tr', { hasText: 'next' });
    expect(await next.count()).toBeGreaterThan(0);
    const kid = (await next.first().locator('td').first().textContent())!;
    expect(await jwksKids()).toContain(kid);
    await screenshot(page, 'admin-console-keys');

    // Retire the new key: a page says what it costs, and the box must be ticked.
    await next.first().getByRole('link', { name: 'Retire…' }).click();
    expect(await page.locator('#page-title').textContent()).toBe(`Retire ${kid}?`);
    await page.getByLabel('The key is compromised: retire it now').check();
    await page.locator('#retire-key').click();
    expect(await page.locator('#done').textContent()).toMatch(/^The key was retired/);
    expect(await jwksKids()).not.toContain(kid);
    // A key that never signed leaves the list with the JWKS; the current one still signs.
    expect(await page.locator('#keys tbody tr', { hasText: kid }).count()).toBe(0);
    expect(await page.locator('#keys tbody tr', { hasText: 'current' }).count()).toBeGreaterThan(0);

    expect((await auditedByAdmin('key.published')).map((e) => e.subject)).toContain(kid);
    expect((await auditedByAdmin('key.retired_compromised')).map((e) => e.subject)).toEqual([kid]);
  }, 120_000);

  it('registers an API with RBAC, shows it, refuses a second with its audience, and deletes it', async () => {
    const audience = `https://${randomId('console-api')}.example.test`;
    await nav('APIs');
    await page.locator('#new-api').click();
    const register = async () => {
      await page.getByLabel('Audience').fill(audience);
      await page.getByLabel('Name').fill('Reports');
      await page.getByLabel('Scopes it defines').fill('reports:read reports:write');
      await page.getByLabel('Role-based access control').selectOption('enforce');
      await page.getByLabel('permissions').check();
      await page.locator('#create').click();
    };
    await register();
    expect(await page.locator('#audience').textContent()).toBe(audience);
    expect(await page.locator('#api-settings').textContent()).toContain('reports:write');
    expect(await page.locator('#api-rbac').textContent()).toBe('RBAC: enforce · token claims: permissions');
    await screenshot(page, 'admin-console-api');

    // As the admin API has it.
    const caller = adminCaller(
      server.issuer,
      await adminToken(server.issuer, await createAdminClient(['admin:apis:read'], env)),
    );
    expect((await caller('GET', `/apis/${encodeURIComponent(audience)}`)).body).toMatchObject({
      name: 'Reports',
      scopes: ['reports:read', 'reports:write'],
      rbac: 'enforce',
      token_claims: ['permissions'],
    });

    // The same audience again: the form again, with the API's refusal.
    await nav('APIs');
    expect(await page.locator('#apis').textContent()).toContain(audience);
    await page.locator('#new-api').click();
    await register();
    expect(await page.locator('#form-error').textContent()).toBe(`an API with audience ${audience} exists already`);

    await page.goto(`${server.issuer}/admin/apis/${encodeURIComponent(audience)}`);
    await page.getByLabel('Delete this API').check();
    await page.locator('#delete-api').click();
    expect(await page.locator('#done').textContent()).toBe('The API was deleted.');
    expect(await page.locator('#page-title').textContent()).toBe('APIs');
    expect((await caller('GET', `/apis/${encodeURIComponent(audience)}`)).status).toBe(404);
    expect((await auditedByAdmin('api.deleted')).map((e) => e.subject)).toContain(audience);
  }, 120_000);

  it('creates a role, grants and revokes a permission, gives it to a user and takes it back, deletes it', async () => {
    const audience = await createApi('ledger:read ledger:write', database.url);
    const role = randomId('auditors');
    await nav('Roles');
    await page.getByLabel('Name').fill(role);
    await page.getByLabel('Description').fill('Read the ledger');
    await page.locator('#create').click();
    expect(await page.locator('#page-title').textContent()).toBe(role);
    expect(await page.locator('#no-permissions').count()).toBe(1);

    await page.getByLabel('API (audience)').fill(audience);
    await page.getByLabel('Scopes').fill('ledger:read');
    await page.locator('#grant-permission').click();
    expect(await page.locator('#done').textContent()).toBe('The permission was granted.');
    expect(await page.locator('#permission-list tbody tr').textContent()).toContain('ledger:read');

    // Give it to a user from their page, and take it back.
    const user = await createUser(database.url);
    const { id } = await tesseraJson<{ id: string }>(['users', 'show', user.email], env);
    await page.goto(`${server.issuer}/admin/users/${id}`);
    await page.getByLabel('Give a role').fill(role);
    await page.locator('#assign-role').click();
    expect(await page.locator('#done').textContent()).toMatch(/^The role was given to the user/);
    expect(await page.locator('#role-list').textContent()).toContain(`ledger:read on ${audience}`);
    await screenshot(page, 'admin-console-user-roles');
    await page.goto(`${server.issuer}/admin/roles/${encodeURIComponent(role)}`);
    expect(await page.locator('#role-users').textContent()).toBe(`Users: ${user.email}`);
    await page.goto(`${server.issuer}/admin/users/${id}`);
    await page.locator('#role-list tbody tr', { hasText: role }).getByRole('button', { name: 'Take away' }).click();
    expect(await page.locator('#done').textContent()).toBe('The role was taken from the user.');
    expect(await page.locator('#no-roles').count()).toBe(1);

    // An unknown role is the API's refusal, on a page.
    await page.getByLabel('Give a role').fill('no-such-role');
    await page.locator('#assign-role').click();
    expect(await page.locator('#refused').count()).toBe(1);

    await page.goto(`${server.issuer}/admin/roles/${encodeURIComponent(role)}`);
    await page.locator('#permission-list tbody tr').getByRole('button', { name: 'Revoke' }).click();
    expect(await page.locator('#done').textContent()).toBe('The permission was revoked.');
    expect(await page.locator('#no-permissions').count()).toBe(1);
    await page.getByLabel('Delete this role').check();
    await page.locator('#delete-role').click();
    expect(await page.locator('#done').textContent()).toBe('The role was deleted.');
    expect(await page.locator('#roles').textContent()).not.toContain(role);

    for (const type of ['role.created', 'role.permission_granted', 'role.permission_revoked', 'role.deleted'])
      expect((await auditedByAdmin(type)).map((e) => e.subject)).toContain(role);
  }, 120_000);

  it('filters the audit trail by event, actor and subject, and pages through it', async () => {
    // 26 calls by a client of its own: one page of 25 and one of 1.
    const client = await createAdminClient(['admin:keys:read'], env);
    const caller = adminCaller(server.issuer, await adminToken(server.issuer, client));
    for (let i = 0; i < 26; i++) expect((await caller('GET', '/keys')).status).toBe(200);

    await nav('Audit trail');
    await page.getByLabel('Event').selectOption('admin.call');
    await page.getByLabel('Actor').fill(`client:${client.client_id}`);
    await page.getByLabel('Subject').fill('listKeys');
    await page.locator('#filter').click();
    expect(await page.locator('#events tbody tr').count()).toBe(25);
    expect(await page.locator('#events tbody tr', { hasText: 'listKeys' }).count()).toBe(25);
    await screenshot(page, 'admin-console-audit');
    await page.locator('#next-page').click();
    expect(await page.locator('#events tbody tr').count()).toBe(1);
    expect(await page.locator('#next-page').count()).toBe(0);
    // The filters stay with the page.
    expect(await page.getByLabel('Actor').inputValue()).toBe(`client:${client.client_id}`);

    // An event type the trail does not know is the API's refusal (400), not an empty list.
    const unknown = await page.goto(`${server.issuer}/admin/audit?type=no.such`);
    expect(unknown?.status()).toBe(400);
    expect(await page.locator('#refused').textContent()).toMatch(/type/);
  }, 120_000);

  it('creates an organization, adds and removes a member, and deletes it', async () => {
    const name = randomId('acme').toLowerCase();
    await nav('Organizations');
    await page.getByLabel('Name (lowercase').fill(name);
    await page.getByLabel('Display name').fill('Acme Corp');
    await page.getByLabel('Email domains').fill('acme.example.test');
    await page.locator('#create').click();
    expect(await page.locator('#page-title').textContent()).toBe('Acme Corp');
    expect(await page.locator('#org-name').textContent()).toBe(name);

    const user = await createUser(database.url);
    await page.getByLabel('Add a member').fill(user.email);
    await page.locator('#add-member').click();
    expect(await page.locator('#done').textContent()).toBe('The user is a member now.');
    expect(await page.locator('#member-list').textContent()).toContain(user.email);
    await screenshot(page, 'admin-console-organization');
    await page
      .locator('#member-list tbody tr', { hasText: user.email })
      .getByRole('button', { name: 'Remove' })
      .click();
    expect(await page.locator('#no-members').count()).toBe(1);

    await page.getByLabel('Delete this organization').check();
    await page.locator('#delete-organization').click();
    expect(await page.locator('#done').textContent()).toBe('The organization was deleted.');
    expect(await page.locator('#page-title').textContent()).toBe('Organizations');
    expect((await auditedByAdmin('organization.deleted')).length).toBeGreaterThan(0);
  }, 120_000);

  it('creates an API key shown once, rotates it, and revokes it', async () => {
    const audience = await createApi('orders:read', database.url);
    await nav('API keys');
    await page.locator('#new-api-key').click();
    await page.getByLabel('Name').fill('Nightly export');
    await page.getByLabel('API (audience)').fill(audience);
    await page.getByLabel('Scopes it carries').fill('orders:read');
    await page.locator('#create').click();
    const first = (await page.locator('#api-key-value').textContent())!;
    const hint = (await page.locator('#key-hint').textContent())!;
    expect(first.endsWith(hint.replace('tsk_…', ''))).toBe(true);
    // Shown in the answer to the form, not at the key's own address.
    expect(page.url()).toBe(`${server.issuer}/admin/api-keys`);
    const id = (await page.locator('#key-id').textContent())!;
    const keyPage = `${server.issuer}/admin/api-keys/${id}`;
    await page.goto(keyPage);
    // The value was shown once: not on the key's page.
    expect(await page.locator('#api-key-value').count()).toBe(0);

    await page.locator('#rotate-api-key').click();
    const second = (await page.locator('#api-key-value').textContent())!;
    expect(second).not.toBe(first);
    expect(await page.locator('#new-value').textContent()).toContain('The previous value works until');

    await page.goto(keyPage);
    await page.getByLabel('Revoke this key now').check();
    await page.locator('#revoke-api-key').click();
    expect(await page.locator('#done').textContent()).toMatch(/^The API key was revoked/);
    expect(await page.locator('#key-state').textContent()).toMatch(/^revoked /);
    const caller = adminCaller(
      server.issuer,
      await adminToken(server.issuer, await createAdminClient(['admin:api_keys:read'], env)),
    );
    expect((await caller<{ revoked_at: string | null }>('GET', `/api-keys/${id}`)).body.revoked_at).not.toBeNull();
    expect((await auditedByAdmin('api_key.revoked')).map((e) => e.subject)).toContain(id);
  }, 120_000);

  it('shows the 403 page for a page whose right the admin lacks', async () => {
    const reader = await createConsoleAdmin(['admin:users:read'], env);
    const theirs = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    await theirs.goto(`${server.issuer}/admin/keys`);
    await signIn(theirs, reader);
    await expect.poll(async () => theirs.locator('#forbidden').count()).toBe(1);
    for (const path of ['/admin/apis', '/admin/roles', '/admin/audit', '/admin/organizations', '/admin/api-keys']) {
      const answer = await theirs.goto(`${server.issuer}${path}`);
      expect(answer?.status(), path).toBe(403);
    }
  }, 120_000);
});
