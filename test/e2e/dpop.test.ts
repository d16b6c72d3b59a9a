// DPoP (RFC 9449): access and refresh tokens bound to a key the client proves it holds, with
// oauth4webapi as the client. A stolen DPoP-bound token is useless without the key: userinfo
// refuses it, introspection names the key (cnf.jkt) for resource servers, and a public client's
// refresh token works only with the same key.
import * as oauth from 'oauth4webapi';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const REDIRECT = 'https://notes.example.test/callback';
const options = { [oauth.allowInsecureRequests]: true };
let server: TestServer;
let as: oauth.AuthorizationServer;
let audience: string;

beforeAll(async () => {
  server = await startTestServer();
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  audience = `https://${randomId('notes')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'notes:read']);
});
afterAll(() => server?.close());

async function dpopKey() {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  return { pair, jkt: await calculateJwkThumbprint(jwk), jwk };
}

async function serviceClient(extra: string[] = []) {
  const created = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'notes-sync',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'notes:read',
    ...extra,
  ]);
  return {
    client: { client_id: created.client_id } as oauth.Client,
    auth: oauth.ClientSecretBasic(created.client_secret),
  };
}

/** A client-credentials token, retrying once with the server's nonce when it asks for one. */
async function dpopClientCredentials(c: Awaited<ReturnType<typeof serviceClient>>, DPoP: oauth.DPoPHandle) {
  const request = () =>
    oauth.clientCredentialsGrantRequest(as, c.client, c.auth, { scope: 'notes:read' }, { ...options, DPoP });
  try {
    return await oauth.processClientCredentialsResponse(as, c.client, await request());
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return oauth.processClientCredentialsResponse(as, c.client, await request());
  }
}

/** A DPoP proof by hand (RFC 9449 §4.2), for the replay and wrong-key cases a library never sends. */
async function proof(
  key: Awaited<ReturnType<typeof dpopKey>>,
  htm: string,
  htu: string,
  extra: Record<string, unknown> = {},
) {
  return new SignJWT({ htm, htu, jti: randomId('proof'), iat: Math.floor(Date.now() / 1000), ...extra })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .sign(key.pair.privateKey);
}

async function rawToken(c: Awaited<ReturnType<typeof serviceClient>>, secret: string, dpop?: string) {
  const res = await fetch(as.token_endpoint!, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${c.client.client_id}:${secret}`).toString('base64')}`,
      ...(dpop ? { dpop } : {}),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'notes:read' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function introspect(token: string) {
  const rs = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'notes-api',
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
  return (await res.json()) as Record<string, unknown>;
}

describe('DPoP-bound access tokens for a confidential client', () => {
  it('is advertised in discovery', () => {
    expect(as.dpop_signing_alg_values_supported).toEqual(['ES256', 'Ed25519', 'EdDSA']);
  });

  it('binds the JWT access token to the proof key (cnf.jkt), and introspection reports it', async () => {
    const c = await serviceClient();
    const key = await dpopKey();
    const tokens = await dpopClientCredentials(c, oauth.DPoP(c.client, key.pair));
    expect(tokens.token_type).toBe('dpop');
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: audience, cnf: { jkt: key.jkt } });
    expect(await introspect(tokens.access_token)).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: key.jkt },
    });
  });

  it('refuses a replayed proof', async () => {
    const c = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'notes-sync',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'notes:read',
    ]);
    const sc = { client: { client_id: c.client_id }, auth: oauth.ClientSecretBasic(c.client_secret) };
    const signed = await proof(await dpopKey(), 'POST', as.token_endpoint!);
    expect((await rawToken(sc, c.client_secret, signed)).status).toBe(200);
    // oidc-provider answers a replay at the token endpoint as an invalid grant; the reason is
    // for the server's log only.
    expect(await rawToken(sc, c.client_secret, signed)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
    expect(server.logs).toContainEqual(
      expect.objectContaining({ client_id: c.client_id, error_detail: 'DPoP proof JWT Replay detected' }),
    );
  });

  it('refuses a proof for another URL or method, and one signed with HS256', async () => {
    const c = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'notes-sync',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'notes:read',
    ]);
    const sc = { client: { client_id: c.client_id }, auth: oauth.ClientSecretBasic(c.client_secret) };
    const key = await dpopKey();
    expect(await rawToken(sc, c.client_secret, await proof(key, 'POST', `${server.issuer}/elsewhere`))).toEqual({
      status: 400,
      body: { error: 'invalid_dpop_proof', error_description: 'DPoP proof htu mismatch' },
    });
    expect(await rawToken(sc, c.client_secret, await proof(key, 'GET', as.token_endpoint!))).toEqual({
      status: 400,
      body: { error: 'invalid_dpop_proof', error_description: 'DPoP proof htm mismatch' },
    });
    const hs = await new SignJWT({
      htm: 'POST',
      htu: as.token_endpoint,
      jti: randomId('p'),
      iat: Math.floor(Date.now() / 1000),
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } as never })
      .sign(Buffer.from('secret'));
    expect(await rawToken(sc, c.client_secret, hs)).toEqual({
      status: 400,
      body: { error: 'invalid_dpop_proof', error_description: 'invalid DPoP key binding' },
    });
  });

  it('a client registered --dpop-bound gets no token without a proof', async () => {
    const c = await tesseraJson<{ client_id: string; client_secret: string; dpop_bound_access_tokens: boolean }>([
      'clients',
      'create',
      '--name',
      'notes-strict',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'notes:read',
      '--dpop-bound',
    ]);
    expect(c.dpop_bound_access_tokens).toBe(true);
    const sc = { client: { client_id: c.client_id }, auth: oauth.ClientSecretBasic(c.client_secret) };
    expect(await rawToken(sc, c.client_secret)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
    expect((await rawToken(sc, c.client_secret, await proof(await dpopKey(), 'POST', as.token_endpoint!))).status).toBe(
      200,
    );
  });
});

describe('a public client: DPoP-bound userinfo token and refresh token', () => {
  async function signIn() {
    const email = `${randomId('ada')}@example.test`;
    const password = 'correct horse battery';
    expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: password })).code).toBe(
      0,
    );
    const created = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'Notes app',
      '--public',
      '--first-party',
      '--grant-types',
      'authorization_code,refresh_token',
      '--redirect-uri',
      REDIRECT,
      '--scope',
      'openid email offline_access',
    ]);
    const client: oauth.Client = { client_id: created.client_id };
    const key = await dpopKey();
    const DPoP = oauth.DPoP(client, key.pair);
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid email offline_access',
      prompt: 'consent',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      // RFC 9449 §10: the code is bound to the key too.
      dpop_jkt: key.jkt,
    }).toString();
    const callback = await authorize(url, { email, password });
    const params = oauth.validateAuthResponse(as, client, callback);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, verifier, {
      ...options,
      DPoP,
    });
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
    return { client, key, DPoP, tokens };
  }

  async function userinfo(token: string, headers: Record<string, string>) {
    const res = await fetch(as.userinfo_endpoint!, { headers: { authorization: `DPoP ${token}`, ...headers } });
    return {
      status: res.status,
      body: res.status === 200 ? await res.json() : await res.text(),
      wwwAuthenticate: res.headers.get('www-authenticate'),
    };
  }

  it('userinfo accepts the token with a proof from its key, and refuses it without one or with another key', async () => {
    const { client, key, DPoP, tokens } = await signIn();
    expect(tokens.token_type).toBe('dpop');
    // A JWT for userinfo, bound to the key (RFC 9449 §6.1); userinfo checks the binding.
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: `${server.issuer}/me`, cnf: { jkt: key.jkt } });
    const ok = await oauth.userInfoRequest(as, client, tokens.access_token, { ...options, DPoP });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ email: expect.stringContaining('@example.test') });

    // RFC 9449 §7.1: the DPoP scheme without a proof is a malformed request.
    const withoutProof = await userinfo(tokens.access_token, {});
    expect(withoutProof.status).toBe(400);
    expect(JSON.parse(withoutProof.body as string)).toEqual({
      error: 'invalid_request',
      error_description: '`DPoP` header not provided',
    });
    // Presented as a plain bearer token, it is not a valid token at all.
    const asBearer = await fetch(as.userinfo_endpoint!, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(asBearer.status).toBe(401);
    expect(await asBearer.json()).toEqual({ error: 'invalid_token', error_description: 'invalid token provided' });

    const ath = Buffer.from(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(tokens.access_token)),
    ).toString('base64url');
    const thief = await dpopKey();
    const stolen = await userinfo(tokens.access_token, {
      dpop: await proof(thief, 'GET', as.userinfo_endpoint!, { ath }),
    });
    expect(stolen.status).toBe(401);
    expect(stolen.wwwAuthenticate).toContain('error="invalid_token"');
    expect(stolen.wwwAuthenticate).toContain('error_description="invalid token provided"');
    expect(server.logs).toContainEqual(
      expect.objectContaining({ event: 'userinfo.error', error_detail: 'failed jkt verification' }),
    );
    // The right key, but the proof replayed.
    const once = await proof(key, 'GET', as.userinfo_endpoint!, { ath });
    expect((await userinfo(tokens.access_token, { dpop: once })).status).toBe(200);
    const replayed = await userinfo(tokens.access_token, { dpop: once });
    expect(replayed.status).toBe(401);
    expect(replayed.wwwAuthenticate).toContain('error="invalid_token"');
    expect(server.logs).toContainEqual(
      expect.objectContaining({ event: 'userinfo.error', error_detail: 'DPoP proof JWT Replay detected' }),
    );
  });

  it('the refresh token is bound to the key: another key gets invalid_grant, the same key a new pair', async () => {
    const { client, DPoP, tokens } = await signIn();
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const thief = oauth.DPoP(client, (await dpopKey()).pair);
    const stolen = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, {
      ...options,
      DPoP: thief,
    });
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    const noProof = await fetch(as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
        client_id: client.client_id,
      }),
    });
    expect(noProof.status).toBe(400);
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { ...options, DPoP }),
    );
    expect(refreshed.token_type).toBe('dpop');
  });

  it('a retry of a refresh within the grace is answered only with the same key', async () => {
    const { client, DPoP, tokens } = await signIn();
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { ...options, DPoP }),
    );
    // Another key is not a retry: refused before it is counted, and the family lives on.
    const thief = oauth.DPoP(client, (await dpopKey()).pair);
    const stolen = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, {
      ...options,
      DPoP: thief,
    });
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    const retried = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { ...options, DPoP }),
    );
    expect(retried.refresh_token).toBe(refreshed.refresh_token);
    expect(retried.token_type).toBe('dpop');
  });
});

describe('server nonces (DPOP_REQUIRE_NONCE)', () => {
  it('asks for a nonce, and the library retries with it', async () => {
    const strict = await startTestServer({ DPOP_REQUIRE_NONCE: 'true' });
    try {
      const created = await tesseraJson<{ client_id: string; client_secret: string }>([
        'clients',
        'create',
        '--name',
        'notes-sync',
        '--grant-types',
        'client_credentials',
        '--api',
        audience,
        '--scope',
        'notes:read',
      ]);
      const key = await dpopKey();
      const first = await fetch(`${strict.issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${created.client_id}:${created.client_secret}`).toString('base64')}`,
          dpop: await proof(key, 'POST', `${strict.issuer}/token`),
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'notes:read' }),
      });
      expect(first.status).toBe(400);
      expect(await first.json()).toEqual({
        error: 'use_dpop_nonce',
        error_description: 'nonce is required in the DPoP proof',
      });
      expect(first.headers.get('dpop-nonce')).toEqual(expect.any(String));

      const strictAs = await oauth.processDiscoveryResponse(
        new URL(strict.issuer),
        await oauth.discoveryRequest(new URL(strict.issuer), options),
      );
      const client: oauth.Client = { client_id: created.client_id };
      const DPoP = oauth.DPoP(client, key.pair);
      const request = () =>
        oauth.clientCredentialsGrantRequest(
          strictAs,
          client,
          oauth.ClientSecretBasic(created.client_secret),
          { scope: 'notes:read' },
          { ...options, DPoP },
        );
      const refused = await oauth
        .processClientCredentialsResponse(strictAs, client, await request())
        .catch((err: unknown) => err);
      expect(oauth.isDPoPNonceError(refused)).toBe(true);
      const tokens = await oauth.processClientCredentialsResponse(strictAs, client, await request());
      expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.jkt });
    } finally {
      await strict.close();
    }
  });
});

