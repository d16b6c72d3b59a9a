// The account's second factors at /account/security (issue 17): turn on an authenticator app from
// the account page, make new recovery codes (the old ones stop working), turn it off only with a
// current code. Signed in through the account page's own sign-in, over HTTP as a browser
// (mfa-flow.ts), codes computed with otpauth.
import type * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import {
  alertOf,
  browser,
  codesOf,
  csrfOf,
  discover,
  idTokenOf,
  newClient,
  newUser,
  secretOf,
  titleOf,
  totpCode,
} from './mfa-flow.ts';

// Each test signs in several times, a handful of pages each: more than the default 30 s on a
// loaded 2-core machine.
vi.setConfig({ testTimeout: 90_000 });

let server: TestServer;
let as: oauth.AuthorizationServer;
let app: oauth.Client;

beforeAll(async () => {
  server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
  as = await discover(server);
  app = await newClient();
}, 60_000);
afterAll(() => server?.close());

const statusOf = (html: string) => /<p id="totp-status">([^<]*)<\/p>/.exec(html)?.[1];

describe('/account/security', () => {
  it('turns on an authenticator app, makes new recovery codes, and turns it off with a current code', async () => {
    const user = await newUser();
    const b = browser(server, as);
    // Not signed in: the account page's sign-in, then back to the page asked for.
    const flow = {
      uid: '',
      page: undefined as Awaited<ReturnType<typeof b.send>> | undefined,
      callback: undefined as URL | undefined,
    };
    await b.follow(flow, await b.send('/account/security'));
    expect(titleOf(flow.page!.html)).toBe('Sign in');
    await b.submit(flow, 'login', { email: user.email, password: user.password });
    expect(titleOf(flow.page!.html)).toBe('Two-step verification');
    expect(statusOf(flow.page!.html)).toBe('Off.');

    const enrol = await b.send('/account/security/totp');
    expect(titleOf(enrol.html)).toBe('Set up two-step verification');
    expect(enrol.html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    const secret = secretOf(enrol.html);
    const enrolment = /name="enrolment" value="([^"]+)"/.exec(enrol.html)![1]!;
    // Without the session's CSRF token: refused.
    expect((await b.post('/account/security/totp', { enrolment, code: totpCode(secret) })).status).toBe(403);
    const wrong = await b.post('/account/security/totp', {
      csrf: csrfOf(enrol.html),
      enrolment,
      code: totpCode(secret) === '000000' ? '111111' : '000000',
    });
    expect(wrong.status).toBe(400);
    expect(alertOf(wrong.html)).toBe('That code is not right. Enter the 6-digit code your app shows now.');
    const done = await b.post('/account/security/totp', {
      csrf: csrfOf(enrol.html),
      enrolment,
      code: totpCode(secret),
    });
    expect(done.status).toBe(200);
    expect(titleOf(done.html)).toBe('Two-step verification is on');
    const first = codesOf(done.html);
    expect(first).toHaveLength(10);

    const page = await b.send('/account/security');
    expect(statusOf(page.html)).toMatch(/^On since /);
    expect(page.html).toContain('You have 10 unused recovery codes.');

    // New codes: the old ones stop working.
    const renewed = await b.post('/account/security/recovery-codes', { csrf: csrfOf(page.html) });
    const second = codesOf(renewed.html);
    expect(second).toHaveLength(10);
    expect(second.some((c) => first.includes(c))).toBe(false);
    const signIn = browser(server, as);
    const again = await signIn.start(app);
    await signIn.submit(again, 'login', { email: user.email, password: user.password });
    expect((await signIn.submit(again, 'factor/recovery', { code: first[0]! })).status).toBe(401);
    await signIn.submit(again, 'factor/recovery', { code: second[0]! });
    await signIn.submit(again, 'continue');
    expect((await idTokenOf(as, again)).amr).toEqual(['pwd', 'otp', 'mfa']);

    // Off: only with a current code.
    const refused = await b.post('/account/security/remove', { csrf: csrfOf(page.html), code: first[1]! });
    expect(refused.status).toBe(400);
    expect(alertOf(refused.html)).toBe('That code is not right, or was used already. Enter a current code.');
    const off = await b.post('/account/security/remove', { csrf: csrfOf(page.html), code: second[1]! });
    expect(off.status).toBe(303);
    const after = await b.send(off.location!);
    expect(statusOf(after.html)).toBe('Off.');
    const audit = await server.db.pool.query(
      `SELECT type FROM audit_events WHERE subject = $1 AND type LIKE 'mfa.%' ORDER BY id`,
      [user.id],
    );
    expect(audit.rows.map((r) => r.type)).toEqual([
      'mfa.enrolled',
      'mfa.recovery_codes_regenerated',
      'mfa.failed',
      'mfa.verified',
      'mfa.removed',
    ]);
  }, 90_000);

  it('refuses a sealed enrolment made for another user', async () => {
    const [alice, mallory] = await Promise.all([newUser(), newUser()]);
    const signedIn = async (user: { email: string; password: string }) => {
      const b = browser(server, as);
      const flow = {
        uid: '',
        page: undefined as Awaited<ReturnType<typeof b.send>> | undefined,
        callback: undefined as URL | undefined,
      };
      await b.follow(flow, await b.send('/account/security/totp'));
      await b.submit(flow, 'login', user);
      return { b, html: flow.page!.html };
    };
    const a = await signedIn(alice);
    const m = await signedIn(mallory);
    const enrolment = /name="enrolment" value="([^"]+)"/.exec(m.html)![1]!;
    const answer = await a.b.post('/account/security/totp', {
      csrf: csrfOf(a.html),
      enrolment,
      code: totpCode(secretOf(m.html)),
    });
    expect(answer.status).toBe(400);
    expect(alertOf(answer.html)).toBe('That took too long. Scan this new code and enter the code it shows.');
    expect((await server.db.pool.query('SELECT 1 FROM user_totp WHERE user_id = $1', [alice.id])).rowCount).toBe(0);
  }, 60_000);
});
