// Introspection (RFC 7662) and revocation (RFC 7009) of Tessera's JWT access tokens, with
// oauth4webapi as the client.
import * as oauth from 'oauth4webapi';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, base64url } from 'jose';
import { AuthorizationCode } from 'simple-oauth2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

let server: TestServer;
let as: oauth.AuthorizationServer;
let audience: string;
let otherAudience: string;
const options = { [oauth.allowInsecureRequests]: true };

interface Registered {
  client: oauth.Client;
  auth: oauth.ClientAuth;
  id: string;
  secret: string;
}

async function register(args: string[]): Promise<Registered> {
  const { client_id: id, client_secret: secret } = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    ...args,
  ]);
  return { client: { client_id: id }, auth: oauth.ClientSecretBasic(secret), id, secret };
}

async function token(c: Registered, scope = 'stock:read'): Promise<string> {
  const res = await oauth.clientCredentialsGrantRequest(as, c.client, c.auth, new URLSearchParams({ scope }), options);
  return (await oauth.processClientCredentialsResponse(as, c.client, res)).access_token;
}

async function introspect(c: Registered, value: string) {
  const res = await oauth.introspectionRequest(as, c.client, c.auth, value, options);
  return oauth.processIntrospectionResponse(as, c.client, res);
}

async function revoke(c: Registered, value: string) {
  const res = await oauth.revocationRequest(as, c.client, c.auth, value, options);
  await oauth.processRevocationResponse(res);
}

/** A form POST by hand, for what a client library would not send. */
const post = (url: string, form: Record<string, string> | string, authorization?: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: typeof form === 'string' ? form : new URLSearchParams(form),
  });
const basic = (c: { id: string; secret: string }) => `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;

let service: Registered;
let stranger: Registered;
let resourceServer: Registered;

beforeAll(async () => {
  server = await startTestServer();
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  audience = `https://${randomId('stock')}.example.test`;
  otherAudience = `https://${randomId('other')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'stock:read']);
  await tesseraJson(['apis', 'create', '--audience', otherAudience, '--scope', 'other:read']);
  service = await register([
    '--name',
    'svc',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'stock:read',
  ]);
  stranger = await register([
    '--name',
    'stranger',
    '--grant-types',
    'client_credentials',
    '--api',
    otherAudience,
    '--scope',
    'other:read',
  ]);
  resourceServer = await register([
    '--name',
    'stock-api',
    '--grant-types',
    'client_credentials',
    '--api',
    otherAudience,
    '--serves',
    audience,
  ]);
});

afterAll(() => server?.close());

describe('introspection of JWT access tokens', () => {
  it("says active with the token's claims to the client that owns it", async () => {
    const at = await token(service);
    const claims = decodeJwt(at);
    const result = await introspect(service, at);
    expect(result).toEqual({
      active: true,
      client_id: service.id,
      scope: 'stock:read',
      sub: service.id,
      aud: audience,
      iss: server.issuer,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      token_type: 'Bearer',
    });
  });

  it("tells the API's resource server, and nobody else", async () => {
    const at = await token(service);
    expect((await introspect(resourceServer, at)).active).toBe(true);
    expect(await introspect(stranger, at)).toEqual({ active: false });
  });

  it('requires client authentication', async () => {
    const at = await token(service);
    const res = await post(as.introspection_endpoint!, { token: at }, basic({ id: service.id, secret: 'wrong' }));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_client"');
    expect(await res.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('never accepts alg none, an HS256 token keyed with the public key, a foreign key or a tampered payload', async () => {
    const at = await token(service);
    const [h, p] = at.split('.') as [string, string, string];
    const payload = decodeJwt(at);
    const header = decodeProtectedHeader(at);

    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${p}.`;

    const jwks = (await (await fetch(as.jwks_uri!)).json()) as { keys: unknown[] };
    const hs256 = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: header.kid! })
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));

    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: header.kid! })
      .sign(privateKey);

    const widened = base64url.encode(JSON.stringify({ ...payload, scope: 'stock:read stock:write' }));
    const tampered = `${h}.${widened}.${at.split('.')[2]}`;

    const expired = await new SignJWT({ ...payload, exp: 1, iat: 0 })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: header.kid! })
      .sign(privateKey);

    for (const forged of [none, hs256, foreign, tampered, expired]) {
      expect(await introspect(service, forged)).toEqual({ active: false });
    }
  });

  it('says inactive for garbage, and 400 for a missing token', async () => {
    expect(await introspect(service, 'not-a-token')).toEqual({ active: false });
    const res = await post(as.introspection_endpoint!, {}, basic(service));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: "missing required parameter 'token'",
    });
  });
});

