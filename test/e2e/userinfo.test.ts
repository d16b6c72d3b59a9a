// Userinfo (OIDC Core §5.3) with Tessera's JWT access tokens (RFC 9068): every sign-in that
// grants `openid` gets an RS256 JWT whose audience includes the issuer's userinfo resource, next
// to the client's API when it has one, and /me accepts it. openid-client signs in and calls
// userinfo; jose verifies the token against the published keys; passport-openidconnect, which
// calls userinfo during every login, signs in through an Express app.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import passport from 'passport';
import { Strategy as OpenIDConnectStrategy } from 'passport-openidconnect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const REDIRECT = 'https://app.example.test/callback';
const PASSWORD = 'correct horse battery';
let server: TestServer;
let audience: string;
let userinfoResource: string;

beforeAll(async () => {
  server = await startTestServer();
  userinfoResource = `${server.issuer}/me`;
  audience = `https://${randomId('files')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'files:read files:write']);
});
afterAll(() => server?.close());

async function createUser() {
  const email = `${randomId('ada')}@example.test`;
  const created = await tessera(['users', 'create', '--email', email, '--name', 'Ada Lovelace', '--password-stdin'], {
    input: PASSWORD,
  });
  expect(created.code).toBe(0);
  return { email, password: PASSWORD };
}

/** A first-party web app; with an API unless `api` is false. */
async function createClient(options: { api: boolean; extra?: string[] }) {
  return tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Files web',
    '--grant-types',
    'authorization_code',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    ...(options.api ? ['--api', audience, '--scope', 'openid profile email files:read'] : []),
    ...(options.api ? [] : ['--scope', 'openid profile email']),
    ...(options.extra ?? []),
  ]);
}

async function signIn(options: { api: boolean; scope: string }) {
  const user = await createUser();
  const created = await createClient({ api: options.api });
  const config = await oidc.discovery(
    new URL(server.issuer),
    created.client_id,
    created.client_secret,
    oidc.ClientSecretBasic(created.client_secret),
    { execute: [oidc.allowInsecureRequests] },
  );
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: options.scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'st-1',
  });
  const callback = await authorize(url, user);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: 'st-1',
  });
  return { user, created, config, tokens, callback, verifier };
}

/** The token verified as a resource server would: RS256 under the published keys, typ at+jwt. */
async function verifiedClaims(token: string) {
  const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: server.issuer,
    typ: 'at+jwt',
    algorithms: ['RS256'],
  });
  expect(protectedHeader.alg).toBe('RS256');
  return payload;
}

async function rawUserinfo(token: string) {
  const res = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const REFUSED = { status: 401, body: { error: 'invalid_token', error_description: 'invalid token provided' } };

const sorted = (scope: string | undefined) => (scope ?? '').split(' ').sort();

describe('a sign-in granting openid gets a JWT access token that userinfo accepts', () => {
  it('a client with an API: aud is the API and the userinfo resource, and fetchUserInfo answers', async () => {
    const { user, config, tokens } = await signIn({ api: true, scope: 'openid profile email files:read' });
    const claims = await verifiedClaims(tokens.access_token);
    expect(claims.aud).toEqual([audience, userinfoResource]);
    expect(sorted(claims.scope as string)).toEqual(['email', 'files:read', 'openid', 'profile']);
    const sub = tokens.claims()!.sub;
    expect(claims.sub).toBe(sub);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, sub);
    expect(info).toMatchObject({ sub, email: user.email, email_verified: false, name: 'Ada Lovelace' });
  });

  it('a client without an API: aud is the userinfo resource alone, and fetchUserInfo answers', async () => {
    const { user, config, tokens } = await signIn({ api: false, scope: 'openid profile email' });
    const claims = await verifiedClaims(tokens.access_token);
    expect(claims.aud).toBe(userinfoResource);
    expect(sorted(claims.scope as string)).toEqual(['email', 'openid', 'profile']);
    const sub = tokens.claims()!.sub;
    const info = await oidc.fetchUserInfo(config, tokens.access_token, sub);
    expect(info).toMatchObject({ sub, email: user.email, name: 'Ada Lovelace' });
  });

  it('userinfo releases only the claims of the granted scopes', async () => {
    const { config, tokens } = await signIn({ api: true, scope: 'openid email files:read' });
    const sub = tokens.claims()!.sub;
    const info = await oidc.fetchUserInfo(config, tokens.access_token, sub);
    expect(info.email).toEqual(expect.any(String));
    expect(info.name).toBeUndefined();
  });

  it('a token for the API without openid is no userinfo token', async () => {
    const user = await createUser();
    const created = await createClient({ api: true });
    const config = await oidc.discovery(
      new URL(server.issuer),
      created.client_id,
      created.client_secret,
      oidc.ClientSecretBasic(created.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'files:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const tokens = await oidc.authorizationCodeGrant(config, await authorize(url, user), {
      pkceCodeVerifier: verifier,
      idTokenExpected: false,
    });
    expect((await verifiedClaims(tokens.access_token)).aud).toBe(audience);
    expect(tokens.scope).toBe('files:read');
    expect(await rawUserinfo(tokens.access_token)).toEqual(REFUSED);
  });
});

describe('userinfo refuses a JWT access token that is no longer good', () => {
  it('a revoked token gets 401', async () => {
    const { config, tokens } = await signIn({ api: true, scope: 'openid email files:read' });
    expect((await rawUserinfo(tokens.access_token)).status).toBe(200);
    await oidc.tokenRevocation(config, tokens.access_token);
    expect(await rawUserinfo(tokens.access_token)).toEqual(REFUSED);
  });

  it('a token of a revoked grant (its code replayed) gets 401', async () => {
    const { created, tokens, callback, verifier } = await signIn({ api: false, scope: 'openid email' });
    expect((await rawUserinfo(tokens.access_token)).status).toBe(200);
    // Redeeming the code again revokes everything issued from it (RFC 6749 §4.1.2).
    const replay = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${created.client_id}:${created.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      }),
    });
    expect(replay.status).toBe(400);
    expect(await rawUserinfo(tokens.access_token)).toEqual(REFUSED);
  });

  it('a token of a user since disabled gets 401', async () => {
    const { user, tokens } = await signIn({ api: true, scope: 'openid email files:read' });
    expect((await rawUserinfo(tokens.access_token)).status).toBe(200);
    await tesseraJson(['users', 'disable', user.email]);
    expect(await rawUserinfo(tokens.access_token)).toEqual(REFUSED);
  });
});

describe('the token response scope (RFC 6749 §3.3)', () => {
  it('is the granted OIDC and API scopes, never empty', async () => {
    const both = await signIn({ api: true, scope: 'openid profile files:read' });
    expect(sorted(both.tokens.scope)).toEqual(['files:read', 'openid', 'profile']);
    // No API scope asked for, but the client has a default API: the OIDC scopes, not "".
    const oidcOnly = await signIn({ api: true, scope: 'openid profile' });
    expect(sorted(oidcOnly.tokens.scope)).toEqual(['openid', 'profile']);
    expect(decodeJwt(oidcOnly.tokens.access_token).aud).toEqual([audience, userinfoResource]);
  });
});

describe('passport-openidconnect', () => {
  it('signs in, calling userinfo with the JWT access token', async () => {
    const user = await createUser();
    const created = await createClient({ api: true, extra: ['--auth-method', 'client_secret_post'] });
    // passport-openidconnect has no PKCE, which Tessera requires of every client: the app adds
    // the challenge to the authorization request and the verifier to the token request.
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = await oidc.calculatePKCECodeChallenge(verifier);
    const states = new Map<string, { ctx: object; appState: unknown }>();
    const strategy = new OpenIDConnectStrategy(
      {
        issuer: server.issuer,
        authorizationURL: `${server.issuer}/auth`,
        tokenURL: `${server.issuer}/token`,
        userInfoURL: `${server.issuer}/me`,
        clientID: created.client_id,
        clientSecret: created.client_secret,
        callbackURL: REDIRECT,
        scope: ['profile', 'email'],
        // State kept in memory instead of an express-session.
        store: {
          store(_req: unknown, ctx: object, appState: unknown, _meta: unknown, cb: (e: null, h: string) => void) {
            const handle = randomId('state');
            states.set(handle, { ctx, appState });
            cb(null, handle);
          },
          verify(_req: unknown, handle: string, cb: (e: null, ctx: object | false, s?: unknown) => void) {
            const found = states.get(handle);
            states.delete(handle);
            if (!found) cb(null, false, { message: 'unknown state' });
            else cb(null, found.ctx, found.appState);
          },
        } as never,
      },
      // Nine parameters: passport-openidconnect loads the userinfo profile first.
      (
        _iss: string,
        uiProfile: object,
        _idProfile: object,
        _context: object,
        _idToken: string | object,
        _accessToken: string | object,
        _refreshToken: string,
        _params: unknown,
        done: (err: null, user: Express.User) => void,
      ) => done(null, uiProfile),
    );
    strategy.authorizationParams = () => ({ code_challenge: challenge, code_challenge_method: 'S256' });
    // _oauth2 is the strategy's "protected" OAuth 2.0 client (lib/strategy.js), open to subclasses.
    type TokenRequest = (code: string, params: Record<string, string>, cb: unknown) => void;
    const oauth2 = (strategy as unknown as { _oauth2: { getOAuthAccessToken: TokenRequest } })._oauth2;
    const getToken = oauth2.getOAuthAccessToken.bind(oauth2);
    oauth2.getOAuthAccessToken = (code, params, cb) => getToken(code, { ...params, code_verifier: verifier }, cb);
    passport.use('tessera', strategy);

    const app = express();
    app.use(passport.initialize());
    app.get('/login', passport.authenticate('tessera', { session: false }));
    app.get('/callback', passport.authenticate('tessera', { session: false }), (req, res) => {
      res.json(req.user);
    });
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: err.message, cause: String((err as { oauthError?: unknown }).oauthError) });
    });
    const listener = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
      const login = await fetch(`${base}/login`, { redirect: 'manual' });
      expect(login.status).toBe(302);
      const callback = await authorize(new URL(login.headers.get('location')!), user);
      expect(callback.origin + callback.pathname).toBe(REDIRECT);
      const done = await fetch(`${base}/callback${callback.search}`);
      const body = (await done.json()) as Record<string, unknown>;
      expect({ status: done.status, body }).toMatchObject({
        status: 200,
        body: { displayName: 'Ada Lovelace', emails: [{ value: user.email }] },
      });
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
