// Second factors at sign-in (issue 17): TOTP enrolment for a client that requires MFA, TOTP and
// recovery codes at every later sign-in, no replay, the lockout, step-up with acr_values,
// prompt=login and max_age, and the ID token's amr/acr. Over HTTP as a browser (mfa-flow.ts),
// with codes computed by otpauth and ID tokens validated by oauth4webapi.
import type * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AdminClient, CLI_MODES, cliIn, createAdminClient } from '../setup/admin.ts';
import { startTestServer, tessera as onDatabase, type TestServer } from '../setup/tessera.ts';
import {
  alertOf,
  browser,
  codesOf,
  csrfOf,
  discover,
  idTokenOf,
  newClient,
  newUser,
  noticeOf,
  secretOf,
  titleOf,
  totpCode,
} from './mfa-flow.ts';

const MFA_FAILURES = 5;
// Each test signs in several times, a handful of pages each: more than the default 30 s on a
// loaded 2-core machine.
vi.setConfig({ testTimeout: 90_000 });

let server: TestServer;
let as: oauth.AuthorizationServer;
let strict: oauth.Client;
let plain: oauth.Client;
let admin: AdminClient;

beforeAll(async () => {
  server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', RATE_LIMIT_MFA_FAILURES: String(MFA_FAILURES) });
  as = await discover(server);
  [strict, plain] = await Promise.all([newClient(['--require-mfa']), newClient()]);
}, 60_000);
afterAll(() => server?.close());

/** A user who enrolled TOTP at a --require-mfa client: their secret and recovery codes. */
async function enrolledUser() {
  const user = await newUser();
  const b = browser(server, as);
  const flow = await b.start(strict);
  await b.submit(flow, 'login', { email: user.email, password: user.password });
  expect(titleOf(flow.page!.html)).toBe('Set up two-step verification');
  const secret = secretOf(flow.page!.html);
  await b.submit(flow, 'enrol', { code: totpCode(secret) });
  const codes = codesOf(flow.page!.html);
  await b.submit(flow, 'continue');
  expect(flow.callback?.searchParams.get('code')).toBeTruthy();
  return { user, secret, codes };
}

