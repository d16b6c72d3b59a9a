// The account page (/account) over HTTP with a cookie jar per browser: signed in with the very
// session an app's sign-in made, or sent to sign in through the authorization endpoint; the
// password change, the sessions, the apps, and what each of them ends (refresh tokens at
// /token), the CSRF check on every form, and the audit trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailbox, type Mailbox } from '../setup/mailbox.ts';
import { get, newJar, type Jar } from '../setup/sign-in.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import {
  createApi,
  createClient,
  createUser,
  ownAddress,
  refresh,
  type Registered,
  signInForTokens,
} from '../hardening/support.ts';

const REDIRECT = 'https://app.example.test/callback';
const NEW_PASSWORD = 'lantern orchard velvet 42';

let mailbox: Mailbox;
let server: TestServer;
let audience: string;
let notes: Registered;
let photos: Registered;
const headers = ownAddress();

beforeAll(async () => {
  mailbox = await startMailbox();
  server = await startTestServer({ SMTP_URL: mailbox.url, TRUSTED_PROXIES: '127.0.0.1' });
  audience = await createApi('notes:read');
  const appArgs = [
    '--grant-types',
    'authorization_code,refresh_token',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid email offline_access notes:read',
  ];
  [notes, photos] = await Promise.all([
    createClient(['--name', 'Notes', ...appArgs]),
    createClient(['--name', 'Photos', ...appArgs]),
  ]);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await mailbox?.close();
});

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
const send = (jar: Jar, path: string, init: RequestInit = {}) =>
  get(jar, new URL(path, server.issuer).href, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
const post = (jar: Jar, path: string, fields: Record<string, string>) =>
  send(jar, path, {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

/** Signs in to an app with `jar`: the browser now has a session, and the app a refresh token. */
const appTokens = (app: Registered, user: { email: string; password: string }, jar: Jar) =>
  signInForTokens(
    server.issuer,
    { ...app, redirect: REDIRECT, scope: 'openid email offline_access notes:read', resource: audience },
    user,
    jar,
  ).then((r) => r.tokens);

/** The account page as `jar` sees it: its status, where it redirects, its HTML. */
async function accountPage(jar: Jar) {
  const res = await send(jar, '/account');
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

/** Goes to /account without a session and signs in where it leads; the page it ends on. */
async function signInAtAccount(jar: Jar, user: { email: string; password: string }) {
  let url = '/account';
  for (let hops = 0; hops < 10; hops++) {
    const res = await send(jar, url);
    if (res.status === 303 || res.status === 302) {
      url = res.headers.get('location')!;
      continue;
    }
    const html = await res.text();
    const uid = /action="\/interaction\/([^/]+)\/login"/.exec(html)?.[1];
    if (!uid) return { url, status: res.status, html };
    const posted = await post(jar, `/interaction/${uid}/login`, { csrf: csrfOf(html), ...user });
    expect(posted.status).toBe(303);
    url = posted.headers.get('location')!;
  }
  throw new Error('too many redirects');
}

async function auditTypes(email: string): Promise<string[]> {
  const { rows } = await server.db.pool.query<{ type: string }>(
    `SELECT type FROM audit_events WHERE subject = (SELECT id::text FROM users WHERE email = $1) ORDER BY id`,
    [email],
  );
  return rows.map((r) => r.type);
}

describe('signing in to the account page', () => {
  it('sends a browser without a session to sign in, and back to the page', async () => {
    const user = await createUser();
    const jar = newJar();
    const first = await accountPage(jar);
    expect(first.status).toBe(303);
    const to = new URL(first.location!, server.issuer);
    expect(to.pathname).toBe('/auth');
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      client_id: 'tessera-account',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${server.issuer}/account/callback`,
      code_challenge_method: 'S256',
      state: '/account',
    });
    const landed = await signInAtAccount(jar, user);
    expect(landed.url).toBe('/account');
    expect(landed.status).toBe(200);
    expect(landed.html).toContain(`<strong id="account-email">${user.email}</strong>`);
    // Tessera's own client is not an app the user granted access to.
    expect(landed.html).toContain('No app has access to your account.');
  });

  it('uses the session an app sign-in made: no second sign-in', async () => {
    const user = await createUser();
    const jar = newJar();
    await appTokens(notes, user, jar);
    const page = await accountPage(jar);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Notes');
    expect(page.html).toContain('This browser');
  });

  it('returns only to account pages after sign-in', async () => {
    const jar = newJar();
    for (const state of ['https://evil.example/', '//evil.example/', '/interaction/x', '/accountx']) {
      const res = await send(jar, `/account/callback?code=x&state=${encodeURIComponent(state)}`);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/account');
    }
    const cancelled = await send(jar, '/account/callback?error=access_denied&state=/account');
    expect(cancelled.status).toBe(400);
  });

  it('signs a disabled account out of the page, and asks for credentials again', async () => {
    const user = await createUser();
    const jar = newJar();
    await appTokens(notes, user, jar);
    await server.db.pool.query('UPDATE users SET disabled = true WHERE email = $1', [user.email]);
    const page = await accountPage(jar);
    expect(page.status).toBe(303);
    expect(new URL(page.location!, server.issuer).searchParams.get('prompt')).toBe('login');
  });
});

describe('the account page', () => {
  it('changes the password: the old refresh token dies, this session stays, other sessions end', async () => {
    const user = await createUser();
    const [here, elsewhere] = [newJar(), newJar()];
    const tokens = await appTokens(notes, user, here);
    await appTokens(photos, user, elsewhere);
    const csrf = csrfOf((await accountPage(here)).html);

    const weak = await post(here, '/account/password', {
      csrf,
      current: user.password,
      password: 'password1234',
      confirm: 'password1234',
    });
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain('This password is too easy to guess.');
    const wrong = await post(here, '/account/password', {
      csrf,
      current: 'not my password',
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('Your current password is not right.');
    expect((await refresh(server.issuer, notes, tokens.refresh_token)).status).toBe(200);

    const tokens2 = await appTokens(notes, user, here);
    const changed = await post(here, '/account/password', {
      csrf,
      current: user.password,
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(changed.status).toBe(303);
    expect(changed.headers.get('location')).toBe('/account?done=password');
    expect(await refresh(server.issuer, notes, tokens2.refresh_token)).toEqual({ status: 400, error: 'invalid_grant' });
    const page = await accountPage(here);
    expect(page.status).toBe(200);
    expect((await accountPage(elsewhere)).status).toBe(303);
    expect((await mailbox.next(user.email, { subject: /password was changed/ })).text).toContain(user.email);
    expect(await auditTypes(user.email)).toContain('user.password_changed');
    // The new password signs in; the old one does not.
    await appTokens(notes, { email: user.email, password: NEW_PASSWORD }, newJar());
    await expect(appTokens(notes, user, newJar())).rejects.toThrow('login answered 401');
  });

  it('removes an app: its refresh token fails at /token, the other app keeps its own', async () => {
    const user = await createUser();
    const jar = newJar();
    const notesTokens = await appTokens(notes, user, jar);
    const photosTokens = await appTokens(photos, user, jar);
    const page = await accountPage(jar);
    expect(page.html).toContain('Photos');
    const removed = await post(jar, '/account/apps/revoke', { csrf: csrfOf(page.html), client_id: notes.client_id });
    expect(removed.status).toBe(303);
    expect(await refresh(server.issuer, notes, notesTokens.refresh_token)).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
    expect((await refresh(server.issuer, photos, photosTokens.refresh_token)).status).toBe(200);
    const after = await accountPage(jar);
    expect(after.html).not.toContain(`value="${notes.client_id}"`);
    expect(after.html).toContain(`value="${photos.client_id}"`);
    expect(await auditTypes(user.email)).toContain('grant.revoked');
    // Another user's app, or Tessera's own client, is nothing to remove.
    for (const clientId of ['tessera-account', 'no-such-app', notes.client_id]) {
      const res = await post(jar, '/account/apps/revoke', { csrf: csrfOf(after.html), client_id: clientId });
      expect(res.status).toBe(400);
    }
  });

  it('ends another session, then every session', async () => {
    const user = await createUser();
    const [a, b, c] = [newJar(), newJar(), newJar()];
    const tokens = await appTokens(notes, user, a);
    await appTokens(notes, user, b);
    await appTokens(notes, user, c);
    const page = await accountPage(a);
    const uids = [...page.html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1]!);
    expect(uids).toHaveLength(3);
    // The page never shows a session's id (the cookie's value), only its uid.
    for (const cookie of [a, b, c].map((j) => j.cookies.get('_session'))) expect(page.html).not.toContain(cookie);

    // b's own session: the one its page lists as "This browser".
    const bUid = /name="session" value="([^"]+)"/.exec((await accountPage(b)).html.split('This browser')[1]!)![1]!;
    const ended = await post(a, '/account/sessions/end', { csrf: csrfOf(page.html), session: bUid });
    expect(ended.status).toBe(303);
    expect((await accountPage(b)).status).toBe(303);
    expect((await accountPage(a)).status).toBe(200);
    expect((await accountPage(c)).status).toBe(200);
    expect(await auditTypes(user.email)).toContain('session.ended');

    const all = await post(a, '/account/sessions/end-all', { csrf: csrfOf(page.html) });
    expect(all.status).toBe(200);
    expect(await all.text()).toContain('You are signed out everywhere');
    expect((await accountPage(a)).status).toBe(303);
    expect((await accountPage(c)).status).toBe(303);
    expect(await refresh(server.issuer, notes, tokens.refresh_token)).toEqual({ status: 400, error: 'invalid_grant' });
    expect(await auditTypes(user.email)).toContain('user.sessions_revoked');
  });

  it("refuses every form without this session's CSRF token (403), and changes nothing", async () => {
    const user = await createUser();
    const [jar, other] = [newJar(), newJar()];
    const tokens = await appTokens(notes, user, jar);
    await appTokens(notes, user, other);
    const otherCsrf = csrfOf((await accountPage(other)).html);
    const forms: [string, Record<string, string>][] = [
      ['/account/password', { current: user.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD }],
      ['/account/email/verify', {}],
      ['/account/sessions/end-all', {}],
      ['/account/apps/revoke', { client_id: notes.client_id }],
    ];
    for (const [path, fields] of forms) {
      for (const csrf of [undefined, '', 'x'.repeat(43), otherCsrf]) {
        const res = await post(jar, path, { ...fields, ...(csrf === undefined ? {} : { csrf }) });
        expect(res.status, `${path} with ${csrf}`).toBe(403);
        expect(await res.text()).toContain('The form has expired, or it did not come from this site.');
      }
    }
    expect((await refresh(server.issuer, notes, tokens.refresh_token)).status).toBe(200);
    expect((await accountPage(jar)).status).toBe(200);
  });

  it('mails a confirmation link on demand for an unconfirmed address', async () => {
    const user = await createUser();
    await server.db.pool.query('UPDATE users SET email_verified = false WHERE email = $1', [user.email]);
    const jar = newJar();
    await appTokens(notes, user, jar);
    const page = await accountPage(jar);
    expect(page.html).toContain('is <strong>not confirmed</strong>');
    const sent = await post(jar, '/account/email/verify', { csrf: csrfOf(page.html) });
    expect(sent.status).toBe(303);
    expect(sent.headers.get('location')).toBe('/account?done=verification');
    const link = (await mailbox.next(user.email, { subject: /Confirm your email/ })).link(
      `${server.issuer}/email/verify`,
    );
    expect(link).toMatch(/token=/);
  });
});

// Each CLI call is a process that loads the app (seconds on a loaded machine).
describe('the CLI', { timeout: 180_000 }, () => {
  // The CLI mails through the outbox; the server of the same ISSUER sends it.
  const cli = () => ({ ISSUER: server.issuer, SMTP_URL: mailbox.url });

  it('users reset-password --send-link mails a link that sets a new password', async () => {
    const user = await createUser();
    expect(await tesseraJson(['users', 'reset-password', user.email, '--send-link'], cli())).toMatchObject({
      sent: expect.any(String),
    });
    const link = new URL(
      (await mailbox.next(user.email, { subject: /Reset your/ })).link(`${server.issuer}/password/reset`),
    );
    const jar = newJar();
    const html = await (await send(jar, link.pathname + link.search)).text();
    const token = link.searchParams.get('token')!;
    const set = await post(jar, '/password/reset', {
      csrf: csrfOf(html),
      token,
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(set.status).toBe(200);
    await appTokens(notes, { email: user.email, password: NEW_PASSWORD }, newJar());
    expect(await auditTypes(user.email)).toEqual(
      expect.arrayContaining(['user.password_reset_link_sent', 'user.password_reset']),
    );
  });

  it('users verify-email --mark-verified confirms the address, audited', async () => {
    const user = await createUser();
    await server.db.pool.query('UPDATE users SET email_verified = false WHERE email = $1', [user.email]);
    await tesseraJson(['users', 'verify-email', user.email, '--mark-verified'], cli());
    expect(await tesseraJson(['users', 'show', user.email])).toMatchObject({ email_verified: true });
    expect(await auditTypes(user.email)).toContain('user.email_verified');
  });

  it('users sessions revoke ends every session, grant and refresh token', async () => {
    const user = await createUser();
    const [a, b] = [newJar(), newJar()];
    const tokens = await appTokens(notes, user, a);
    await appTokens(photos, user, b);
    const listed = await tesseraJson<{ uid: string; amr: string[] }[]>(['users', 'sessions', 'list', user.email]);
    expect(listed).toHaveLength(2);
    expect(listed[0]!.amr).toEqual(['pwd']);
    expect(await tesseraJson(['users', 'sessions', 'revoke', user.email])).toMatchObject({ sessions: 2, grants: 2 });
    expect(await refresh(server.issuer, notes, tokens.refresh_token)).toEqual({ status: 400, error: 'invalid_grant' });
    expect((await accountPage(a)).status).toBe(303);
    expect((await accountPage(b)).status).toBe(303);
    expect(await tesseraJson(['users', 'sessions', 'list', user.email])).toEqual([]);
    expect(await auditTypes(user.email)).toContain('user.sessions_revoked');
  });

  it('answers bad input with exit code 2 and a message', async () => {
    const nobody = `${randomId('nobody')}@example.test`;
    const cases: [string[], string][] = [
      [['users', 'sessions', 'revoke', nobody], `no user ${nobody}`],
      [['users', 'sessions', 'revoke', 'not-an-id'], 'no user not-an-id'],
      [['users', 'sessions', 'list', nobody], `no user ${nobody}`],
      [['users', 'reset-password', nobody, '--send-link'], `no user ${nobody}`],
      [['users', 'reset-password', 'x@example.test'], "required option '--send-link' not specified"],
      [['users', 'verify-email', nobody, '--mark-verified'], `no user ${nobody}`],
      [
        ['clients', 'create', '--id', 'tessera-account', '--name', 'X', '--grant-types', 'client_credentials'],
        'client id tessera-account is reserved for the account page',
      ],
    ];
    for (const [args, message] of cases) {
      const res = await tessera(args, { env: cli() });
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain(message);
    }
  });

  it('a seed file sets email_verified per user, and leaves it alone when it does not say', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-seed-'));
    const email = `${randomId('seeded')}@example.test`;
    const file = (verified: boolean | undefined) => {
      const path = join(dir, `seed-${String(verified)}.yaml`);
      writeFileSync(
        path,
        ['users:', `  - email: ${email}`, ...(verified === undefined ? [] : [`    email_verified: ${verified}`])].join(
          '\n',
        ),
      );
      return path;
    };
    expect(await tesseraJson(['seed', file(true)])).toMatchObject({ users: { [email]: 'created' } });
    expect(await tesseraJson(['users', 'show', email])).toMatchObject({ email_verified: true });
    expect(await tesseraJson(['seed', file(undefined)])).toMatchObject({ users: { [email]: 'unchanged' } });
    expect(await tesseraJson(['seed', file(false)])).toMatchObject({ users: { [email]: 'updated' } });
    expect(await tesseraJson(['users', 'show', email])).toMatchObject({ email_verified: false });
    expect(await auditTypes(email)).toEqual(['user.created', 'user.updated']);
  });
});
