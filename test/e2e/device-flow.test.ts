// The Device Authorization Grant (RFC 8628): openid-client polls as a CLI would, while a person
// enters the code in a real browser, signs in and approves.
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, signIn } from '../setup/browser.ts';
import { eventually } from '../setup/eventually.ts';
import { newJar } from '../setup/sign-in.ts';
import { approveDevice } from '../hardening/device-approval.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

let server: TestServer;
let clockOffset = 0;
let browser: Browser;
let audience: string;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

beforeAll(async () => {
  // Tessera's clock (src/clock.ts) decides slow_down: the tests move it past an interval.
  [server, browser] = await Promise.all([
    startTestServer({ DEVICE_POLL_INTERVAL: '1' }, { clock: () => Date.now() + clockOffset }),
    launchBrowser(),
  ]);
  audience = `https://${randomId('tv')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'videos:watch']);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function setup(on = server) {
  const email = `${randomId('viewer')}@example.test`;
  await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: 'correct horse battery' });
  const client = await tesseraJson<{ client_id: string }>([
    'clients',
    'create',
    '--name',
    'Living-room TV',
    '--grant-types',
    'device_code,refresh_token',
    '--public',
    '--api',
    audience,
    '--scope',
    'openid profile offline_access videos:watch',
  ]);
  const config = await oidc.discovery(new URL(on.issuer), client.client_id, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  return { user: { email, password: 'correct horse battery' }, client, config };
}

async function poll(on: TestServer, clientId: string, deviceCode: string) {
  const res = await fetch(`${on.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * The person's side: enter the code (typed loosely), sign in, then answer the one question
 * (issue 22: no "Connect …?" before sign-in and "Allow …?" after it).
 */
async function approveInBrowser(
  page: Page,
  verificationUri: string,
  userCode: string,
  user: { email: string; password: string },
  decision: 'Connect' | 'Deny',
  shots = false,
) {
  await page.goto(verificationUri);
  // verification_uri_complete carries the code, and goes straight to sign-in.
  if (!verificationUri.includes('user_code=')) {
    await page.getByRole('heading', { name: 'Connect a device' }).waitFor();
    if (shots) await screenshot(page, 'device-code');
    await page.getByLabel('Code').fill(userCode.replace('-', '').toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
  }
  await signIn(page, user);
  await page.getByRole('heading', { name: 'Connect Living-room TV?' }).waitFor();
  await expect(page.locator('.user-code').textContent()).resolves.toBe(userCode);
  await expect(page.locator('.scopes li .scope-name').first().textContent()).resolves.toBe('Confirm who you are');
  // One question: Connect or Deny, nothing to allow on another page.
  await expect(page.getByRole('button').allTextContents()).resolves.toEqual(['Connect', 'Deny']);
  if (shots) await screenshot(page, 'device-confirm');
  await page.getByRole('button', { name: decision }).click();
}

describe('device authorization grant', () => {
  it('a CLI polls while the user approves in a browser; it gets RS256 tokens and a rotating refresh token', async () => {
    const { user, config } = await setup();
    const started = await oidc.initiateDeviceAuthorization(config, {
      scope: 'openid profile offline_access videos:watch',
    });
    expect(started.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(started.verification_uri).toBe(`${server.issuer}/device`);
    expect(started.verification_uri_complete).toBe(`${server.issuer}/device?user_code=${started.user_code}`);
    expect(started.interval).toBe(1);
    expect(started.expires_in).toBe(600);

    const tokens = oidc.pollDeviceAuthorizationGrant(config, started);
    const page = await browser.newPage();
    await approveInBrowser(page, started.verification_uri, started.user_code, user, 'Connect', true);
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await screenshot(page, 'device-connected');
    await page.close();

    const got = await tokens;
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    await jwtVerify(got.id_token!, jwks, { issuer: server.issuer, algorithms: ['RS256'] });
    const { payload } = await jwtVerify(got.access_token, jwks, {
      issuer: server.issuer,
      audience,
      typ: 'at+jwt',
      algorithms: ['RS256'],
    });
    // The granted scopes, OIDC's and the API's; with openid, the token is for userinfo too.
    expect(payload.scope).toBe('openid profile offline_access videos:watch');
    expect(payload.aud).toEqual([audience, `${server.issuer}/me`]);
    const refreshed = await oidc.refreshTokenGrant(config, got.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(got.refresh_token);
  });

  it('answers each RFC 8628 §3.5 error exactly: pending, slow_down, denied, redeemed once', async () => {
    const { user, client, config } = await setup();
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });

    expect(await poll(server, client.client_id, started.device_code)).toEqual({
      status: 400,
      body: {
        error: 'authorization_pending',
        error_description:
          "authorization request is still pending as the end-user hasn't yet completed the user interaction steps",
      },
    });
    // Polled again at once (the interval is 1 s): slow down, and the interval grows by 5 s.
    const slowDown = {
      status: 400,
      body: {
        error: 'slow_down',
        error_description: 'you are polling too quickly and should back off at a reasonable rate',
      },
    };
    expect(await poll(server, client.client_id, started.device_code)).toEqual(slowDown);
    clockOffset += 1_001;
    expect(await poll(server, client.client_id, started.device_code)).toEqual(slowDown);

    const page = await browser.newPage();
    await approveInBrowser(page, started.verification_uri_complete!, started.user_code, user, 'Connect');
    await page.close();
    clockOffset += 11_001; // 1 s + 5 s + 5 s since the last poll
    const first = await poll(server, client.client_id, started.device_code);
    expect(first.status).toBe(200);
    expect(await poll(server, client.client_id, started.device_code)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });

    const denied = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
    const page2 = await browser.newPage();
    await approveInBrowser(page2, denied.verification_uri, denied.user_code, user, 'Deny');
    await page2.close();
    expect(await poll(server, client.client_id, denied.device_code)).toEqual({
      status: 400,
      body: { error: 'access_denied', error_description: 'the user denied the request' },
    });
  }, 60_000);

  it('answers expired_token once the device code has expired', async () => {
    const short = await startTestServer({ DEVICE_CODE_TTL: '5', DEVICE_POLL_INTERVAL: '1' });
    try {
      const { client, config } = await setup(short);
      const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
      expect(started.expires_in).toBe(5);
      // The code's expiry is oidc-provider's, on the system clock (no seam), so real seconds pass:
      // the test polls as a well-behaved device does, until the code has expired. Every 2.5 s, well
      // over the 1 s interval, so that a loaded machine's latency never makes a poll look too fast
      // (slow_down, which is answered before expiry is looked at).
      // (eventually() asks at once, so this is the first poll: no other poll before it.)
      await eventually(
        async () =>
          expect(await poll(short, client.client_id, started.device_code)).toEqual({
            status: 400,
            body: { error: 'expired_token', error_description: 'device code is expired' },
          }),
        { timeoutMs: 20_000, intervalMs: 2_500 },
      );
    } finally {
      await short.close();
    }
  }, 60_000);

  it('limits wrong code entries per client IP; right ones spend nothing (RFC 8628 §5.1)', async () => {
    const limited = await startTestServer({ DEVICE_CODE_ATTEMPTS: '3', TRUSTED_PROXIES: '127.0.0.1' });
    try {
      const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
      const from = { 'x-forwarded-for': ip };
      const { user, client, config } = await setup(limited);
      // Many devices behind one address (an office, a NAT): every one of them can be approved.
      for (let i = 0; i < 11; i++) {
        const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
        await approveDevice(newJar(), limited.issuer, started.verification_uri_complete!, user, from);
        expect((await poll(limited, client.client_id, started.device_code)).status).toBe(200);
      }

      const page = await fetch(`${limited.issuer}/device`);
      const cookies = page.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      let xsrf = /name="xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
      const enter = () =>
        fetch(`${limited.issuer}/device`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies, ...from },
          body: new URLSearchParams({ xsrf, user_code: 'BCDF-GHJK' }),
        });
      for (let i = 0; i < 2; i++) {
        const wrong = await enter();
        expect(wrong.status).toBe(400);
        const html = await wrong.text();
        expect(html).toContain('That code is not right.');
        xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!; // each page has a fresh one
      }
      // Guesses at once: exactly the one left is looked at, the others are refused.
      const answers = await Promise.all(Array.from({ length: 8 }, enter));
      expect(answers.map((r) => r.status).sort()).toEqual([400, 429, 429, 429, 429, 429, 429, 429]);
      const refused = answers.find((r) => r.status === 429)!;
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await refused.text()).toContain('Too many attempts');
      // Locked out now, right codes included.
      const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
      await expect(
        approveDevice(newJar(), limited.issuer, started.verification_uri_complete!, user, from),
      ).rejects.toThrow(/device approval: 429/);
    } finally {
      await limited.close();
    }
  }, 120_000);
});
