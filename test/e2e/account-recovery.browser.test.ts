// The forgotten-password and sign-up pages in a real browser (Chromium), with mail through a real
// SMTP server: from the sign-in page of an app's request to a code, with a new password or a new
// account. Screenshots of each page go to test-results/screenshots/.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, signIn, startCallbackServer } from '../setup/browser.ts';
import { startMailbox, type Mailbox } from '../setup/mailbox.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const NEW_PASSWORD = 'lantern orchard velvet 42';

let server: TestServer;
let browser: Browser;
let mailbox: Mailbox;
let app: Awaited<ReturnType<typeof startCallbackServer>>;
let client: { client_id: string };

beforeAll(async () => {
  mailbox = await startMailbox();
  [server, browser, app] = await Promise.all([
    startTestServer({ SMTP_URL: mailbox.url, SIGNUP: 'open' }),
    launchBrowser(),
    startCallbackServer(),
  ]);
  client = await tesseraJson<{ client_id: string }>([
    'clients',
    'create',
    '--name',
    'Notes',
    '--public',
    '--first-party',
    '--grant-types',
    'authorization_code',
    '--redirect-uri',
    app.redirectUri,
    '--scope',
    'openid email',
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.close();
  await mailbox?.close();
});

function authorizationUrl(): string {
  const url = new URL(`${server.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: app.redirectUri,
    scope: 'openid email',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

async function newPage(): Promise<Page> {
  // Script off: the pages must work without it (and their CSP allows none).
  const context = await browser.newContext({ javaScriptEnabled: false });
  return context.newPage();
}

describe('in a browser', () => {
  it('resets a forgotten password from the sign-in page and signs in with the new one', async () => {
    const email = `${randomId('ada')}@example.test`;
    expect(
      (await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: 'correct horse battery' }))
        .code,
    ).toBe(0);
    const page = await newPage();
    await page.goto(authorizationUrl());
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(email);
    await screenshot(page, 'forgot-password');
    await page.getByRole('button', { name: 'Send me a link' }).click();
    await expect.poll(() => page.locator('#page-title').textContent()).toBe('Check your email');

    const link = (await mailbox.next(email, { subject: /Reset your/ })).link(`${server.issuer}/password/reset`);
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill('password1234');
    await page.getByLabel('Repeat the new password').fill('password1234');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect.poll(() => page.locator('#form-error').textContent()).toContain('This password is too easy to guess.');
    await screenshot(page, 'reset-password-weak');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect.poll(() => page.locator('#page-title').textContent()).toBe('Your password was changed');

    await page.goto(authorizationUrl());
    await signIn(page, { email, password: NEW_PASSWORD });
    const callback = await app.next(page);
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  it('creates an account from the sign-in page, confirms the address, and signs in', async () => {
    const email = `${randomId('grace')}@example.test`;
    const page = await newPage();
    await page.goto(authorizationUrl());
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the password').fill(NEW_PASSWORD);
    await screenshot(page, 'sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.locator('#page-title').textContent()).toBe('Check your email');

    const link = (await mailbox.next(email, { subject: /Confirm your email/ })).link(`${server.issuer}/email/verify`);
    const other = await newPage();
    await other.goto(link);
    await other.getByRole('button', { name: 'Yes, confirm it' }).click();
    await expect.poll(() => other.locator('#page-title').textContent()).toBe('Your email address is confirmed');

    // Back in the first tab: "Sign in" returns to the app's request.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await signIn(page, { email, password: NEW_PASSWORD });
    const callback = await app.next(page);
    expect(callback.searchParams.get('code')).toBeTruthy();
  });
});
