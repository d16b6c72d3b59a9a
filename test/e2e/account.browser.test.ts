// The account page in a real browser (Chromium, script off): signing in from /account through
// Tessera's own sign-in page, then, with an app (openid-client) holding a refresh token from the
// same browser, removing the app's access and changing the password, each checked at /token.
// Screenshots go to test-results/screenshots/.
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, signIn, startCallbackServer } from '../setup/browser.ts';
import { startMailbox, type Mailbox } from '../setup/mailbox.ts';
import { startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { createUser } from '../hardening/support.ts';

const NEW_PASSWORD = 'lantern orchard velvet 42';

let server: TestServer;
let browser: Browser;
let mailbox: Mailbox;
let callbacks: Awaited<ReturnType<typeof startCallbackServer>>;
let config: oidc.Configuration;

beforeAll(async () => {
  mailbox = await startMailbox();
  [server, browser, callbacks] = await Promise.all([
    startTestServer({ SMTP_URL: mailbox.url }),
    launchBrowser(),
    startCallbackServer(),
  ]);
  const client = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Notes',
    '--grant-types',
    'authorization_code,refresh_token',
    '--redirect-uri',
    callbacks.redirectUri,
    '--scope',
    'openid email offline_access',
  ]);
  config = await oidc.discovery(
    new URL(server.issuer),
    client.client_id,
    client.client_secret,
    oidc.ClientSecretBasic(client.client_secret),
    { execute: [oidc.allowInsecureRequests] },
  );
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await callbacks?.close();
  await server?.close();
  await mailbox?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled: false });
  return context.newPage();
}

/** The app signs the browser's user in (approving its access) and gets its tokens. */
async function appSignIn(page: Page, user?: { email: string; password: string }) {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: callbacks.redirectUri,
    scope: 'openid email offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const redirected = callbacks.next(page);
  await page.goto(url.href);
  if (user) await signIn(page, user);
  await page.getByRole('button', { name: 'Allow' }).click();
  return oidc.authorizationCodeGrant(config, await redirected, { pkceCodeVerifier: verifier });
}

/** Whether the refresh token still works at /token (invalid_grant when it was ended); the next one. */
async function refreshes(refreshToken: string): Promise<boolean | string> {
  try {
    return (await oidc.refreshTokenGrant(config, refreshToken)).refresh_token!;
  } catch (err) {
    return (err as { error?: string }).error ?? String(err);
  }
}

// Each test signs in with argon2 once or twice, in a browser, on a machine shared by many.
describe('the account page in a browser', { timeout: 90_000 }, () => {
  it('signs in from /account through the sign-in page, and lands back on it', async () => {
    const user = await createUser();
    const page = await newPage();
    await page.goto(`${server.issuer}/account`);
    await expect(page.locator('.lead').textContent()).resolves.toContain('Your account');
    await signIn(page, user);
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/account');
    await expect(page.locator('#account-email').textContent()).resolves.toBe(user.email);
    await screenshot(page, 'account');
  });

  it('removes an app: its refresh token is refused at /token', async () => {
    const user = await createUser();
    const page = await newPage();
    const tokens = await appSignIn(page, user);
    // The family's live refresh token, rotated once: a later use of it is no reuse.
    const live = await refreshes(tokens.refresh_token!);
    expect(live).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    await page.goto(`${server.issuer}/account`);
    const app = page.locator('li.app', { hasText: 'Notes' });
    await expect(app.count()).resolves.toBe(1);
    await app.getByRole('button', { name: 'Remove access' }).click();
    await expect(page.locator('#done').textContent()).resolves.toBe('The app no longer has access to your account.');
    await expect(page.locator('li.app').count()).resolves.toBe(0);
    await screenshot(page, 'account-app-removed');
    await expect(refreshes(live as string)).resolves.toBe('invalid_grant');
  });

  it('changes the password: the old refresh token is dead, this browser stays signed in', async () => {
    const user = await createUser();
    const page = await newPage();
    const tokens = await appSignIn(page, user);
    await page.goto(`${server.issuer}/account`);
    await page.getByLabel('Current password').fill(user.password);
    await page.getByLabel('New password', { exact: true }).fill('password1234');
    await page.getByLabel('New password again').fill('password1234');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('#password-error').textContent()).resolves.toContain('too easy to guess');
    await screenshot(page, 'account-password-weak');
    await page.getByLabel('Current password').fill(user.password);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('#done').textContent()).resolves.toContain('Your password was changed.');
    await expect(refreshes(tokens.refresh_token!)).resolves.toBe('invalid_grant');
    // Still signed in here: the app's next sign-in needs no password, only approval.
    const again = await appSignIn(page);
    await expect(refreshes(again.refresh_token!)).resolves.toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('signs out everywhere', async () => {
    const user = await createUser();
    const [page, other] = [await newPage(), await newPage()];
    await appSignIn(page, user);
    await appSignIn(other, user);
    await page.goto(`${server.issuer}/account`);
    await expect(page.locator('li.session').count()).resolves.toBe(2);
    await screenshot(page, 'account-sessions');
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await expect(page.locator('#notice').textContent()).resolves.toContain('signed out everywhere');
    await other.goto(`${server.issuer}/account`);
    await expect(other.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
  });
});
