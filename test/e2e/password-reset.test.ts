// Password reset through a real SMTP server (test/setup/mailbox.ts): the forgotten-password
// page, the mailed link, the new password, and what ends with the old one. Then the link's
// failure modes (tampered, reused, expired, concurrent), an unknown address, and an SMTP server
// that is down or refusing when the link is asked for.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { startMailbox, type Mailbox } from '../setup/mailbox.ts';
import { eventually } from '../setup/eventually.ts';
import { get, newJar, type Jar } from '../setup/sign-in.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import { basic, createApi, createClient, createUser, form, ownAddress, signInForTokens } from '../hardening/support.ts';

const REDIRECT = 'https://app.example.test/callback';
const NEW_PASSWORD = 'lantern orchard velvet 42';
const INVALID_LINK_TEXT = 'The link is invalid, has expired or was used already. Ask for a new one.';

let mailbox: Mailbox;
let server: TestServer;
// Tessera's clock (src/clock.ts), moved forward to expire links without waiting.
let skew = 0;
let audience: string;
let app: { client_id: string; client_secret?: string };
let resourceServer: string;

beforeAll(async () => {
  mailbox = await startMailbox();
  server = await startTestServer(
    { SMTP_URL: mailbox.url, MAIL_FROM: 'Tessera <no-reply@example.test>', TRUSTED_PROXIES: '127.0.0.1' },
    { clock: () => Date.now() + skew },
  );
  audience = await createApi('notes:read');
  app = await createClient([
    '--grant-types',
    'authorization_code,refresh_token',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid email offline_access notes:read',
  ]);
  const rs = await createClient(['--grant-types', 'client_credentials', '--api', audience, '--serves', audience]);
  resourceServer = basic(rs.client_id, rs.client_secret!);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await mailbox?.close();
});

