// Authorization Code + PKCE and refresh-token families at the protocol level, with
// oauth4webapi as the client and exact error bodies.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, get, newJar } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const REDIRECT = 'https://app.example.test/callback';
let server: TestServer;
let as: oauth.AuthorizationServer;
let audience: string;
const options = { [oauth.allowInsecureRequests]: true };

// Tessera's clock (src/clock.ts): the reuse-grace test moves it on instead of waiting.
let clockOffset = 0;

beforeAll(async () => {
  server = await startTestServer({}, { clock: () => Date.now() + clockOffset });
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  audience = `https://${randomId('files')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'files:read']);
});
afterAll(() => server?.close());

async function setup(extra: string[] = []) {
  const email = `${randomId('grace')}@example.test`;
  const password = 'correct horse battery';
  expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: password })).code).toBe(0);
  const created = await tesseraJson<{ client_id: string; client_secret?: string }>([
    'clients',
    'create',
    '--name',
    'Files',
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid email offline_access files:read',
    ...extra,
  ]);
  const client: oauth.Client = { client_id: created.client_id };
  return { user: { email, password }, client, secret: created.client_secret };
}

function authUrl(client: oauth.Client, params: Record<string, string>) {
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid email offline_access files:read',
    prompt: 'consent',
    ...params,
  }).toString();
  return url;
}

async function codeFor(s: Awaited<ReturnType<typeof setup>>, extra: Record<string, string> = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const callback = await authorize(
    authUrl(s.client, {
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...extra,
    }),
    s.user,
  );
  return { callback, verifier, code: callback.searchParams.get('code')! };
}

/** A token request as the client sends it (Basic auth, or client_id for a public client). */
async function rawToken(s: { client: oauth.Client; secret?: string | undefined }, body: Record<string, string>) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (s.secret) headers.authorization = `Basic ${Buffer.from(`${s.client.client_id}:${s.secret}`).toString('base64')}`;
  const res = await fetch(as.token_endpoint!, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ ...body, ...(s.secret ? {} : { client_id: s.client.client_id }) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function exchange(s: { client: oauth.Client; secret?: string | undefined }, code: string, verifier: string) {
  return rawToken(s, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
}

async function introspect(token: string) {
  // The API's resource server asks.
  const rs = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'files-api',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--serves',
    audience,
  ]);
  const res = await oauth.introspectionRequest(
    as,
    { client_id: rs.client_id },
    oauth.ClientSecretBasic(rs.client_secret),
    token,
    options,
  );
  return ((await res.json()) as { active: boolean }).active;
}

describe('PKCE (RFC 7636), S256 only, for every client', () => {
  it('refuses an authorization request without a challenge, or with plain', async () => {
    const s = await setup();
    for (const params of [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }] as Record<
      string,
      string
    >[]) {
      const callback = await authorize(authUrl(s.client, { state: 'st', ...params }), s.user);
      expect(Object.fromEntries(callback.searchParams)).toEqual({
        error: 'invalid_request',
        error_description:
          'code_challenge_method' in params
            ? 'not supported value of code_challenge_method'
            : 'Authorization Server policy requires PKCE to be used for this request',
        state: 'st',
        iss: server.issuer,
      });
    }
  });

  it('refuses a missing or wrong code_verifier', async () => {
    const s = await setup();
    const { code } = await codeFor(s);
    expect(await rawToken(s, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT })).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
    const second = await codeFor(s);
    expect(await exchange(s, second.code, oauth.generateRandomCodeVerifier())).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
  });

  it('works for a public client (no secret), which must use PKCE too', async () => {
    const s = await setup(['--public']);
    const { code, verifier } = await codeFor(s);
    const { status, body } = await exchange(s, code, verifier);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      token_type: 'Bearer',
      // The granted scopes, OIDC's and the API's (RFC 6749 §3.3).
      scope: 'openid email offline_access files:read',
      refresh_token: expect.any(String),
      id_token: expect.any(String),
    });
  });
});

describe('redirect URIs match exactly', () => {
  it.each([
    ['a trailing slash', `${REDIRECT}/`],
    ['an extra path', `${REDIRECT}/more`],
    ['another port', 'https://app.example.test:8443/callback'],
    ['another scheme', 'http://app.example.test/callback'],
    ['an added query', `${REDIRECT}?x=1`],
    ['another host', 'https://evil.example.test/callback'],
  ])("refuses %s, on Tessera's error page and without redirecting", async (_name, redirectUri) => {
    const s = await setup();
    const res = await fetch(
      authUrl(s.client, { redirect_uri: redirectUri, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' }),
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const html = await res.text();
    expect(html).toContain('<code>invalid_redirect_uri</code>');
    expect(html).toContain('This app sent you to an address it has not registered');
    expect(html).not.toContain(redirectUri);
  });
});

describe('authorization codes', () => {
  it('are single-use: a replay fails and revokes everything the first exchange issued', async () => {
    const s = await setup();
    const { code, verifier } = await codeFor(s);
    const first = await exchange(s, code, verifier);
    expect(first.status).toBe(200);
    expect(await introspect(first.body.access_token as string)).toBe(true);

    expect(await exchange(s, code, verifier)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
    expect(await introspect(first.body.access_token as string)).toBe(false);
    expect(
      await rawToken(s, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string }),
    ).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
  });

  it('round-trip state and nonce', async () => {
    const s = await setup();
    const { callback, code, verifier } = await codeFor(s, { state: 'my-state', nonce: 'my-nonce' });
    expect(callback.searchParams.get('state')).toBe('my-state');
    const { body } = await exchange(s, code, verifier);
    const idToken = JSON.parse(Buffer.from((body.id_token as string).split('.')[1]!, 'base64url').toString());
    expect(idToken.nonce).toBe('my-nonce');
  });
  it('a session signed in for one client signs in to a second without asking again', async () => {
    const first = await setup();
    const second = { ...(await setup()), user: first.user };
    const jar = newJar();
    for (const [s, prompt] of [
      [first, 'login'],
      [second, 'none'],
    ] as const) {
      const verifier = oauth.generateRandomCodeVerifier();
      const callback = await authorize(
        authUrl(s.client, {
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          prompt,
        }),
        // The second request finds the session: it never shows the login form.
        prompt === 'login' ? s.user : { email: 'not-asked@example.test', password: 'not asked' },
        jar,
      );
      const code = callback.searchParams.get('code');
      expect(code, callback.href).toBeTruthy();
      // The session's grant for this client was stored with the code, so the code redeems.
      expect((await exchange(s, code!, verifier)).status).toBe(200);
    }
  }, 60_000);

  it("a disabled user's session no longer signs in: prompt=none says login_required, a plain request shows the login form", async () => {
    const s = await setup();
    const jar = newJar();
    const request = async (prompt?: string) => {
      const verifier = oauth.generateRandomCodeVerifier();
      return authUrl(s.client, {
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...(prompt ? { prompt } : {}),
      });
    };
    expect((await authorize(await request('login'), s.user, jar)).searchParams.get('code')).toBeTruthy();
    await tesseraJson(['users', 'disable', s.user.email]);
    const silent = await authorize(await request('none'), s.user, jar);
    expect(silent.searchParams.get('error'), silent.href).toBe('login_required');
    // Without prompt=none: the login form, whose answer for a disabled account is a refusal (200 page).
    let url = (await request()).href;
    let res = await get(jar, url);
    for (let hops = 0; (res.status === 302 || res.status === 303) && hops < 5; hops++) {
      url = new URL(res.headers.get('location')!, url).href;
      res = await get(jar, url);
    }
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/login"');
  }, 60_000);
});

describe('refresh-token families', () => {
  async function family(s: Awaited<ReturnType<typeof setup>>) {
    const { code, verifier } = await codeFor(s);
    const { body } = await exchange(s, code, verifier);
    return body as { access_token: string; refresh_token: string };
  }
  const refresh = (s: Awaited<ReturnType<typeof setup>>, token: string) =>
    rawToken(s, { grant_type: 'refresh_token', refresh_token: token });

  it('rotate on every use; reusing a used token (after the grace period) revokes the whole family', async () => {
    const s = await setup();
    const start = await family(s);
    const second = await refresh(s, start.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(start.refresh_token);
    clockOffset += 2_001; // past the 2 s retry grace

    expect(await refresh(s, start.refresh_token)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
    // The newest refresh token and every access token of the family are dead too.
    expect(await refresh(s, second.body.refresh_token as string)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
    expect(await introspect(start.access_token)).toBe(false);
    expect(await introspect(second.body.access_token as string)).toBe(false);
  });

  // Issue 21 changed this deliberately: a retry within the grace used to be refused (the family
  // survived, but the client had nothing); it now gets the answer it lost (refresh-retry.test.ts).
  it('a retry within the grace period gets the same refresh token, and the family lives on', async () => {
    const s = await setup();
    const start = await family(s);
    const second = await refresh(s, start.refresh_token);
    const retried = await refresh(s, start.refresh_token);
    expect(retried.status).toBe(200);
    expect(retried.body.refresh_token).toBe(second.body.refresh_token);
    const third = await refresh(s, second.body.refresh_token as string);
    expect(third.status).toBe(200);
    expect(await introspect(third.body.access_token as string)).toBe(true);
  });

  // Issue 21 changed this deliberately: the losers of the rotation used to get invalid_grant and
  // the family lived on. Now they are retries of the winner's rotation: at most
  // REFRESH_TOKEN_RETRY_LIMIT (3) get the winner's refresh token, and the presentations beyond
  // that are reuse, which revokes the family. Never two successors.
  it('never fork under concurrent use: one of ten simultaneous refreshes rotates, at most three retries share its answer, the rest are refused', async () => {
    const s = await setup();
    const start = await family(s);
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(s, start.refresh_token)));
    const answered = results.filter((r) => r.status === 200);
    expect(answered.length).toBeGreaterThanOrEqual(1);
    expect(answered.length).toBeLessThanOrEqual(4);
    expect(new Set(answered.map((r) => r.body.refresh_token)).size).toBe(1);
    for (const refused of results.filter((r) => r.status !== 200)) {
      expect(refused).toEqual({
        status: 400,
        body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
      });
    }
    // The family lives: the one successor rotates on.
    expect((await refresh(s, answered[0]!.body.refresh_token as string)).status).toBe(200);
  });

  it('stop working for a disabled user, and can be listed and revoked with the CLI', async () => {
    const s = await setup();
    const start = await family(s);
    const grants = await tesseraJson<{ grant_id: string; client_id: string }[]>(['grants', 'list', s.user.email]);
    expect(grants).toEqual([
      expect.objectContaining({ client_id: s.client.client_id, scope: 'openid email offline_access' }),
    ]);
    await tesseraJson(['grants', 'revoke', grants[0]!.grant_id]);
    expect((await refresh(s, start.refresh_token)).status).toBe(400);
    expect(await introspect(start.access_token)).toBe(false);

    const other = await family(s);
    await tesseraJson(['users', 'disable', s.user.email]);
    expect(await refresh(s, other.refresh_token)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
  });
});

describe('userinfo', () => {
  it("answers with the user's claims for an access token without an API", async () => {
    const email = `${randomId('uinfo')}@example.test`;
    await tessera(['users', 'create', '--email', email, '--name', 'Grace Hopper', '--password-stdin'], {
      input: 'correct horse battery',
    });
    const created = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'Profile',
      '--grant-types',
      'authorization_code',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--scope',
      'openid profile email',
    ]);
    const s = {
      user: { email, password: 'correct horse battery' },
      client: { client_id: created.client_id },
      secret: created.client_secret,
    };
    const verifier = oauth.generateRandomCodeVerifier();
    const url = authUrl(s.client, {
      scope: 'openid profile email',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    url.searchParams.delete('prompt');
    const callback = await authorize(url, s.user);
    const { body } = await exchange(s, callback.searchParams.get('code')!, verifier);
    const res = await oauth.userInfoRequest(as, s.client, body.access_token as string, options);
    expect(await res.json()).toMatchObject({ email, name: 'Grace Hopper', email_verified: false });
  });
});

describe('the login form', () => {
  async function loginPage(s: Awaited<ReturnType<typeof setup>>) {
    const jar = newJar();
    const verifier = oauth.generateRandomCodeVerifier();
    let res = await get(
      jar,
      authUrl(s.client, {
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).href,
    );
    const interaction = new URL(res.headers.get('location')!, server.issuer);
    res = await get(jar, interaction.href);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await res.text())![1]!;
    const post = async (fields: Record<string, string>) => {
      const answer = await get(jar, `${interaction.href}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      });
      const html = await answer.text();
      return {
        status: answer.status,
        alert: /role="alert"[^>]*>([^<]*)</.exec(html)?.[1],
        code: /<code>([^<]*)<\/code>/.exec(html)?.[1],
      };
    };
    return { csrf, post };
  }

  it('answers an unknown email exactly as a wrong password', async () => {
    const s = await setup();
    const { csrf, post } = await loginPage(s);
    const wrong = await post({ csrf, email: s.user.email, password: 'not the password' });
    const unknown = await post({ csrf, email: `nobody-${s.user.email}`, password: 'not the password' });
    expect(wrong).toEqual({ status: 401, alert: 'The email or password is incorrect.', code: undefined });
    expect(unknown).toEqual(wrong);
  });

  it('refuses a submission without the CSRF token', async () => {
    const s = await setup();
    const { post } = await loginPage(s);
    expect(await post({ email: s.user.email, password: s.user.password })).toEqual({
      status: 400,
      alert: undefined,
      code: 'invalid_request',
    });
    expect(await post({ csrf: 'forged', email: s.user.email, password: s.user.password })).toEqual({
      status: 400,
      alert: undefined,
      code: 'invalid_request',
    });
  });
});

