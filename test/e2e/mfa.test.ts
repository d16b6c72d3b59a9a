// Second factors at sign-in (issue 17): TOTP enrolment for a client that requires MFA, TOTP and
// recovery codes at every later sign-in, no replay, the lockout, step-up with acr_values,
// prompt=login and max_age, and the ID token's amr/acr. Over HTTP as a browser (mfa-flow.ts),
// with codes computed by otpauth and ID tokens validated by oauth4webapi.
import type * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import {
  alertOf,
  browser,
  codesOf,
  discover,
  idTokenOf,
  newClient,
  newUser,
  secretOf,
  titleOf,
  totpCode,
} from './mfa-flow.ts';

const MFA_FAILURES = 5;
let server: TestServer;
let as: oauth.AuthorizationServer;
let strict: oauth.Client;
let plain: oauth.Client;

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