describe('client authentication at introspection and revocation', () => {
  it('takes client_secret_post: the secret in the form introspects and revokes, a wrong one is 401', async () => {
    const poster = await register([
      '--name',
      'poster',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'stock:read',
      '--auth-method',
      'client_secret_post',
    ]);
    poster.auth = oauth.ClientSecretPost(poster.secret);
    const at = await token(poster);
    expect(await introspect(poster, at)).toMatchObject({ active: true, client_id: poster.id });

    const wrong = await post(as.introspection_endpoint!, { token: at, client_id: poster.id, client_secret: 'wrong' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });

    await revoke(poster, at);
    expect(await introspect(poster, at)).toEqual({ active: false });
  });

  it('refuses two authentication methods at once and a repeated parameter, as the provider does', async () => {
    const at = await token(service);
    const both = await post(
      as.introspection_endpoint!,
      { token: at, client_id: service.id, client_secret: service.secret },
      basic(service),
    );
    expect(both.status).toBe(400);
    expect(await both.json()).toEqual({
      error: 'invalid_request',
      error_description: 'client authentication must only be provided using one mechanism',
    });

    const twice = await post(as.introspection_endpoint!, `token=${at}&token=${at}`, basic(service));
    expect(twice.status).toBe(400);
    expect(await twice.json()).toEqual({
      error: 'invalid_request',
      error_description: "'token' parameter must not be provided twice",
    });
  });

  it('introspects an access token sent with extra parameters and an opaque token, through the provider', async () => {
    const at = await token(service);
    const extra = await post(
      as.introspection_endpoint!,
      { token: at, token_type_hint: 'access_token', client_id: service.id, extra: 'x' },
      basic(service),
    );
    expect(await extra.json()).toMatchObject({ active: true, jti: decodeJwt(at).jti });
    const opaque = await post(
      as.revocation_endpoint!,
      { token: 'an-opaque-token-tessera-never-issued' },
      basic(service),
    );
    expect(opaque.status).toBe(200);
  });
});

describe('revocation of JWT access tokens', () => {
  it('makes a revoked token introspect as inactive, everywhere', async () => {
    const at = await token(service);
    expect((await introspect(service, at)).active).toBe(true);
    await revoke(service, at);
    expect(await introspect(service, at)).toEqual({ active: false });
    expect(await introspect(resourceServer, at)).toEqual({ active: false });
    // Revoking twice is fine (RFC 7009 §2.2).
    await revoke(service, at);
  });

  it('revokes a token sent many times at once: every answer 200, one revocation', async () => {
    const at = await token(service);
    const answers = await Promise.all(
      Array.from({ length: 24 }, () => oauth.revocationRequest(as, service.client, service.auth, at, options)),
    );
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(await introspect(service, at)).toEqual({ active: false });
  });

  it('lets only the owning client revoke', async () => {
    const at = await token(service);
    await revoke(stranger, at);
    await revoke(resourceServer, at);
    expect((await introspect(service, at)).active).toBe(true);
  });

  it('answers 200 for tokens it does not know (RFC 7009 §2.2)', async () => {
    await revoke(service, 'not-a-token');
    await revoke(service, 'a.b.c');
  });
});

describe('revocation answers application/json (RFC 7009 §2.2)', () => {
  // RFC 7009 §2.2 lets the body be anything; oidc-client-ts and simple-oauth2 parse it as JSON and
  // throw on an empty text/plain one, so Tessera answers `{}`, whichever way the answer is made.
  async function expectJsonEmpty(res: Response) {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json\b/);
    expect(await res.text()).toBe('{}');
  }

  it('answers {} for a JWT revoked before the provider, after it, and for unknown tokens', async () => {
    // The fast path before the provider (a client authenticating with its secret).
    await expectJsonEmpty(await post(as.revocation_endpoint!, { token: await token(service) }, basic(service)));
    // The answer after the provider (an extra parameter sends the request through it).
    const through = await token(service);
    await expectJsonEmpty(await post(as.revocation_endpoint!, { token: through, extra: 'x' }, basic(service)));
    expect(await introspect(service, through)).toEqual({ active: false });
    // Tokens nobody issued: opaque (the provider's answer) and JWT-shaped (Tessera's).
    await expectJsonEmpty(await post(as.revocation_endpoint!, { token: 'never-issued' }, basic(service)));
    await expectJsonEmpty(await post(as.revocation_endpoint!, { token: 'a.b.c' }, basic(service)));
    // A token another client owns: 200 and nothing revoked.
    await expectJsonEmpty(await post(as.revocation_endpoint!, { token: await token(service) }, basic(stranger)));
  });

  it('lets simple-oauth2 revokeAll() revoke both the access and the refresh token', async () => {
    const redirect = 'https://app.example.test/callback';
    const user = { email: `${randomId('u')}@example.test`, password: 'correct horse battery' };
    expect(
      (await tessera(['users', 'create', '--email', user.email, '--password-stdin'], { input: user.password })).code,
    ).toBe(0);
    const app = await register([
      '--name',
      'web',
      '--grant-types',
      'authorization_code,refresh_token',
      '--first-party',
      '--redirect-uri',
      redirect,
      '--scope',
      'openid offline_access',
    ]);
    const client = new AuthorizationCode({
      client: { id: app.id, secret: app.secret },
      auth: { tokenHost: server.issuer, tokenPath: '/token', revokePath: '/token/revocation', authorizePath: '/auth' },
    });
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(
      client.authorizeURL({ redirect_uri: redirect, scope: 'openid offline_access', state: randomId('s') }),
    );
    url.searchParams.set('prompt', 'consent');
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    const callback = await authorize(url, user);
    const accessToken = await client.getToken({
      code: callback.searchParams.get('code')!,
      redirect_uri: redirect,
      code_verifier: verifier,
    } as Parameters<typeof client.getToken>[0]);
    const refreshToken = accessToken.token.refresh_token as string;
    expect(refreshToken).toEqual(expect.any(String));

    await accessToken.revokeAll();

    const refreshed = await post(
      `${server.issuer}/token`,
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      basic(app),
    );
    expect(refreshed.status).toBe(400);
    expect(await refreshed.json()).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    const userinfo = await fetch(`${server.issuer}/me`, {
      headers: { authorization: `Bearer ${accessToken.token.access_token as string}` },
    });
    expect(userinfo.status).toBe(401);
  });
});
