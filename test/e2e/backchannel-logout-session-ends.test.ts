// Back-channel logout on every way a session ends besides /session/end (issue 19): the account
// page's "end this session" and "sign out everywhere", a password change there, an admin's
// revoke (`tessera users sessions revoke`, the admin API), and a password reset. Each time the
// app with a backchannel_logout_uri gets a logout token for the ended session's sid, through the
// outbox, and verifies it with jose; an app without one is not written to, and a session that did
// not end is not named.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createUser, ownAddress, type Registered, signInForTokens } from '../hardening/support.ts';
import { adminCaller, adminToken, createAdminClient } from '../setup/admin.ts';
import { eventually } from '../setup/eventually.ts';
import { logoutTokensFor, SLOW, verifyLogoutToken } from '../setup/logout-receiver.ts';
import { startMailbox, type Mailbox } from '../setup/mailbox.ts';
import { get, type Jar, newJar } from '../setup/sign-in.ts';
import { startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { type Receiver, startReceiver } from '../setup/webhook-receiver.ts';

const REDIRECT = 'https://app.example.test/callback';
const NEW_PASSWORD = 'lantern orchard velvet 42';
let mailbox: Mailbox;
let server: TestServer;
let receiver: Receiver;
// An app that wants logout tokens, and one that does not (it must never be written to).
let app: Registered;
let quiet: Registered;
const headers = ownAddress();

beforeAll(async () => {
  mailbox = await startMailbox();
  receiver = await startReceiver();
  server = await startTestServer({
    SMTP_URL: mailbox.url,
    TRUSTED_PROXIES: '127.0.0.1',
    DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
  });
  const appArgs = ['--grant-types', 'authorization_code', '--redirect-uri', REDIRECT, '--scope', 'openid'];
  [app, quiet] = await Promise.all([
    createClient([...appArgs, '--name', 'Notes', '--backchannel-logout-uri', receiver.url]),
    createClient([...appArgs, '--name', 'Quiet']),
  ]);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await receiver?.close();
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
const accountHtml = async (jar: Jar) => (await send(jar, '/account')).text();

/** Signs `user` in to the apps in a browser (`jar`); the session's sid as the logout-token app saw it. */
async function signIn(user: { email: string; password: string }, jar: Jar): Promise<string> {
  await signInForTokens(server.issuer, { ...quiet, redirect: REDIRECT, scope: 'openid' }, user, jar);
  const { tokens } = await signInForTokens(server.issuer, { ...app, redirect: REDIRECT, scope: 'openid' }, user, jar);
  const sid = decodeJwt((tokens as { id_token?: string }).id_token!).sid;
  expect(typeof sid).toBe('string');
  return sid as string;
}

/** Waits for the app's one logout token for `sid` and verifies it as the app does; its claims. */
async function loggedOut(sid: string, user: { email: string }) {
  const [token] = await eventually(() => {
    const found = logoutTokensFor(receiver, sid);
    expect(found).toHaveLength(1);
    return found;
  }, SLOW);
  const payload = await verifyLogoutToken(server.issuer, token!, app.client_id);
  const { id } = await tesseraJson<{ id: string }>(['users', 'show', user.email]);
  expect(payload).toMatchObject({ sid, sub: id });
  expect(typeof payload.jti).toBe('string');
  return payload;
}

/** The sessions still live, by the app's sid, are not named in any logout token. */
const notLoggedOut = (...sids: string[]) => {
  for (const sid of sids) expect(logoutTokensFor(receiver, sid)).toEqual([]);
};

describe('back-channel logout when a session ends elsewhere than /session/end', () => {
  it('tells the app when the account page ends one session, then every session', async () => {
    const user = await createUser();
    const [a, b] = [newJar(), newJar()];
    const [sidA, sidB] = [await signIn(user, a), await signIn(user, b)];
    // b's own session: the one its page lists as "This browser".
    const bUid = /name="session" value="([^"]+)"/.exec((await accountHtml(b)).split('This browser')[1]!)![1]!;
    const page = await accountHtml(a);
    expect((await post(a, '/account/sessions/end', { csrf: csrfOf(page), session: bUid })).status).toBe(303);
    await loggedOut(sidB, user);
    notLoggedOut(sidA);

    const all = await post(a, '/account/sessions/end-all', { csrf: csrfOf(page) });
    expect(all.status).toBe(200);
    await loggedOut(sidA, user);
    // Only the app that registered a backchannel_logout_uri was written to.
    expect(receiver.received.every((r) => r.path === new URL(receiver.url).pathname)).toBe(true);
  }, 120_000);

  it('tells the apps of the other sessions when the password is changed on the account page', async () => {
    const user = await createUser();
    const [here, elsewhere] = [newJar(), newJar()];
    const [sidHere, sidElsewhere] = [await signIn(user, here), await signIn(user, elsewhere)];
    const changed = await post(here, '/account/password', {
      csrf: csrfOf(await accountHtml(here)),
      current: user.password,
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(changed.status).toBe(303);
    await loggedOut(sidElsewhere, user);
    notLoggedOut(sidHere);
  }, 120_000);

  it('tells the app when an admin signs the user out everywhere with the CLI', async () => {
    const user = await createUser();
    const [sid1, sid2] = [await signIn(user, newJar()), await signIn(user, newJar())];
    // The CLI adds the outbox rows; the server of the same ISSUER sends them.
    const revoked = await tesseraJson<{ revoked: string; sessions: number }>(
      ['users', 'sessions', 'revoke', user.email],
      {
        ISSUER: server.issuer,
      },
    );
    expect(revoked).toMatchObject({ sessions: 2 });
    // Nothing but the counts in the CLI's answer.
    expect(Object.keys(revoked).sort()).toEqual(['grants', 'revoked', 'sessions']);
    await loggedOut(sid1, user);
    await loggedOut(sid2, user);

    // The same command in remote mode, through the admin API.
    const admin = await createAdminClient();
    const sid3 = await signIn(user, newJar());
    const remote = await tesseraJson(['users', 'sessions', 'revoke', user.email], {
      TESSERA_URL: server.issuer,
      TESSERA_CLIENT_ID: admin.client_id,
      TESSERA_CLIENT_SECRET: admin.client_secret,
    });
    expect(remote).toEqual({ revoked: revoked.revoked, sessions: 1, grants: 2 });
    await loggedOut(sid3, user);
  }, 120_000);

  it('tells the app when an admin ends a session, or all of them, with the admin API', async () => {
    const admin = adminCaller(server.issuer, await adminToken(server.issuer, await createAdminClient()));
    const user = await createUser();
    const sid = await signIn(user, newJar());
    const listed = await admin<{ items: { session_uid: string; client_ids: string[] }[] }>(
      'GET',
      `/users/${encodeURIComponent(user.email)}/sessions`,
    );
    expect(listed.body.items).toHaveLength(1);
    expect(await admin('DELETE', `/sessions/${listed.body.items[0]!.session_uid}`)).toMatchObject({ status: 204 });
    await loggedOut(sid, user);

    const [sid1, sid2] = [await signIn(user, newJar()), await signIn(user, newJar())];
    const all = await admin('DELETE', `/users/${encodeURIComponent(user.email)}/sessions`);
    expect(all).toMatchObject({ status: 200, body: { sessions: 2, grants: 4 } });
    await loggedOut(sid1, user);
    await loggedOut(sid2, user);
  }, 120_000);

  it('tells the app when the user resets the password with a mailed link', async () => {
    const user = await createUser();
    const sid = await signIn(user, newJar());
    const visitor = newJar();
    const forgot = await accountlessPage(visitor, '/password/forgot');
    expect((await post(visitor, '/password/forgot', { csrf: csrfOf(forgot), email: user.email })).status).toBe(200);
    const link = new URL(
      (await mailbox.next(user.email, { subject: /Reset your/ })).link(`${server.issuer}/password/reset`),
    );
    const form = await accountlessPage(visitor, link.pathname + link.search);
    const token = link.searchParams.get('token')!;
    const reset = await post(visitor, '/password/reset', {
      csrf: csrfOf(form),
      token,
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(reset.status).toBe(200);
    await loggedOut(sid, user);
  }, 120_000);
});

async function accountlessPage(jar: Jar, path: string): Promise<string> {
  const res = await send(jar, path);
  expect(res.status).toBe(200);
  return res.text();
}
