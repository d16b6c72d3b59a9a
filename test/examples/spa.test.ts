// examples/spa: a single-page app in Chromium, a public client on its own origin: it signs in
// with Authorization Code + PKCE, keeps its tokens in memory, renews them with the rotating
// refresh token, and calls the API example. Tessera allows CORS at its token endpoint for that
// origin only (clientBasedCORS in src/oidc/provider-config.ts).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { launchBrowser, screenshot, signIn } from '../setup/browser.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { runExample, startOrdersApi, type ExampleProcess } from './example-process.ts';

let server: TestServer;
let browser: Browser;
let api: Awaited<ReturnType<typeof startOrdersApi>>;
let spa: ExampleProcess;
let spaOrigin: string;
let clientId: string;
const user = { email: `${randomId('ada')}@example.test`, password: 'correct horse battery' };

beforeAll(async () => {
  const port = await freePort();
  spaOrigin = `http://localhost:${port}`;
  [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  api = await startOrdersApi(server.issuer, { CORS_ORIGINS: spaOrigin });
  await tessera(['users', 'create', '--email', user.email, '--password-stdin'], { input: user.password });
  clientId = (
    await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'Orders SPA',
      '--public',
      '--grant-types',
      'authorization_code,refresh_token',
      '--redirect-uri',
      `${spaOrigin}/`,
      '--api',
      api.audience,
      '--scope',
      'openid offline_access orders:read',
    ])
  ).client_id;
  spa = runExample('examples/spa/server.ts', {
    ISSUER: server.issuer,
    CLIENT_ID: clientId,
    PORT: String(port),
    API_URL: api.url,
    RENEW_AFTER: '2',
  });
  await spa.waitFor(/orders SPA listening/);
});
afterAll(async () => {
  await spa?.stop();
  await api?.process.stop();
  await browser?.close();
  await server?.close();
});

describe('examples/spa', () => {
  it('signs in, calls the API, renews its tokens silently, and stores no token in the browser', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    await page.goto(spaOrigin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await signIn(page, user);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('Signed in', { exact: true }).waitFor();
    // Back on the app's own URL: the code is gone from the address bar.
    expect(page.url()).toBe(`${spaOrigin}/`);

    await page.getByRole('button', { name: 'Load orders' }).click();
    await page.locator('#orders', { hasText: /^\d{3} / }).waitFor();
    const first = await page.locator('#orders').textContent();
    expect(first).toMatch(
      /^200 \{"orders":\[\{"id":1,"item":"tessera tiles","quantity":40\}\],"caller":\{"sub":"[^"]+","client_id":"[^"]+"\}\}$/,
    );

    // Silent renewal through refresh-token rotation, twice (the second uses the rotated token).
    await page.locator('#renewals', { hasText: '2' }).waitFor({ timeout: 15_000 });
    await page.locator('#orders').evaluate((el) => {
      el.textContent = '';
    });
    await page.getByRole('button', { name: 'Load orders' }).click();
    await page.locator('#orders', { hasText: '200 ' }).waitFor();
    await screenshot(page, 'example-spa');

    // Nothing token-like is stored where a script or the next user could find it.
    // (A string, run in the page: this file is compiled without the DOM's types.)
    const stored = await page.evaluate(
      'JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })',
    );
    expect(stored).toBe('{"local":{},"session":{},"cookie":""}');
    expect(failures).toEqual([]);
    await context.close();
  });
});

describe("CORS at Tessera's token endpoint", () => {
  const tokenRequest = (origin: string, client: string) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-real-one', client_id: client }),
    });

  it("allows the public client's redirect-URI origin", async () => {
    const res = await tokenRequest(spaOrigin, clientId);
    expect(res.headers.get('access-control-allow-origin')).toBe(spaOrigin);
    expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
  });

  it('refuses another origin for that client', async () => {
    const res = await tokenRequest('http://evil.example.test', clientId);
    expect(res.status).toBe(400);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: `origin http://evil.example.test not allowed for client: ${clientId}`,
    });
  });

  it("refuses every origin for a confidential client, even its own redirect URI's", async () => {
    const web = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'web',
      '--grant-types',
      'authorization_code,refresh_token',
      '--redirect-uri',
      `${spaOrigin}/callback`,
      '--api',
      api.audience,
      '--scope',
      'openid orders:read',
    ]);
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: {
        origin: spaOrigin,
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${web.client_id}:${web.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-real-one' }),
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: `origin ${spaOrigin} not allowed for client: ${web.client_id}`,
    });
  });
});
