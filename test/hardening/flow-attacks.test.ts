// Attacks on the authorization-code flow that test/e2e/authorization-code.test.ts does not
// already cover: the rest of the redirect-URI tricks, PKCE downgrades, codes moved between
// clients or raced, CSRF on the consent and abort forms and across browsers, session fixation,
// and the cookies' flags behind a TLS-terminating proxy.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJar, type Jar } from '../setup/sign-in.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import { authorizeWith, basic, createClient, createUser, form, getWith, ownAddress } from './support.ts';

const REDIRECT = 'https://app.example.test/callback';
const OTHER_REDIRECT = 'https://app.example.test/other-callback';
// This file signs in often; it does so from an address of its own (see support.ts).
const ADDRESS = ownAddress();
const get = getWith(ADDRESS);
const authorize = (url: URL, user: { email: string; password: string }, jar = newJar()) =>
  authorizeWith(ADDRESS, url, user, jar);
let server: TestServer;
// Most tests share one app and its user; each sign-in is a browser (cookie jar) of its own.
let shared: App;

beforeAll(async () => {
  [server, shared] = await Promise.all([startTestServer({ TRUSTED_PROXIES: '127.0.0.1' }), newApp()]);
}, 60_000);
afterAll(() => server?.close());

interface App {
  client_id: string;
  auth: string;
  user: { email: string; password: string };
}

async function newApp(extra: string[] = []): Promise<App> {
  const created = await createClient([
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--redirect-uri',
    OTHER_REDIRECT,
    '--scope',
    'openid email offline_access',
    ...extra,
  ]);
  return {
    client_id: created.client_id,
    auth: basic(created.client_id, created.client_secret!),
    user: await createUser(),
  };
}

function authUrl(on: { issuer: string }, app: { client_id: string }, params: Record<string, string | undefined>) {
  const url = new URL(`${on.issuer}/auth`);
  const all: Record<string, string | undefined> = {
    client_id: app.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid email',
    ...params,
  };
  url.search = new URLSearchParams(
    Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined),
  ).toString();
  return url;
}

async function pkce() {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) };
}

async function codeFor(app: App, params: Record<string, string | undefined> = {}, jar?: Jar) {
  const { verifier, challenge } = await pkce();
  const callback = await authorize(
    authUrl(server, app, { code_challenge: challenge, code_challenge_method: 'S256', ...params }),
    app.user,
    jar,
  );
  return { callback, verifier, challenge, code: callback.searchParams.get('code')! };
}