describe('RP-initiated logout', () => {
  it('ends the session and returns only to a registered post_logout_redirect_uri', async () => {
    const email = `${randomId('bye')}@example.test`;
    await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: 'correct horse battery' });
    const after = 'https://app.example.test/signed-out';
    const created = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'Bye',
      '--grant-types',
      'authorization_code',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--post-logout-redirect-uri',
      after,
      '--scope',
      'openid',
    ]);
    const s = {
      user: { email, password: 'correct horse battery' },
      client: { client_id: created.client_id },
      secret: created.client_secret,
    };
    const jar = newJar();
    const verifier = oauth.generateRandomCodeVerifier();
    const start = async () => {
      const url = authUrl(s.client, {
        scope: 'openid',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      url.searchParams.delete('prompt');
      return url;
    };
    const callback = await authorize(await start(), s.user, jar);
    const { body } = await exchange(s, callback.searchParams.get('code')!, verifier);
    const idToken = body.id_token as string;

    // Signed in: a new request goes straight back to the app.
    const again = await get(jar, (await start()).href);
    expect(again.headers.get('location')).toMatch(new RegExp(`^${REDIRECT}\\?code=`));

    const wrong = await get(
      jar,
      `${server.issuer}/session/end?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: 'https://evil.example.test/' })}`,
    );
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('post_logout_redirect_uri not registered');

    const page = await get(
      jar,
      `${server.issuer}/session/end?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: after, state: 'bye' })}`,
    );
    const html = await page.text();
    expect(html).toContain('Sign out of Tessera?');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const done = await get(jar, `${server.issuer}/session/end/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }),
    });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`${after}?state=bye`);

    // Signed out: the next request asks for the password again.
    const fresh = await get(jar, (await start()).href);
    expect(new URL(fresh.headers.get('location')!, server.issuer).pathname).toMatch(/^\/interaction\//);
  });
});