describe('a client that requires MFA', () => {
  it('has a user without a factor enrol TOTP (QR code, secret, first code), shows 10 recovery codes once, and gets amr with mfa', async () => {
    const user = await newUser();
    const b = browser(server, as);
    const flow = await b.start(strict);
    await b.submit(flow, 'login', { email: user.email, password: user.password });
    const enrol = flow.page!;
    expect(enrol.status).toBe(200);
    expect(titleOf(enrol.html)).toBe('Set up two-step verification');
    expect(enrol.html).toMatch(/<div class="qr" role="img"[^>]*><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const secret = secretOf(enrol.html);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // A reload shows the same secret (kept in the interaction until it is confirmed).
    expect(secretOf((await b.send(`/interaction/${flow.uid}`)).html)).toBe(secret);

    const wrong = await b.submit(flow, 'enrol', { code: '000000' === totpCode(secret) ? '111111' : '000000' });
    expect(wrong.status).toBe(400);
    expect(alertOf(wrong.html)).toBe('That code is not right. Enter the 6-digit code your app shows now.');
    // Nothing is stored before the first code confirms the secret.
    expect((await server.db.pool.query('SELECT 1 FROM user_totp WHERE user_id = $1', [user.id])).rowCount).toBe(0);

    const done = await b.submit(flow, 'enrol', { code: totpCode(secret) });
    expect(done.status).toBe(200);
    expect(titleOf(done.html)).toBe('Save your recovery codes');
    const codes = codesOf(done.html);
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    // Shown once: a reload of the page has no codes.
    expect(codesOf((await b.send(`/interaction/${flow.uid}`)).html)).toEqual([]);

    await b.submit(flow, 'continue');
    const claims = await idTokenOf(as, flow);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('urn:tessera:acr:mfa');

    // At rest: the secret sealed (not in the row in any form), the codes as keyed hashes.
    const row = (await server.db.pool.query('SELECT secret_enc FROM user_totp WHERE user_id = $1', [user.id])).rows[0];
    const sealed = Buffer.from(row.secret_enc as Buffer);
    expect(sealed.includes(Buffer.from(secret))).toBe(false);
    const stored = await server.db.pool.query('SELECT code_hash FROM recovery_codes WHERE user_id = $1', [user.id]);
    expect(stored.rowCount).toBe(10);
    for (const { code_hash } of stored.rows) {
      for (const code of codes) expect(code_hash).not.toContain(code.replace('-', ''));
    }
    const audit = await server.db.pool.query(
      `SELECT type, details FROM audit_events WHERE subject = $1 AND type LIKE 'mfa.%' ORDER BY id`,
      [user.id],
    );
    expect(audit.rows).toEqual([{ type: 'mfa.enrolled', details: { factor: 'totp' } }]);
  });
});

describe('a user with TOTP', () => {
  it('is asked for a code after the password at any client, and the code is accepted once', async () => {
    const { user, secret } = await enrolledUser();
    const b = browser(server, as);
    const flow = await b.start(plain);
    await b.submit(flow, 'login', { email: user.email, password: user.password });
    expect(titleOf(flow.page!.html)).toBe('Two-step verification');
    // The enrolment's code (this step) is used: the next step's code is what the app shows next.
    const code = totpCode(secret, 1);
    await b.submit(flow, 'factor/totp', { code });
    const claims = await idTokenOf(as, flow);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('urn:tessera:acr:mfa');

    // The same code again, in another browser that knows the password: refused.
    const other = browser(server, as);
    const replay = await other.start(plain);
    await other.submit(replay, 'login', { email: user.email, password: user.password });
    const refused = await other.submit(replay, 'factor/totp', { code });
    expect(refused.status).toBe(401);
    expect(alertOf(refused.html)).toBe('That code is not right, or was used already. Try the current code.');
    expect(replay.callback).toBeUndefined();
  });

  it('one code submitted in 8 sign-ins at once signs in exactly one of them', async () => {
    const { user, secret } = await enrolledUser();
    const flows = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const b = browser(server, as);
        const flow = await b.start(plain);
        await b.submit(flow, 'login', { email: user.email, password: user.password });
        return { b, flow };
      }),
    );
    const code = totpCode(secret, 1);
    const answers = await Promise.all(flows.map(({ b, flow }) => b.submit(flow, 'factor/totp', { code })));
    // One sign-in finishes; the others are refused (401), or locked out once the account's
    // RATE_LIMIT_MFA_FAILURES tries are spent (429).
    expect(answers.filter((a) => a.status === 303)).toHaveLength(1);
    for (const a of answers.filter((a) => a.status !== 303)) expect([401, 429]).toContain(a.status);
  });
});

describe('recovery codes', () => {
  it('sign in once each, say how many are left, and are refused when used again', async () => {
    const { user, codes } = await enrolledUser();
    const b = browser(server, as);
    const flow = await b.start(plain);
    await b.submit(flow, 'login', { email: user.email, password: user.password });
    // Typed as people type them: upper case, a space for the dash.
    const used = await b.submit(flow, 'factor/recovery', { code: codes[0]!.toUpperCase().replace('-', ' ') });
    expect(used.status).toBe(200);
    expect(noticeOf(used.html)).toBe('Recovery code accepted. You have 9 recovery codes left.');
    await b.submit(flow, 'continue');
    const claims = await idTokenOf(as, flow);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('urn:tessera:acr:mfa');

    const other = browser(server, as);
    const again = await other.start(plain);
    await other.submit(again, 'login', { email: user.email, password: user.password });
    const refused = await other.submit(again, 'factor/recovery', { code: codes[0]! });
    expect(refused.status).toBe(401);
    expect(alertOf(refused.html)).toBe('That recovery code is not right, or was used already.');
  });

  it('one code submitted in 4 sign-ins at once signs in exactly one of them', async () => {
    const { user, codes } = await enrolledUser();
    const flows = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const b = browser(server, as);
        const flow = await b.start(plain);
        await b.submit(flow, 'login', { email: user.email, password: user.password });
        return { b, flow };
      }),
    );
    const answers = await Promise.all(
      flows.map(({ b, flow }) => b.submit(flow, 'factor/recovery', { code: codes[3]! })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401]);
    const left = await server.db.pool.query(
      'SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
      [user.id],
    );
    expect(left.rows[0].n).toBe(9);
  });
});