async function redeem(app: { auth: string }, fields: Record<string, string>) {
  const res = await fetch(`${server.issuer}/token`, {
    ...form({ grant_type: 'authorization_code', redirect_uri: REDIRECT, ...fields }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: app.auth },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const INVALID_GRANT = { status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } };

describe("redirect URIs: every trick is refused on Tessera's own page, never redirected to", () => {
  const tricks: [string, string][] = [
    ['userinfo before the real host', 'https://app.example.test@evil.example.test/callback'],
    ['userinfo naming the real host', 'https://evil.example.test@app.example.test/callback'],
    ['userinfo with a port', 'https://app.example.test:443@evil.example.test/callback'],
    ['the default port spelled out', 'https://app.example.test:443/callback'],
    ['a percent-encoded path character', 'https://app.example.test/%63allback'],
    ['an encoded traversal', 'https://app.example.test/callback%2F..%2F..%2Fevil'],
    ['an encoded dot in the host', 'https://app.example.test%2Eevil.example.test/callback'],
    ['an encoded NUL', 'https://app.example.test/callback%00'],
    ['a dot-segment', 'https://app.example.test/callback/../callback'],
    ['a double slash', 'https://app.example.test//callback'],
    ['an upper-case host', 'https://APP.example.test/callback'],
    ['an upper-case scheme', 'HTTPS://app.example.test/callback'],
    ['an upper-case path', 'https://app.example.test/Callback'],
    ['a sub-domain', 'https://evil.app.example.test/callback'],
    ['a look-alike suffix', 'https://app.example.test.evil.example/callback'],
    ['a look-alike letter (Cyrillic a)', 'https://\u0430pp.example.test/callback'],
    ['leading white space', ' https://app.example.test/callback'],
    ['trailing white space', 'https://app.example.test/callback '],
    ['a protocol-relative URL', '//evil.example.test/callback'],
    ['a javascript: URL', 'javascript://app.example.test/callback%0aalert(1)'],
    ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
  ];

  it.each(tricks)('%s', async (_name, redirectUri) => {
    const app = shared;
    const { challenge } = await pkce();
    const res = await fetch(
      authUrl(server, app, {
        redirect_uri: redirectUri,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
      }),
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const html = await res.text();
    expect(html).toContain('<code>invalid_redirect_uri</code>');
    expect(html).toContain('This app sent you to an address it has not registered');
  });

  it('a fragment is refused too (RFC 6749 §3.1.2)', async () => {
    const app = shared;
    for (const redirectUri of [`${REDIRECT}#x`, `${REDIRECT}#@evil.example.test`]) {
      const res = await fetch(
        authUrl(server, app, {
          redirect_uri: redirectUri,
          code_challenge: (await pkce()).challenge,
          code_challenge_method: 'S256',
        }),
        { redirect: 'manual' },
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toMatch(/<code>invalid_(redirect_uri|request)<\/code>/);
    }
  });

  it('a client with two redirect URIs must name one, and a code is bound to the one it was sent to', async () => {
    const app = shared;
    const { challenge, verifier } = await pkce();
    const res = await fetch(
      authUrl(server, app, { redirect_uri: undefined, code_challenge: challenge, code_challenge_method: 'S256' }),
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    // The page says it in words; the parameter's name is in the log, under the reference shown.
    expect(await res.text()).toContain('<code>invalid_request</code>');

    const callback = await authorize(
      authUrl(server, app, { redirect_uri: OTHER_REDIRECT, code_challenge: challenge, code_challenge_method: 'S256' }),
      app.user,
    );
    expect(`${callback.origin}${callback.pathname}`).toBe(OTHER_REDIRECT);
    expect(
      await redeem(app, { code: callback.searchParams.get('code')!, code_verifier: verifier, redirect_uri: REDIRECT }),
    ).toEqual(INVALID_GRANT);
  });
});

describe('PKCE downgrades', () => {
  it('a challenge without a method is not taken as plain: the challenge itself never works as the verifier', async () => {
    const app = shared;
    const { challenge } = await pkce();
    const callback = await authorize(authUrl(server, app, { code_challenge: challenge, state: 'st' }), app.user);
    const code = callback.searchParams.get('code');
    if (code) {
      // Treated as S256 (the only method Tessera supports): the plain-style verifier fails.
      expect(await redeem(app, { code, code_verifier: challenge })).toEqual(INVALID_GRANT);
    } else {
      expect(callback.searchParams.get('error')).toBe('invalid_request');
    }
  });

  it("sending the challenge back as the verifier (a plain downgrade at the token endpoint) fails; the app's own redemption still works", async () => {
    const app = shared;
    const { code, challenge, verifier } = await codeFor(app);
    expect(await redeem(app, { code, code_verifier: challenge })).toEqual(INVALID_GRANT);
    // A failed check does not consume the code: whoever holds a stolen code cannot burn the
    // app's sign-in by guessing, and guessing a 256-bit verifier gets them nowhere.
    expect((await redeem(app, { code, code_verifier: verifier })).status).toBe(200);
  });

  it('a verifier outside RFC 7636 §4.1 (too short, too long, bad characters) fails', async () => {
    const app = shared;
    for (const bad of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}!`]) {
      const { code } = await codeFor(app);
      const answer = await redeem(app, { code, code_verifier: bad });
      expect(answer.status).toBe(400);
      expect(['invalid_grant', 'invalid_request']).toContain(answer.body.error);
    }
  });
});

describe('authorization codes', () => {
  it('cannot be redeemed by another client, even with the right verifier and redirect URI', async () => {
    const victim = shared;
    const attacker = await newApp();
    const { code, verifier } = await codeFor(victim);
    expect(await redeem(attacker, { code, code_verifier: verifier })).toEqual(INVALID_GRANT);
  });

  it("cannot be redeemed with another authorization's verifier (code injection into the victim's session)", async () => {
    const app = shared;
    const stolen = await codeFor(app);
    const victims = await codeFor(app);
    expect(await redeem(app, { code: stolen.code, code_verifier: victims.verifier })).toEqual(INVALID_GRANT);
  });

  it('raced: of five simultaneous redemptions exactly one wins', async () => {
    const app = shared;
    const { code, verifier } = await codeFor(app);
    const answers = await Promise.all(Array.from({ length: 5 }, () => redeem(app, { code, code_verifier: verifier })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const lost of answers.filter((a) => a.status !== 200)) expect(lost).toEqual(INVALID_GRANT);
  });

  it('echo state byte for byte, and bind the nonce to its own authorization', async () => {
    const app = shared;
    const state = 'st&=ü %2F<>"\'';
    const first = await codeFor(app, { state, nonce: 'nonce-one' });
    expect(first.callback.searchParams.get('state')).toBe(state);
    const second = await codeFor(app, { nonce: 'nonce-two' });
    const nonces = [];
    for (const { code, verifier } of [first, second]) {
      const { body } = await redeem(app, { code, code_verifier: verifier });
      nonces.push(JSON.parse(Buffer.from((body.id_token as string).split('.')[1]!, 'base64url').toString()).nonce);
    }
    expect(nonces).toEqual(['nonce-one', 'nonce-two']);
  });
});

/** Starts an authorization in `jar` and returns its interaction page's uid and CSRF token. */
async function openInteraction(app: App, jar: Jar, params: Record<string, string> = {}) {
  const { challenge } = await pkce();
  const started = await get(
    jar,
    authUrl(server, app, { code_challenge: challenge, code_challenge_method: 'S256', ...params }).href,
  );
  const interaction = new URL(started.headers.get('location')!, server.issuer);
  const html = await (await get(jar, interaction.href)).text();
  return { uid: interaction.pathname.split('/')[2]!, csrf: /name="csrf" value="([^"]+)"/.exec(html)![1]!, html };
}

async function post(jar: Jar, path: string, fields: Record<string, string>) {
  const res = await get(jar, `${server.issuer}${path}`, form(fields));
  const html = await res.text();
  return { status: res.status, code: /<code>([^<]*)<\/code>/.exec(html)?.[1], location: res.headers.get('location') };
}

const CSRF_REFUSED = { status: 400, code: 'invalid_request', location: null };

describe('CSRF and session binding on the forms', () => {
  it("the consent and abort forms refuse a missing, forged or another interaction's token", async () => {
    const app = shared;
    const jar = newJar();
    // Sign in first, so that the next authorization asks for consent (prompt=consent).
    await codeFor(app, {}, jar);
    const consent = await openInteraction(app, jar, { prompt: 'consent' });
    expect(consent.html).toContain(`/interaction/${consent.uid}/confirm`);
    const other = await openInteraction(app, newJar());
    for (const action of ['confirm', 'abort']) {
      expect(await post(jar, `/interaction/${consent.uid}/${action}`, {})).toEqual(CSRF_REFUSED);
      expect(await post(jar, `/interaction/${consent.uid}/${action}`, { csrf: 'forged' })).toEqual(CSRF_REFUSED);
      expect(await post(jar, `/interaction/${consent.uid}/${action}`, { csrf: other.csrf })).toEqual(CSRF_REFUSED);
    }
    // The genuine form still works afterwards.
    const approved = await post(jar, `/interaction/${consent.uid}/confirm`, { csrf: consent.csrf });
    expect(approved.status).toBe(303);
  });

  it('a login posted from another browser (valid CSRF token, no interaction cookie) is refused', async () => {
    const app = shared;
    const victim = await openInteraction(app, newJar());
    // The attacker's page makes the victim's browser post; that browser lacks the attacker's
    // interaction cookie (and vice versa), so the post belongs to no sign-in of its own.
    const answer = await post(newJar(), `/interaction/${victim.uid}/login`, {
      csrf: victim.csrf,
      email: app.user.email,
      password: app.user.password,
    });
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
  });

  it('a session fixed before sign-in is not the session after it (session fixation)', async () => {
    const app = shared;
    // The attacker gets a genuine, signed session cookie of their own (the device page makes
    // one) and plants it in the victim's browser.
    const attacker = newJar();
    await get(attacker, `${server.issuer}/device`);
    const planted = attacker.cookies.get('_session');
    expect(planted).toEqual(expect.any(String));
    const victim = newJar();
    for (const name of ['_session', '_session.sig']) victim.cookies.set(name, attacker.cookies.get(name)!);

    const { code } = await codeFor(app, {}, victim);
    expect(code).toEqual(expect.any(String));
    expect(victim.cookies.get('_session')).not.toBe(planted);
    // The attacker's cookie did not become signed in.
    const { challenge } = await pkce();
    const probe = await get(
      attacker,
      authUrl(server, app, { prompt: 'none', code_challenge: challenge, code_challenge_method: 'S256' }).href,
    );
    expect(new URL(probe.headers.get('location')!).searchParams.get('error')).toBe('login_required');
  });
});

describe('cookies', () => {
  /** Each cookie's attributes, lower-cased and sorted, without path and expiry. */
  const attributesOf = (setCookie: string[]) =>
    Object.fromEntries(
      setCookie.map((c) => {
        const [pair, ...attributes] = c.split(';').map((a) => a.trim().toLowerCase());
        return [pair!.split('=')[0], attributes.filter((a) => !/^(path|expires|max-age)=/.test(a)).sort()];
      }),
    );

  /** Every Set-Cookie of a sign-in sent to `origin`, with `headers` on every request. */
  async function cookiesOfASignIn(origin: string, app: App, headers: Record<string, string>) {
    const jar = newJar();
    const seen: string[] = [];
    const record = async (url: string, init: RequestInit = {}) => {
      const at = new URL(url, origin);
      const res = await get(jar, `${origin}${at.pathname}${at.search}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...headers },
      });
      seen.push(...res.headers.getSetCookie());
      return res;
    };
    const { challenge } = await pkce();
    const started = await record(
      authUrl({ issuer: origin }, app, { code_challenge: challenge, code_challenge_method: 'S256' }).href,
    );
    const interaction = new URL(started.headers.get('location')!, origin);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await record(interaction.href)).text())![1]!;
    const done = await record(
      `${interaction.pathname}/login`,
      form({ csrf, email: app.user.email, password: app.user.password }),
    );
    const resumed = await record(done.headers.get('location')!);
    expect(resumed.status).toBe(303);
    expect(resumed.headers.get('location')).toMatch(new RegExp(`^${REDIRECT}\\?code=`));
    return attributesOf(seen);
  }

  it('are HttpOnly and SameSite=Lax, and not Secure on plain HTTP', async () => {
    const app = shared;
    const seen = await cookiesOfASignIn(server.issuer, app, {});
    expect(Object.keys(seen).sort()).toEqual([
      '_interaction',
      '_interaction.sig',
      '_interaction_resume',
      '_interaction_resume.sig',
      '_session',
      '_session.sig',
    ]);
    for (const [name, attributes] of Object.entries(seen)) {
      expect({ name, attributes }).toEqual({ name, attributes: ['httponly', 'samesite=lax'] });
    }
  });

  it('are Secure too behind a TLS-terminating proxy with an https issuer', async () => {
    const tls = await startTestServer({ ISSUER: 'https://tessera.example.test', TRUSTED_PROXIES: '127.0.0.1' });
    try {
      const app = shared;
      const seen = await cookiesOfASignIn(tls.url, app, {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'tessera.example.test',
      });
      expect(Object.keys(seen)).toContain('_session');
      for (const [name, attributes] of Object.entries(seen)) {
        expect({ name, attributes }).toEqual({ name, attributes: ['httponly', 'samesite=lax', 'secure'] });
      }
      // The same server reached without the proxy's TLS header (a misconfigured proxy) cannot
      // set a Secure cookie over plain HTTP: a 4xx, not a 500.
      const { challenge } = await pkce();
      const res = await fetch(
        authUrl({ issuer: tls.url }, app, { code_challenge: challenge, code_challenge_method: 'S256' }),
        { redirect: 'manual' },
      );
      expect(res.status).toBeLessThan(500);
    } finally {
      await tls.close();
    }
  });
});
