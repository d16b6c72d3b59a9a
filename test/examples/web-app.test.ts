// examples/web-app: a person signs in through Chromium with Tessera's login and consent pages;
// the app (openid-client, Authorization Code + PKCE) gets tokens and calls the API example.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { launchBrowser, screenshot, signIn } from '../setup/browser.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { runExample, startOrdersApi, type ExampleProcess } from './example-process.ts';

let server: TestServer;
let browser: Browser;
let api: Awaited<ReturnType<typeof startOrdersApi>>;
let app: ExampleProcess;
let appUrl: string;
let clientId: string;
const user = { email: `${randomId('ada')}@example.test`, password: 'correct horse battery' };

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  api = await startOrdersApi(server.issuer);
  await tessera(
    ['users', 'create', '--email', user.email, '--name', 'Ada Lovelace', '--email-verified', '--password-stdin'],
    { input: user.password },
  );
  const port = await freePort();
  appUrl = `http://localhost:${port}`;
  const client = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Orders web',
    '--grant-types',
    'authorization_code',
    '--redirect-uri',
    `${appUrl}/callback`,
    '--api',
    api.audience,
    '--scope',
    'openid profile email orders:read',
  ]);
  clientId = client.client_id;
  app = runExample('examples/web-app/server.ts', {
    ISSUER: server.issuer,
    CLIENT_ID: client.client_id,
    CLIENT_SECRET: client.client_secret,
    PORT: String(port),
    API_URL: api.url,
  });
  await app.waitFor(/orders web app listening/);
});
afterAll(async () => {
  await app?.stop();
  await api?.process.stop();
  await browser?.close();
  await server?.close();
});

describe('examples/web-app', () => {
  it('signs the user in with Authorization Code + PKCE and shows their orders from the API', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(appUrl);
    await expect(page.locator('p').first().textContent()).resolves.toBe('You are not signed in.');
    await page.getByRole('link', { name: 'Sign in' }).click();
    await signIn(page, user);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.locator('#user').waitFor();
    await screenshot(page, 'example-web-app');
    await expect(page.locator('#user').textContent()).resolves.toBe(`Signed in as Ada Lovelace (${user.email})`);
    const orders = await page.locator('#orders').textContent();
    expect(orders).toMatch(
      new RegExp(
        `^200 \\{"orders":\\[\\{"id":1,"item":"tessera tiles","quantity":40\\}\\],"caller":\\{"sub":"[^"]+","client_id":"${clientId}"\\}\\}$`,
      ),
    );
    // The browser holds a session id, never a token.
    const cookies = await context.cookies(appUrl);
    expect(cookies.map((c) => [c.name, c.httpOnly])).toEqual([['sid', true]]);
    await context.close();
  });

  it('shows the error when the user denies consent', async () => {
    // Another user: the first one's consent is remembered, and would not be asked again.
    const grace = { email: `${randomId('grace')}@example.test`, password: 'correct horse battery' };
    await tessera(['users', 'create', '--email', grace.email, '--password-stdin'], { input: grace.password });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${appUrl}/login`);
    await signIn(page, grace);
    await page.getByRole('button', { name: 'Deny' }).click();
    await expect(page.locator('#error').textContent()).resolves.toMatch(
      /^Sign-in failed \(access_denied: .+\)\. Try again$/,
    );
    await context.close();
  });
});
