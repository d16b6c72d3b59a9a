// Sign-up (SIGNUP=open), email verification links and invitations, through a real SMTP server.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailbox, type Mailbox } from '../setup/mailbox.ts';
import { get, newJar } from '../setup/sign-in.ts';
import { startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { ownAddress } from '../hardening/support.ts';

const PASSWORD = 'lantern orchard velvet 42';
const INVALID = 'The link is invalid, has expired or was used already. Sign in to ask for a new one.';

let mailbox: Mailbox;
let server: TestServer;
let skew = 0;

beforeAll(async () => {
  mailbox = await startMailbox();
  server = await startTestServer(
    { SMTP_URL: mailbox.url, SIGNUP: 'open', TRUSTED_PROXIES: '127.0.0.1' },
    { clock: () => Date.now() + skew },
  );
}, 60_000);
afterAll(async () => {
  await server?.close();
  await mailbox?.close();
});

function visitor() {
  const jar = newJar();
  const headers = ownAddress();
  return {
    get: (path: string) => get(jar, `${server.issuer}${path}`, { headers }),
    post: (path: string, fields: Record<string, string>) =>
      get(jar, `${server.issuer}${path}`, {
        method: 'POST',
        body: new URLSearchParams(fields),
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      }),
  };
}
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
const noticeOf = (html: string) => /<p id="notice">([^<]*)<\/p>/.exec(html)?.[1];
const verified = async (email: string) =>
  (await server.db.pool.query('SELECT email_verified FROM users WHERE email = $1', [email])).rows[0]?.email_verified;

async function signUp(email: string, password = PASSWORD) {
  const v = visitor();
  const csrf = csrfOf(await (await v.get('/signup')).text());
  const res = await v.post('/signup', { csrf, email, password, confirm: password, return: '' });
  return { status: res.status, html: await res.text() };
}

/** Opens a verification link and presses its button. */
async function confirm(link: string) {
  const v = visitor();
  const url = new URL(link);
  const page = await v.get(url.pathname + url.search);
  const html = await page.text();
  if (page.status !== 200) return { status: page.status, html };
  const res = await v.post('/email/verify', { csrf: csrfOf(html), token: url.searchParams.get('token')! });
  return { status: res.status, html: await res.text() };
}

describe('sign-up and email verification', () => {
  it('creates an unverified account, mails a link, and the link verifies it once', async () => {
    const email = `${randomUUID()}@example.test`;
    const done = await signUp(email);
    expect(done.status).toBe(200);
    expect(noticeOf(done.html)).toBe(
      `We have sent a link to ${email} to confirm the address. Then sign in with your email and password.`,
    );
    expect(await verified(email)).toBe(false);
    const link = (await mailbox.next(email, { subject: /Confirm your email/ })).link(`${server.issuer}/email/verify`);
    // Opening the link does not verify (a mail scanner's fetch must not); the button does.
    const v = visitor();
    const url = new URL(link);
    expect((await v.get(url.pathname + url.search)).status).toBe(200);
    expect(await verified(email)).toBe(false);
    const ok = await confirm(link);
    expect(ok.status).toBe(200);
    expect(noticeOf(ok.html)).toBe(`${email} is confirmed. You can close this page and go back to the app.`);
    expect(await verified(email)).toBe(true);
    const again = await confirm(link);
    expect(again.status).toBe(400);
    expect(noticeOf(again.html)).toBe(INVALID);
  });

  it('answers the same for an address that has an account, and mails it nothing', async () => {
    const email = `${randomUUID()}@example.test`;
    await signUp(email);
    await mailbox.next(email, { subject: /Confirm your email/ });
    const second = await signUp(email, 'a different passphrase 99');
    expect(second.status).toBe(200);
    expect(noticeOf(second.html)).toBe(
      `We have sent a link to ${email} to confirm the address. Then sign in with your email and password.`,
    );
    const third = `${randomUUID()}@example.test`;
    await signUp(third);
    await mailbox.next(third, { subject: /Confirm your email/ });
    expect(mailbox.to(email)).toHaveLength(1);
  });

  it('refuses a weak password with a clear message', async () => {
    const res = await signUp(`${randomUUID()}@example.test`, 'password1234');
    expect(res.status).toBe(400);
    expect(res.html).toContain('This password is too easy to guess.');
  });

  it('refuses tampered and expired verification links', async () => {
    const email = `${randomUUID()}@example.test`;
    await signUp(email);
    const link = (await mailbox.next(email, { subject: /Confirm your email/ })).link(`${server.issuer}/email/verify`);
    const token = new URL(link).searchParams.get('token')!;
    const tampered = `${server.issuer}/email/verify?token=${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expect((await confirm(tampered)).status).toBe(400);
    skew += 49 * 3_600_000;
    try {
      const expired = await confirm(link);
      expect(expired.status).toBe(400);
      expect(noticeOf(expired.html)).toBe(INVALID);
    } finally {
      skew -= 49 * 3_600_000;
    }
    expect(await verified(email)).toBe(false);
  });

  it('the sign-up page links back to the sign-in it came from', async () => {
    const v = visitor();
    const res = await v.get('/signup?return=abc');
    expect(await res.text()).toContain('<a href="/interaction/abc">I have an account: sign in</a>');
  });
});

describe('the CLI', () => {
  const cliEnv = { ISSUER: '', SIGNUP: 'invite' };
  beforeAll(() => {
    cliEnv.ISSUER = server.issuer;
  });

  it('users create --send-verification mails a link; users verify-email sends another', async () => {
    const email = `${randomUUID()}@example.test`;
    const user = await tesseraJson<{ id: string; email_verified: boolean }>(
      ['users', 'create', '--email', email, '--send-verification'],
      cliEnv,
    );
    expect(user.email_verified).toBe(false);
    await mailbox.next(email, { subject: /Confirm your email/ });
    await tesseraJson(['users', 'verify-email', email], cliEnv);
    const link = (await mailbox.next(email, { subject: /Confirm your email/ })).link(`${server.issuer}/email/verify`);
    expect((await confirm(link)).status).toBe(200);
    expect(await verified(email)).toBe(true);
  });

  it('users invite mails a link where the user chooses a password, once', async () => {
    const email = `${randomUUID()}@example.test`;
    await tesseraJson(['users', 'invite', '--email', email], cliEnv);
    const mail = await mailbox.next(email, { subject: /invited/ });
    const link = new URL(mail.link(`${server.issuer}/password/reset`));
    const v = visitor();
    const html = await (await v.get(link.pathname + link.search)).text();
    expect(html).toContain('<h1 id="page-title">Choose your password</h1>');
    const token = link.searchParams.get('token')!;
    const res = await v.post('/password/reset', { csrf: csrfOf(html), token, password: PASSWORD, confirm: PASSWORD });
    expect(res.status).toBe(200);
    expect(noticeOf(await res.text())).toBe(`Sign in to your app with ${email} and the password you chose.`);
    expect(await verified(email)).toBe(true);
    const reused = await v.post('/password/reset', {
      csrf: csrfOf(html),
      token,
      password: PASSWORD,
      confirm: PASSWORD,
    });
    expect(reused.status).toBe(400);
  });

  it('users invite is refused while SIGNUP=off', async () => {
    const res = await tessera(['users', 'invite', '--email', `${randomUUID()}@example.test`], {
      env: { ISSUER: server.issuer },
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('invitations are off: set SIGNUP=invite');
  });
});

describe('a client that requires a verified email', () => {
  it('sends an unverified user to confirm the address before a code is issued', async () => {
    const redirect = 'https://app.example.test/callback';
    const client = await tesseraJson<{ client_id: string; require_verified_email: boolean }>([
      'clients',
      'create',
      '--name',
      'Strict',
      '--public',
      '--first-party',
      '--require-verified-email',
      '--grant-types',
      'authorization_code',
      '--redirect-uri',
      redirect,
      '--scope',
      'openid email',
    ]);
    expect(client.require_verified_email).toBe(true);
    const email = `${randomUUID()}@example.test`;
    expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: PASSWORD })).code).toBe(
      0,
    );

    const jar = newJar();
    const headers = ownAddress();
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: redirect,
      scope: 'openid email',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const interaction = new URL((await get(jar, url.href, { headers })).headers.get('location')!, server.issuer);
    const login = async () => {
      const csrf = csrfOf(await (await get(jar, interaction.href, { headers })).text());
      return get(jar, `${interaction.href}/login`, {
        method: 'POST',
        body: new URLSearchParams({ csrf, email, password: PASSWORD }),
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      });
    };
    const refused = await login();
    expect(refused.status).toBe(403);
    expect(noticeOf(await refused.text())).toBe(
      `Strict needs a confirmed email address. We have sent a link to ${email}: open it, then sign in again.`,
    );
    const link = (await mailbox.next(email, { subject: /Confirm your email/ })).link(`${server.issuer}/email/verify`);
    expect((await confirm(link)).status).toBe(200);

    const accepted = await login();
    expect(accepted.status).toBe(303);
    let next = new URL(accepted.headers.get('location')!, server.issuer);
    while (next.origin === server.issuer) {
      const res = await get(jar, next.href, { headers });
      next = new URL(res.headers.get('location')!, server.issuer);
    }
    expect(next.searchParams.get('code')).toBeTruthy();
  });
});