describe('the second-factor lockout', () => {
  it(`locks the account's second factor after ${MFA_FAILURES} wrong codes, from any address, right code or not`, async () => {
    const { user, secret, codes } = await enrolledUser();
    const b = browser(server, as);
    const flow = await b.start(plain);
    await b.submit(flow, 'login', { email: user.email, password: user.password });
    const right = totpCode(secret, 1);
    const wrong = right === '123456' ? '654321' : '123456';
    for (let i = 0; i < MFA_FAILURES; i++)
      expect((await b.submit(flow, 'factor/totp', { code: wrong })).status).toBe(401);
    const locked = await b.post(`/interaction/${flow.uid}/factor/totp`, {
      csrf: csrfOf(flow.page!.html),
      code: right,
    });
    expect(locked.status).toBe(429);
    expect(alertOf(locked.html)).toMatch(/^Too many attempts\. Try again in \d+ minute\(s\)\.$/);
    // Another address, with a recovery code: the account is locked, not the address.
    const other = browser(server, as);
    const elsewhere = await other.start(plain);
    await other.submit(elsewhere, 'login', { email: user.email, password: user.password });
    expect((await other.submit(elsewhere, 'factor/recovery', { code: codes[0]! })).status).toBe(429);
    const audit = await server.db.pool.query(
      `SELECT type, count(*)::int AS n FROM audit_events WHERE subject = $1 AND type IN ('mfa.failed', 'mfa.locked') GROUP BY type ORDER BY type`,
      [user.id],
    );
    // One mfa.locked row per window, however often the locked account is tried.
    expect(audit.rows).toEqual([
      { type: 'mfa.failed', n: MFA_FAILURES },
      { type: 'mfa.locked', n: 1 },
    ]);
  });
});