describe('token exchange (RFC 8693) for a client registered --dpop-bound', () => {
  const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
  const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

  let target: string;
  let subject: string;
  beforeAll(async () => {
    target = `https://${randomId('notes-internal')}.example.test`;
    const [, caller] = await Promise.all([
      tesseraJson(['apis', 'create', '--audience', target, '--scope', 'notes:read']),
      serviceClient(),
    ]);
    subject = (
      await oauth.processClientCredentialsResponse(
        as,
        caller.client,
        await oauth.clientCredentialsGrantRequest(as, caller.client, caller.auth, { scope: 'notes:read' }, options),
      )
    ).access_token;
  });

  /** A DPoP-bound gateway that serves `audience` and may exchange its tokens for `target`. */
  async function dpopGateway() {
    const gateway = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'notes-gateway',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'notes:read',
      '--serves',
      audience,
      '--dpop-bound',
    ]);
    await tesseraJson(['clients', 'allow-exchange', gateway.client_id, '--api', target]);
    const exchange = async (dpop?: string) => {
      const res = await fetch(as.token_endpoint!, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${gateway.client_id}:${gateway.client_secret}`).toString('base64')}`,
          ...(dpop ? { dpop } : {}),
        },
        body: new URLSearchParams({
          grant_type: GRANT,
          subject_token: subject,
          subject_token_type: ACCESS_TOKEN_TYPE,
          resource: target,
        }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    return { gateway, exchange };
  }

  it("refuses an exchange without a proof, as the provider's own grants do", async () => {
    const { gateway, exchange } = await dpopGateway();
    expect(await exchange()).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
    expect(server.logs).toContainEqual(
      expect.objectContaining({ client_id: gateway.client_id, error_detail: 'DPoP proof JWT not provided' }),
    );
  });

  it('binds the exchanged token to the proof key (cnf.jkt, token_type DPoP), and refuses a replayed proof', async () => {
    const { exchange } = await dpopGateway();
    const key = await dpopKey();
    const signed = await proof(key, 'POST', as.token_endpoint!);
    const res = await exchange(signed);
    expect(res).toMatchObject({
      status: 200,
      body: { token_type: 'DPoP', issued_token_type: ACCESS_TOKEN_TYPE, scope: 'notes:read' },
    });
    expect(decodeJwt(res.body.access_token as string)).toMatchObject({ aud: target, cnf: { jkt: key.jkt } });
    expect(await exchange(signed)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
  });

  it('refuses a proof for another URL', async () => {
    const { exchange } = await dpopGateway();
    expect(await exchange(await proof(await dpopKey(), 'POST', `${server.issuer}/elsewhere`))).toEqual({
      status: 400,
      body: { error: 'invalid_dpop_proof', error_description: 'DPoP proof htu mismatch' },
    });
  });
});
