// A person signs in to an app through Tessera's pages in a real browser (Chromium), and the app,
// with openid-client as its OpenID Connect library, completes Authorization Code + PKCE,
// validates the ID token and refreshes.
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, signIn, startCallbackServer } from '../setup/browser.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

let server: TestServer;
let browser: Browser;
let audience: string;
let app: Awaited<ReturnType<typeof startCallbackServer>>;
let REDIRECT: string;

beforeAll(async () => {
  [server, browser, app] = await Promise.all([startTestServer(), launchBrowser(), startCallbackServer()]);
  REDIRECT = app.redirectUri;
  audience = `https://${randomId('notes')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'notes:read notes:write']);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.close();
});

async function createUser(password = 'correct horse battery') {
  const email = `${randomId('ada')}@example.test`;
  const result = await tessera(
    ['--json', 'users', 'create', '--email', email, '--name', 'Ada Lovelace', '--email-verified', '--password-stdin'],
    { input: password },
  );
  expect(result.code).toBe(0);
  return { email, password, id: JSON.parse(result.stdout).id as string };
}

async function createClient(extra: string[] = []) {
  return tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Notes',
    '--grant-types',
    'authorization_code,refresh_token',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid profile email offline_access notes:read',
    ...extra,
  ]);
}

async function relyingParty(client: { client_id: string; client_secret: string }) {
  return oidc.discovery(
    new URL(server.issuer),
    client.client_id,
    client.client_secret,
    oidc.ClientSecretBasic(client.client_secret),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
}

async function authorizationUrl(config: oidc.Configuration, scope: string, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url, verifier, state, nonce };
}

describe('signing in to an app', () => {
  it('login → consent → redirect; code + PKCE; ID token; JWT access token; refresh rotation', async () => {
    const user = await createUser();
    const client = await createClient();
    const config = await relyingParty(client);
    const request = await authorizationUrl(config, 'openid profile email offline_access notes:read', {
      prompt: 'consent',
    });

    const page = await browser.newPage();
    const redirected = app.next(page);
    await page.goto(request.url.href);
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'login');

    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe('The email or password is incorrect.');
    await screenshot(page, 'login-failed');

    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow Notes to access your account?' }).waitFor();
    const listed = await page.locator('.scopes li .scope-name').allTextContents();
    expect(listed).toEqual([
      'Confirm who you are',
      'See your profile',
      'See your email address',
      'Stay connected',
      'Use the API permission “notes:read”',
    ]);
    await screenshot(page, 'consent');
    await page.getByRole('button', { name: 'Allow' }).click();

    const callback = await redirected;
    expect(callback.searchParams.get('state')).toBe(request.state);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });

    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const { payload: idToken, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, {
      issuer: server.issuer,
      audience: client.client_id,
      algorithms: ['RS256'],
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(idToken).toMatchObject({
      sub: user.id,
      nonce: request.nonce,
      amr: ['pwd'],
      acr: 'urn:tessera:acr:pwd',
      email: user.email,
      email_verified: true,
      name: 'Ada Lovelace',
    });
    expect(idToken.auth_time).toEqual(expect.any(Number));

    const { payload: at } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.issuer,
      audience,
      typ: 'at+jwt',
      algorithms: ['RS256'],
    });
    // The access token is for the API and for userinfo, and carries the granted scopes.
    expect(at).toMatchObject({
      sub: user.id,
      client_id: client.client_id,
      aud: [audience, `${server.issuer}/me`],
      scope: 'openid profile email offline_access notes:read',
    });
    expect(tokens.scope).toBe(at.scope);

    expect(tokens.refresh_token).toEqual(expect.any(String));
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(refreshed.access_token).sub).toBe(user.id);
    await page.close();
  });

  it('remembers consent for the same scopes, and a first-party app never asks', async () => {
    const user = await createUser();
    for (const [client, asksFirstTime] of [
      [await createClient(), true],
      [await createClient(['--first-party']), false],
    ] as const) {
      const config = await relyingParty(client);
      const context = await browser.newContext();
      for (const round of [1, 2]) {
        const page = await context.newPage();
        const request = await authorizationUrl(config, 'openid email notes:read');
        const redirected = app.next(page);
        await page.goto(request.url.href);
        if (round === 1) {
          await signIn(page, user);
        }
        if (round === 1 && asksFirstTime) {
          await page.getByRole('button', { name: 'Allow' }).click();
        }
        const callback = await redirected;
        await expect(
          oidc.authorizationCodeGrant(config, callback, {
            pkceCodeVerifier: request.verifier,
            expectedState: request.state,
            expectedNonce: request.nonce,
          }),
        ).resolves.toHaveProperty('id_token');
        await page.close();
      }
      // A new browser (no session): sign in again, but the consent is remembered.
      const fresh = await browser.newContext();
      const page = await fresh.newPage();
      const request = await authorizationUrl(config, 'openid email');
      const redirected = app.next(page);
      await page.goto(request.url.href);
      await signIn(page, user);
      expect((await redirected).searchParams.get('code')).toEqual(expect.any(String));
      await context.close();
      await fresh.close();
    }
  });

  it('denying consent sends access_denied back to the app', async () => {
    const user = await createUser();
    const config = await relyingParty(await createClient());
    const request = await authorizationUrl(config, 'openid email');
    const page = await browser.newPage();
    const redirected = app.next(page);
    await page.goto(request.url.href);
    await signIn(page, user);
    await page.getByRole('button', { name: 'Deny' }).click();
    const callback = await redirected;
    expect(Object.fromEntries(callback.searchParams)).toMatchObject({
      error: 'access_denied',
      error_description: 'the user denied the request',
      state: request.state,
    });
    await page.close();
  });

  it('a disabled user cannot sign in, and gets the same answer as a wrong password', async () => {
    const user = await createUser();
    await tesseraJson(['users', 'disable', user.email]);
    const config = await relyingParty(await createClient());
    const request = await authorizationUrl(config, 'openid');
    const page = await browser.newPage();
    await page.goto(request.url.href);
    await signIn(page, user);
    await expect(page.getByRole('alert').textContent()).resolves.toBe('The email or password is incorrect.');
    await page.close();
  });

  it('shows an error page, never a stack, for a broken sign-in link, and a logout confirmation', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${server.issuer}/interaction/not-a-real-interaction`);
    expect(res?.status()).toBe(400);
    await expect(page.getByRole('heading').textContent()).resolves.toBe('This sign-in has ended');
    expect(await page.content()).not.toMatch(/at \w+ \(|node_modules/);
    await screenshot(page, 'error');

    // Signed in, the user is asked to confirm signing out.
    const user = await createUser();
    const config = await relyingParty(await createClient(['--first-party']));
    const request = await authorizationUrl(config, 'openid');
    const redirected = app.next(page);
    await page.goto(request.url.href);
    await signIn(page, user);
    await redirected;
    await page.goto(`${server.issuer}/session/end`);
    await page.getByRole('heading', { name: /Sign out of/ }).waitFor();
    await screenshot(page, 'logout');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await screenshot(page, 'logged-out');
    await page.close();
  });
});
