// Pages in more than one language, in a real browser (Chromium): the authorization request's
// ui_locales chooses the language of every page of the sign-in; without it, the browser's
// Accept-Language does; else English. Mail caused by a German page is German (a real SMTP
// server, test/setup/mailbox.ts), and discovery lists the languages.
import * as oauth from 'oauth4webapi';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, startCallbackServer } from '../setup/browser.ts';
import { startMailbox, type Mailbox } from '../setup/mailbox.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import { createApi, createClient, createUser, ownAddress } from '../hardening/support.ts';

let server: TestServer;
let browser: Browser;
let mailbox: Mailbox;
let app: Awaited<ReturnType<typeof startCallbackServer>>;
let client: { client_id: string };

beforeAll(async () => {
  [mailbox, browser, app] = await Promise.all([startMailbox(), launchBrowser(), startCallbackServer()]);
  server = await startTestServer({
    SMTP_URL: mailbox.url,
    MAIL_FROM: 'Tessera <no-reply@example.test>',
    TRUSTED_PROXIES: '127.0.0.1',
  });
  const audience = await createApi('notes:read');
  client = await createClient([
    '--public',
    '--grant-types',
    'authorization_code',
    '--redirect-uri',
    app.redirectUri,
    '--api',
    audience,
    '--scope',
    'openid email notes:read',
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.close();
  await mailbox?.close();
});

/** A browser window of its own: its cookies, its client address, and the language it asks for. */
function context(locale: string): Promise<BrowserContext> {
  return browser.newContext({ locale, extraHTTPHeaders: ownAddress() });
}

async function authorizationUrl(extra: Record<string, string> = {}): Promise<string> {
  const url = new URL(`${server.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: app.redirectUri,
    scope: 'openid email',
    code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
    code_challenge_method: 'S256',
    ...extra,
  }).toString();
  return url.href;
}

describe('the sign-in pages', () => {
  it('are German through to the consent page with ui_locales=de, whatever the browser asks for', async () => {
    const user = await createUser();
    const ctx = await context('en-US');
    try {
      const page = await ctx.newPage();
      await page.goto(await authorizationUrl({ ui_locales: 'fr-CA de en' }));
      await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('de');
      expect(await page.locator('h1').textContent()).toBe('Anmelden');
      expect(await page.title()).toMatch(/^Anmelden · /);
      await screenshot(page, 'login-de');

      // A wrong password: the answer, too, is German.
      await page.getByLabel('E-Mail').fill(user.email);
      await page.getByLabel('Passwort').fill('not the password at all');
      await page.getByRole('button', { name: 'Anmelden' }).click();
      expect(await page.locator('#login-error').textContent()).toBe('E-Mail-Adresse oder Passwort ist falsch.');

      // The interaction keeps the language: the next pages are German too.
      await page.getByLabel('Passwort').fill(user.password);
      await page.getByRole('button', { name: 'Anmelden' }).click();
      await page.getByRole('heading', { name: /den Zugriff auf Ihr Konto erlauben\?$/ }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('de');
      expect(await page.locator('.scope-name').allTextContents()).toEqual([
        'Bestätigen, wer Sie sind',
        'Ihre E-Mail-Adresse sehen',
      ]);
      const back = app.next(page);
      await page.getByRole('button', { name: 'Erlauben' }).click();
      expect((await back).searchParams.get('code')).toBeTruthy();
    } finally {
      await ctx.close();
    }
  });

  it('are German with Accept-Language: de, and English when ui_locales asks for it', async () => {
    const ctx = await context('de-DE');
    try {
      const page = await ctx.newPage();
      const answer = await page.goto(await authorizationUrl());
      expect(await answer!.request().headerValue('accept-language')).toMatch(/^de/);
      await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('de');
      expect(await page.getByRole('button', { name: /^Abbrechen und zurück zu / }).count()).toBe(1);
      expect(await page.getByRole('link', { name: 'Passwort vergessen?' }).count()).toBe(1);

      await page.goto(await authorizationUrl({ ui_locales: 'en' }));
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
    } finally {
      await ctx.close();
    }
  });

  it('are English for a language Tessera does not have', async () => {
    const ctx = await context('fr-FR');
    try {
      const page = await ctx.newPage();
      await page.goto(await authorizationUrl({ ui_locales: 'fr' }));
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
    } finally {
      await ctx.close();
    }
  });
});

describe('pages outside a sign-in', () => {
  it('follow Accept-Language: the account page, and the error page', async () => {
    const user = await createUser();
    const ctx = await context('de-DE');
    try {
      const page = await ctx.newPage();
      await page.goto(`${server.issuer}/account`);
      await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
      await page.getByLabel('E-Mail').fill(user.email);
      await page.getByLabel('Passwort').fill(user.password);
      await page.getByRole('button', { name: 'Anmelden' }).click();
      await page.getByRole('heading', { name: 'Ihr Konto' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('de');
      expect(await page.locator('#sessions .scope-name').first().textContent()).toBe('Dieser Browser');
      expect(await page.locator('#sessions .scope-detail').first().textContent()).toMatch(
        /^Angemeldet am .* mit Passwort$/,
      );
      await screenshot(page, 'account-de');

      const missing = await page.goto(`${server.issuer}/interaction/no-such-sign-in`);
      expect(missing!.status()).toBe(400);
      expect(await page.locator('h1').textContent()).toBe('Diese Anmeldung ist beendet');
      expect(await page.locator('p.muted').textContent()).toMatch(/^Fehlercode: \S+ · Referenz: /);
    } finally {
      await ctx.close();
    }
  });
});

describe('mail', () => {
  it('asked for from a German sign-in is German, in text and HTML, and so are its link and the policy there', async () => {
    const user = await createUser();
    // An English browser: the language comes from the sign-in's ui_locales, carried on by the
    // link to the forgotten-password page, its form, and the mailed link.
    const ctx = await context('en-US');
    try {
      const page = await ctx.newPage();
      await page.goto(await authorizationUrl({ ui_locales: 'de' }));
      await page.getByRole('link', { name: 'Passwort vergessen?' }).click();
      await page.getByRole('heading', { name: 'Passwort vergessen?' }).waitFor();
      await page.getByLabel('E-Mail').fill(user.email);
      await page.getByRole('button', { name: 'Link senden' }).click();
      expect(await page.locator('h1').textContent()).toBe('Sehen Sie in Ihr Postfach');

      const mail = await mailbox.next(user.email);
      expect(mail.subject).toBe('Setzen Sie Ihr Passwort für Tessera zurück');
      expect(mail.text).toContain(
        `Jemand (hoffentlich Sie) hat angefordert, das Passwort Ihres Tessera-Kontos ${user.email}`,
      );
      expect(mail.text).toContain('innerhalb von 30 Minuten');
      expect(mail.html).toContain('<html lang="de">');
      expect(mail.html).toContain('Neues Passwort wählen');

      // The link's page, and the password policy's answer on it (zxcvbn's feedback included).
      const link = mail.link(`${server.issuer}/password/reset`);
      expect(new URL(link).searchParams.get('ui_locales')).toBe('de');
      await page.goto(link);
      expect(await page.locator('h1').textContent()).toBe('Neues Passwort wählen');
      await page.getByLabel('Neues Passwort', { exact: true }).fill('passwordpassword');
      await page.getByLabel('Neues Passwort wiederholen').fill('passwordpassword');
      await page.getByRole('button', { name: 'Neues Passwort speichern' }).click();
      const error = await page.locator('#form-error').textContent();
      expect(error).toMatch(/^Dieses Passwort ist zu leicht zu erraten\. \S/);
      expect(error).not.toMatch(/guess|Avoid|Add more/);
      await screenshot(page, 'reset-weak-de');
    } finally {
      await ctx.close();
    }
  });
});

describe("the provider's own error page", () => {
  it("speaks the request's ui_locales", async () => {
    const url = new URL(await authorizationUrl({ ui_locales: 'de' }));
    url.searchParams.set('redirect_uri', 'https://elsewhere.example.test/callback');
    const res = await fetch(url, { headers: ownAddress() });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<html lang="de">');
    expect(html).toContain('Diese App hat Sie an eine Adresse geschickt, die sie nicht registriert hat');
  });
});

describe('discovery', () => {
  it('lists the languages of the pages', async () => {
    const res = await fetch(`${server.issuer}/.well-known/openid-configuration`);
    expect(((await res.json()) as { ui_locales_supported?: string[] }).ui_locales_supported).toEqual(['en', 'de']);
  });
});