/** A browser's worth of state: cookies, and an address of its own (the mail limits count per address). */
function visitor() {
  const jar = newJar();
  const headers = ownAddress();
  return {
    jar,
    headers,
    get: (path: string) => get(jar, `${server.issuer}${path}`, { headers }),
    async post(path: string, fields: Record<string, string>) {
      return get(jar, `${server.issuer}${path}`, {
        method: 'POST',
        body: new URLSearchParams(fields),
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      });
    },
  };
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
const noticeOf = (html: string) => /<p id="notice">([^<]*)<\/p>/.exec(html)?.[1];

async function askForLink(v: ReturnType<typeof visitor>, email: string) {
  const csrf = csrfOf(await (await v.get('/password/forgot')).text());
  return v.post('/password/forgot', { csrf, email });
}

/** Asks for a link and reads it from the mail. */
async function mailedLink(email: string): Promise<string> {
  const v = visitor();
  expect((await askForLink(v, email)).status).toBe(200);
  return (await mailbox.next(email, { subject: /Reset your/ })).link(`${server.issuer}/password/reset`);
}

async function setPassword(v: ReturnType<typeof visitor>, link: string, password: string, confirm = password) {
  const page = await v.get(new URL(link).pathname + new URL(link).search);
  const html = await page.text();
  if (page.status !== 200) return { status: page.status, html };
  const token = new URL(link).searchParams.get('token')!;
  const res = await v.post('/password/reset', { csrf: csrfOf(html), token, password, confirm });
  return { status: res.status, html: await res.text() };
}

const signInTokens = (user: { email: string; password: string }, jar: Jar) =>
  signInForTokens(
    server.issuer,
    { ...app, redirect: REDIRECT, scope: 'openid offline_access notes:read', resource: audience },
    user,
    jar,
  );

describe('password reset', () => {
  it('mails a link that sets a new password and ends every session, grant and token of the user', async () => {
    const user = await createUser();
    const jar = newJar();
    const { url, tokens } = await signInTokens(user, jar);
    expect(tokens.refresh_token).toBeTruthy();

    const link = await mailedLink(user.email);
    expect(link).toMatch(new RegExp(`^${server.issuer}/password/reset\\?token=[A-Za-z0-9_-]{43}$`));
    const done = await setPassword(visitor(), link, NEW_PASSWORD);
    expect(done.status).toBe(200);
    expect(noticeOf(done.html)).toBe(
      'You are signed out everywhere. Go back to the app you were using and sign in with your new password.',
    );

    // The refresh token is dead, the access token inactive, the browser's session gone.
    const refreshed = await fetch(`${server.issuer}/token`, {
      ...form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(app.client_id, app.client_secret!),
      },
    });
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error: string }).error).toBe('invalid_grant');
    await eventually(async () => {
      const res = await fetch(`${server.issuer}/token/introspection`, {
        ...form({ token: tokens.access_token }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: resourceServer },
      });
      return ((await res.json()) as { active: boolean }).active === false;
    });
    const again = await get(jar, url.href);
    const interaction = new URL(again.headers.get('location')!, server.issuer);
    expect(await (await get(jar, interaction.href)).text()).toContain('action="/interaction/');
    expect(await (await get(jar, interaction.href)).text()).toContain('<h1 id="page-title">Sign in</h1>');

    // The old password no longer signs in; the new one does.
    await expect(signInTokens(user, newJar())).rejects.toThrow('login answered 401');
    await signInTokens({ email: user.email, password: NEW_PASSWORD }, newJar());

    // A notice of the change goes to the address, and the audit trail has the reset.
    expect((await mailbox.next(user.email, { subject: /password was changed/ })).text).toContain(
      'every session signed in with it has ended',
    );
    const audit = await server.db.pool.query(
      `SELECT type FROM audit_events WHERE subject = (SELECT id::text FROM users WHERE email = $1) ORDER BY id`,
      [user.email],
    );
    expect(audit.rows.map((r) => r.type)).toEqual(
      expect.arrayContaining(['user.password_reset_requested', 'user.password_reset']),
    );
  });

  it('gives the same answer for an address without an account, and mails nothing', async () => {
    const user = await createUser();
    const nobody = `${randomUUID()}@example.test`;
    const a = await askForLink(visitor(), nobody);
    const b = await askForLink(visitor(), user.email);
    const [bodyA, bodyB] = [await a.text(), await b.text()];
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(noticeOf(bodyA)).toBe(
      `If an account exists for ${nobody}, we have sent it a link to choose a new password. The link works for 30 minutes.`,
    );
    expect(bodyA.replaceAll(nobody, 'X')).toBe(bodyB.replaceAll(user.email, 'X'));
    // The known address's mail arrives; the unknown one's request, handled before it, sent none.
    await mailbox.next(user.email, { subject: /Reset your/ });
    expect(mailbox.to(nobody)).toEqual([]);
  });

  it('refuses a tampered, a reused and an expired link with one answer', async () => {
    const user = await createUser();
    const link = await mailedLink(user.email);
    const token = new URL(link).searchParams.get('token')!;
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [tampered, 'short', '', `${token}x`]) {
      const res = await visitor().get(`/password/reset?token=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect(noticeOf(await res.text())).toBe(INVALID_LINK_TEXT);
    }
    expect((await setPassword(visitor(), link, NEW_PASSWORD)).status).toBe(200);
    const reused = await setPassword(visitor(), link, 'another fine passphrase 7');
    expect(reused.status).toBe(400);
    expect(noticeOf(reused.html)).toBe(INVALID_LINK_TEXT);

    const later = await mailedLink(user.email);
    skew += 31 * 60_000;
    try {
      const expired = await setPassword(visitor(), later, 'another fine passphrase 7');
      expect(expired.status).toBe(400);
      expect(noticeOf(expired.html)).toBe(INVALID_LINK_TEXT);
    } finally {
      skew -= 31 * 60_000;
    }
  });

  it('a link dies when the password changes another way', async () => {
    const user = await createUser();
    const first = await mailedLink(user.email);
    const second = await mailedLink(user.email);
    expect((await setPassword(visitor(), second, NEW_PASSWORD)).status).toBe(200);
    const stale = await setPassword(visitor(), first, 'another fine passphrase 7');
    expect(stale.status).toBe(400);
  });

  it('of concurrent uses of one link exactly one sets the password', async () => {
    const user = await createUser();
    const link = await mailedLink(user.email);
    const token = new URL(link).searchParams.get('token')!;
    const v = visitor();
    const csrf = csrfOf(await (await v.get(`/password/reset?token=${token}`)).text());
    const passwords = Array.from({ length: 6 }, (_, i) => `concurrent orchard lantern ${i}${i}`);
    const answers = await Promise.all(
      passwords.map((password) => v.post('/password/reset', { csrf, token, password, confirm: password })),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400, 400]);
    const winner = passwords[answers.findIndex((r) => r.status === 200)]!;
    await signInTokens({ email: user.email, password: winner }, newJar());
  });

  it('explains a weak or mistyped password and keeps the link usable', async () => {
    const user = await createUser();
    const link = await mailedLink(user.email);
    const v = visitor();
    const short = await setPassword(v, link, 'short');
    expect(short.status).toBe(400);
    expect(short.html).toContain('Use at least 12 characters.');
    const common = await setPassword(v, link, 'password1234');
    expect(common.status).toBe(400);
    expect(common.html).toContain('This password is too easy to guess.');
    const mismatch = await setPassword(v, link, NEW_PASSWORD, `${NEW_PASSWORD}!`);
    expect(mismatch.html).toContain('The two passwords are not the same.');
    expect((await setPassword(v, link, NEW_PASSWORD)).status).toBe(200);
  });

  it('limits the links per address asked for, whether or not it has an account', async () => {
    const nobody = `${randomUUID()}@example.test`;
    const statuses = await Promise.all(
      Array.from({ length: 6 }, async () => (await askForLink(visitor(), nobody)).status),
    );
    expect(statuses.sort()).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it('refuses a form without its CSRF token', async () => {
    const v = visitor();
    await v.get('/password/forgot');
    const res = await v.post('/password/forgot', { csrf: 'forged', email: 'a@example.test' });
    expect(res.status).toBe(400);
  });
});

describe('with the SMTP server down or refusing', () => {
  it('answers at once, keeps the mail in the outbox, and sends it when the server is back', async () => {
    const port = await freePort();
    const offline = await startTestServer(
      { SMTP_URL: `smtp://127.0.0.1:${port}`, TRUSTED_PROXIES: '127.0.0.1' },
      { clock: () => Date.now() + skew },
    );
    let back: Mailbox | undefined;
    try {
      const user = await createUser();
      const v = visitor();
      const csrf = csrfOf(await (await get(v.jar, `${offline.issuer}/password/forgot`, { headers: v.headers })).text());
      const res = await get(v.jar, `${offline.issuer}/password/forgot`, {
        method: 'POST',
        body: new URLSearchParams({ csrf, email: user.email }),
        headers: { ...v.headers, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).toBe(200);
      // The mail was tried, failed, and waits for its retry.
      const waiting = await eventually(
        async () => {
          const { rows } = await offline.db.pool.query(
            `SELECT attempts, last_error, dead_at FROM outbox WHERE kind = 'mail' AND attempts > 0 AND available_at > now()`,
          );
          return rows.length > 0 ? rows : false;
        },
        { timeoutMs: 15_000 },
      );
      expect(waiting[0].dead_at).toBeNull();

      back = await startMailbox(port);
      back.refuse = true;
      skew += 60 * 60_000; // past the backoff
      await eventually(
        async () => {
          const { rows } = await offline.db.pool.query(`SELECT last_error FROM outbox WHERE kind = 'mail'`);
          return rows.some((r) => /451/.test(r.last_error ?? ''));
        },
        { timeoutMs: 15_000 },
      );
      back.refuse = false;
      skew += 2 * 60 * 60_000;
      const mail = await back.next(user.email, { subject: /Reset your/ });
      expect(mail.text).toContain(`${offline.issuer}/password/reset?token=`);
      // Delivered once: the row is gone, and no second copy arrives.
      await eventually(async () => {
        const { rows } = await offline.db.pool.query(`SELECT count(*)::int AS n FROM outbox WHERE kind = 'mail'`);
        return rows[0].n === 0;
      });
      expect(back.to(user.email)).toHaveLength(1);
    } finally {
      await offline.close();
      await back?.close();
    }
  }, 60_000);
});
