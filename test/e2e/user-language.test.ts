// A user's language (users.locale): set by an admin (CLI, admin API) or by the pages the user
// uses (sign-up, sign-in), and the language of the mail sent with no page to take it from
// (invitations and verification links an admin sends), through a real SMTP server. It is the
// OpenID Connect `locale` claim too.
import { randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminClient, adminCaller, adminToken, CLI_MODES, cliIn, createAdminClient } from '../setup/admin.ts';
import { startMailbox, type Mailbox } from '../setup/mailbox.ts';
import { authorize, get, newJar } from '../setup/sign-in.ts';
import { startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { createClient, createUser, form, ownAddress } from '../hardening/support.ts';

const PASSWORD = 'lantern orchard velvet 42';

let mailbox: Mailbox;
let server: TestServer;
let admin: ReturnType<typeof adminCaller>;
let adminClient: AdminClient;
const cliEnv = { ISSUER: '', SIGNUP: 'invite' };

beforeAll(async () => {
  mailbox = await startMailbox();
  server = await startTestServer({ SMTP_URL: mailbox.url, SIGNUP: 'open', TRUSTED_PROXIES: '127.0.0.1' });
  cliEnv.ISSUER = server.issuer;
  adminClient = await createAdminClient();
  admin = adminCaller(server.issuer, await adminToken(server.issuer, adminClient));
}, 60_000);
afterAll(async () => {
  await server?.close();
  await mailbox?.close();
});

const storedLocale = async (email: string) =>
  (await server.db.pool.query('SELECT locale FROM users WHERE email = $1', [email])).rows[0]?.locale;
const newEmail = () => `${randomUUID()}@example.test`;

/** The German verification mail, with its link opening the German page. */
async function expectGermanVerification(email: string) {
  const mail = await mailbox.next(email, { subject: /Bestätigen Sie Ihre E-Mail-Adresse/ });
  expect(new URL(mail.link(`${server.issuer}/email/verify`)).searchParams.get('ui_locales')).toBe('de');
}

async function expectGermanInvitation(email: string) {
  const mail = await mailbox.next(email, { subject: /Sie sind zu .* eingeladen/ });
  expect(new URL(mail.link(`${server.issuer}/password/reset`)).searchParams.get('ui_locales')).toBe('de');
}

// Every mail an admin sends from the CLI, in both of its modes: on the database, and through
// the admin API (TESSERA_URL), where the server sends it.
describe.each(CLI_MODES)('the CLI (%s mode)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode, () => ({ issuer: server.issuer, admin: adminClient }));

  it('users invite --locale de mails the invitation in German, and users show says so', async () => {
    const email = newEmail();
    const user = await tesseraJson<{ locale: string }>(['users', 'invite', '--email', email, '--locale', 'de'], cliEnv);
    expect(user.locale).toBe('de');
    await expectGermanInvitation(email);
    expect((await tessera(['users', 'show', email], { env: cliEnv })).stdout).toContain('locale:   de');
  }, 60_000);

  it('users update --locale de-AT: the verification link an admin sends later is German', async () => {
    const email = newEmail();
    await tesseraJson(['users', 'create', '--email', email], cliEnv);
    const updated = await tesseraJson<{ locale: string }>(['users', 'update', email, '--locale', 'de-AT'], cliEnv);
    expect(updated.locale).toBe('de-AT');
    expect(await tesseraJson(['users', 'verify-email', email], cliEnv)).toEqual({ sent: expect.any(String) });
    await expectGermanVerification(email);
    const cleared = await tesseraJson<{ locale: null }>(['users', 'update', email, '--clear-locale'], cliEnv);
    expect(cleared.locale).toBeNull();
    await tesseraJson(['users', 'verify-email', email], cliEnv);
    await mailbox.next(email, { subject: /^Confirm your email address/ });
    // Or the admin's word for it, without a link: audited, and the claim is true from now on.
    const { id } = await tesseraJson<{ id: string }>(['users', 'show', email], cliEnv);
    expect(await tesseraJson(['users', 'verify-email', email, '--mark-verified'], cliEnv)).toEqual({ verified: id });
    expect(await tesseraJson(['users', 'show', email], cliEnv)).toMatchObject({ email_verified: true });
    const audited = await tesseraJson<{ type: string; subject: string }[]>(
      ['audit', '--type', 'user.email_verified', '--limit', '300'],
      cliEnv,
    );
    expect(audited.map((e) => e.subject)).toContain(id);
  }, 120_000);

  it('users create --send-verification --locale de mails in German', async () => {
    const email = newEmail();
    await tesseraJson(['users', 'create', '--email', email, '--locale', 'de', '--send-verification'], cliEnv);
    await expectGermanVerification(email);
  }, 60_000);

  it("users reset-password --send-link mails a link in the user's language, never to a disabled user", async () => {
    const email = newEmail();
    await tesseraJson(['users', 'create', '--email', email, '--locale', 'de'], cliEnv);
    const { id } = await tesseraJson<{ id: string }>(['users', 'show', email], cliEnv);
    expect(await tesseraJson(['users', 'reset-password', email, '--send-link'], cliEnv)).toEqual({ sent: id });
    const mail = await mailbox.next(email, { subject: /Setzen Sie Ihr Passwort/ });
    expect(new URL(mail.link(`${server.issuer}/password/reset`)).searchParams.get('ui_locales')).toBe('de');
    await tesseraJson(['users', 'disable', email], cliEnv);
    expect(await tessera(['users', 'reset-password', email, '--send-link'], { env: cliEnv })).toMatchObject({
      code: 2,
      stderr: `tessera: ${email} is disabled: enable the account first\n`,
    });
  }, 120_000);
});