describe('step-up', () => {
  it('acr_values=urn:tessera:acr:mfa has a password session enrol a factor, without the password again', async () => {
    const user = await newUser();
    const b = browser(server, as);
    const first = await b.start(plain);
    await b.submit(first, 'login', { email: user.email, password: user.password });
    expect((await idTokenOf(as, first)).acr).toBe('urn:tessera:acr:pwd');

    const stepped = await b.start(plain, { acr_values: 'urn:tessera:acr:mfa' });
    expect(titleOf(stepped.page!.html)).toBe('Set up two-step verification');
    await b.submit(stepped, 'enrol', { code: totpCode(secretOf(stepped.page!.html)) });
    await b.submit(stepped, 'continue');
    const claims = await idTokenOf(as, stepped);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('urn:tessera:acr:mfa');

    // The session now has a second factor: a client that requires one issues a code at once.
    const strictFlow = await b.start(strict);
    expect(strictFlow.page).toBeUndefined();
    // (Another client in the same session: its code is bound to the session's grant for it.)
    expect((await idTokenOf(as, strictFlow)).amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('a client that requires MFA asks a password session of a user with a factor for the factor only', async () => {
    const user = await newUser();
    const b = browser(server, as);
    const first = await b.start(plain);
    await b.submit(first, 'login', { email: user.email, password: user.password });
    // Meanwhile the user enrols elsewhere.
    const elsewhere = browser(server, as);
    const enrol = await elsewhere.start(strict);
    await elsewhere.submit(enrol, 'login', { email: user.email, password: user.password });
    await elsewhere.submit(enrol, 'enrol', { code: totpCode(secretOf(enrol.page!.html)) });
    const codes = codesOf(enrol.page!.html);

    const stepped = await b.start(strict);
    expect(titleOf(stepped.page!.html)).toBe('Two-step verification');
    await b.submit(stepped, 'factor/recovery', { code: codes[0]! });
    await b.submit(stepped, 'continue');
    const claims = await idTokenOf(as, stepped);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('urn:tessera:acr:mfa');
  });

  for (const [name, params] of [
    ['prompt=login', { prompt: 'login' }],
    ['max_age=0', { max_age: '0' }],
  ] as const) {
    it(`${name} has a signed-in user give the password and the second factor again`, async () => {
      const { user, codes } = await enrolledUser();
      const b = browser(server, as);
      const first = await b.start(plain);
      await b.submit(first, 'login', { email: user.email, password: user.password });
      await b.submit(first, 'factor/recovery', { code: codes[0]! });
      await b.submit(first, 'continue');
      expect(first.callback).toBeDefined();
      // Signed in with both factors; without the parameter, the next request needs nothing.
      expect((await b.start(plain)).page).toBeUndefined();

      const again = await b.start(plain, params);
      expect(titleOf(again.page!.html)).toBe('Sign in');
      await b.submit(again, 'login', { email: user.email, password: user.password });
      expect(titleOf(again.page!.html)).toBe('Two-step verification');
      await b.submit(again, 'factor/recovery', { code: codes[1]! });
      await b.submit(again, 'continue');
      const claims = await idTokenOf(as, again);
      expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    });
  }
});

// On the database and through the admin API (GET/DELETE /admin/v1/users/{user}/mfa): the same.
describe.each(CLI_MODES)('tessera users mfa (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode, () => ({ issuer: server.issuer, admin }));
  beforeAll(async () => {
    admin ??= await createAdminClient();
  }, 60_000);
  it("lists a user's factors and resets them (audited); the user then signs in with the password alone", async () => {
    const { user } = await enrolledUser();
    const listed = await tesseraJson<{ factors: { kind: string; unused?: number }[] }>([
      'users',
      'mfa',
      'list',
      user.email,
    ]);
    expect(listed).toEqual({
      user_id: user.id,
      email: user.email,
      factors: [
        { kind: 'totp', created_at: expect.any(String), last_used_at: expect.any(String) },
        { kind: 'recovery_codes', unused: 10 },
      ],
    });
    // The table is the database mode's, byte for byte.
    const text = await tessera(['users', 'mfa', 'list', user.id]);
    expect(text).toEqual({ code: 0, stdout: (await onDatabase(['users', 'mfa', 'list', user.id])).stdout, stderr: '' });
    expect(text.stdout).toMatch(/^KIND +ADDED +LAST USED +UNUSED\ntotp +\S+ +\S+\nrecovery_codes +10\n$/);
    expect(await tessera(['users', 'mfa', 'reset', user.email])).toEqual({
      code: 0,
      stdout: `removed the second factors of ${user.email}: authenticator app, 10 unused recovery code(s)\n`,
      stderr: '',
    });
    expect(await tesseraJson(['users', 'mfa', 'reset', user.email])).toEqual({
      reset: user.id,
      totp: false,
      recovery_codes: 0,
    });
    expect(await tessera(['users', 'mfa', 'list', user.id])).toMatchObject({
      stdout: `${user.email} has no second factor\n`,
    });
    expect(await tessera(['users', 'mfa', 'reset', `x${user.email}`])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: no user x${user.email}\n`,
    });
    const audit = await server.db.pool.query(
      `SELECT actor, details FROM audit_events WHERE subject = $1 AND type = 'mfa.reset' ORDER BY id`,
      [user.id],
    );
    // The remote mode's resets are the admin client's, as the admin API records its callers.
    const actor = mode === 'remote' ? `client:${admin.client_id}` : expect.stringMatching(/^cli:/);
    expect(audit.rows).toEqual([
      { actor, details: { totp: true, recovery_codes: 10 } },
      { actor, details: { totp: false, recovery_codes: 0 } },
    ]);

    const b = browser(server, as);
    const flow = await b.start(plain);
    await b.submit(flow, 'login', { email: user.email, password: user.password });
    expect((await idTokenOf(as, flow)).amr).toEqual(['pwd']);
    // Seven CLI processes, each opening the database or getting a token.
  }, 240_000);
});

describe('a user without a second factor', () => {
  it('signs in exactly as before: no second page, amr pwd, the base acr', async () => {
    const user = await newUser();
    const b = browser(server, as);
    const flow = await b.start(plain);
    await b.submit(flow, 'login', { email: user.email, password: user.password });
    const claims = await idTokenOf(as, flow);
    expect(claims.amr).toEqual(['pwd']);
    expect(claims.acr).toBe('urn:tessera:acr:pwd');
  });
});

describe('discovery', () => {
  it('lists both levels in acr_values_supported', () => {
    expect(as.acr_values_supported).toEqual(['urn:tessera:acr:pwd', 'urn:tessera:acr:mfa']);
  });
});