describe('the CLI', () => {
  it('refuses a language Tessera does not speak, naming the ones it does', async () => {
    const res = await tessera(['users', 'create', '--email', newEmail(), '--locale', 'fr'], { env: cliEnv });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(
      '"fr" is not a language Tessera speaks: use a language tag of en, de (e.g. de or de-AT)',
    );
  });
});

describe('the admin API', () => {
  it('POST /users with locale de and send_verification mails the link in German', async () => {
    const email = newEmail();
    const res = await admin('POST', '/users', { body: { email, locale: 'de', send_verification: true } });
    expect(res.status).toBe(201);
    expect(res.body.locale).toBe('de');
    await expectGermanVerification(email);
  });

  it('POST /users with invite mails the invitation in the language PATCH can change', async () => {
    const email = newEmail();
    const res = await admin('POST', '/users', { body: { email, locale: 'de', invite: true } });
    expect(res.status).toBe(201);
    await expectGermanInvitation(email);
    const patched = await admin('PATCH', `/users/${email}`, {
      body: { locale: 'en' },
      headers: { 'if-match': res.headers.get('etag')! },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.locale).toBe('en');
  });

  it('refuses an unknown language with a 400', async () => {
    const res = await admin('POST', '/users', { body: { email: newEmail(), locale: 'xx-YY' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('is not a language Tessera speaks');
  });
});

describe('the pages a user uses', () => {
  it('a sign-up through German pages stores de, and its verification mail is German', async () => {
    const email = newEmail();
    const jar = newJar();
    const headers = { ...ownAddress(), 'accept-language': 'de-DE,de;q=0.9' };
    const page = await (await get(jar, `${server.issuer}/signup`, { headers })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const res = await get(jar, `${server.issuer}/signup`, {
      method: 'POST',
      body: new URLSearchParams({ csrf, email, password: PASSWORD, confirm: PASSWORD, return: '' }),
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    expect(await storedLocale(email)).toBe('de');
    await expectGermanVerification(email);
  });

  it('a sign-in keeps the language its pages were in; the locale claim says it', async () => {
    const redirect = 'https://app.example.test/callback';
    const client = await createClient([
      '--public',
      '--first-party',
      '--grant-types',
      'authorization_code',
      '--redirect-uri',
      redirect,
      '--scope',
      'openid profile',
    ]);
    const user = await createUser();
    const address = ownAddress();
    async function signIn(headers: Record<string, string>, extra: Record<string, string> = {}) {
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(`${server.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: redirect,
        scope: 'openid profile',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...extra,
      }).toString();
      const code = (await authorize(url, user, newJar(), { ...address, ...headers })).searchParams.get('code')!;
      const token = await fetch(`${server.issuer}/token`, {
        ...form({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirect,
          code_verifier: verifier,
          client_id: client.client_id,
        }),
      });
      const { access_token } = (await token.json()) as { access_token: string };
      const me = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${access_token}` } });
      return (await me.json()) as { locale?: string };
    }
    // No language asked for: none stored, no claim.
    expect((await signIn({})).locale).toBeUndefined();
    expect(await storedLocale(user.email)).toBeNull();
    expect((await signIn({}, { ui_locales: 'de' })).locale).toBe('de');
    expect(await storedLocale(user.email)).toBe('de');
    // A tag of the same language stays as an admin gave it.
    await tesseraJson(['users', 'update', user.email, '--locale', 'de-AT'], cliEnv);
    expect((await signIn({ 'accept-language': 'de' })).locale).toBe('de-AT');
    expect((await signIn({ 'accept-language': 'en-GB' })).locale).toBe('en');
  }, 120_000);
});
