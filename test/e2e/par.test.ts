// Pushed Authorization Requests (RFC 9126): the client authenticates and pushes its
// authorization parameters; the browser carries only a one-time request_uri. openid-client is
// the client; a client (or the whole server) may require PAR.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const REDIRECT = 'https://reports.example.test/callback';
let server: TestServer;
let audience: string;

beforeAll(async () => {
  server = await startTestServer();
  audience = `https://${randomId('reports')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'reports:read']);
});
afterAll(() => server?.close());

async function setup(at: TestServer, extra: string[] = []) {
  const email = `${randomId('lin')}@example.test`;
  const password = 'correct horse battery';
  expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: password })).code).toBe(0);
  const created = await tesseraJson<{
    client_id: string;
    client_secret: string;
    require_pushed_authorization_requests: boolean;
  }>([
    'clients',
    'create',
    '--name',
    'Reports',
    '--grant-types',
    'authorization_code',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid reports:read',
    ...extra,
  ]);
  const config = await oidc.discovery(
    new URL(at.issuer),
    created.client_id,
    created.client_secret,
    oidc.ClientSecretBasic(created.client_secret),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
  return { user: { email, password }, created, config };
}

async function pkce() {
  const verifier = oidc.randomPKCECodeVerifier();
  return {
    verifier,
    params: { code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' },
  };
}

const params = { redirect_uri: REDIRECT, scope: 'openid reports:read' };

describe('pushed authorization requests', () => {
  it('are advertised in discovery, not required by default', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata.pushed_authorization_request_endpoint).toBe(`${server.issuer}/request`);
    expect(metadata.require_pushed_authorization_requests).toBeUndefined();
  });

  it('run end to end: push, sign in with only the request_uri, redeem the code', async () => {
    const s = await setup(server);
    const { verifier, params: challenge } = await pkce();
    const url = await oidc.buildAuthorizationUrlWithPAR(s.config, { ...params, ...challenge, state: 'st-1' });
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const callback = await authorize(url, s.user);
    const tokens = await oidc.authorizationCodeGrant(s.config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 'st-1',
    });
    // The access token is for the API and userinfo and carries the granted scopes; the ID token
    // proves the sign-in.
    expect(tokens.scope).toBe('openid reports:read');
    expect(tokens.claims()?.sub).toEqual(expect.any(String));
  });

  it('a request_uri is good once', async () => {
    const s = await setup(server);
    const { params: challenge } = await pkce();
    const url = await oidc.buildAuthorizationUrlWithPAR(s.config, { ...params, ...challenge });
    await authorize(url, s.user);
    const again = await authorize(url, s.user);
    expect(Object.fromEntries(again.searchParams)).toEqual({
      error: 'invalid_request_uri',
      error_description: 'request_uri is invalid, expired, or was already used',
      iss: server.issuer,
    });
  });

  it('the push endpoint authenticates the client and checks the redirect URI', async () => {
    const s = await setup(server);
    const push = (auth: string, body: Record<string, string>) =>
      fetch(`${server.issuer}/request`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
        },
        body: new URLSearchParams({ client_id: s.created.client_id, response_type: 'code', ...body }),
      });
    const wrongSecret = await push(`${s.created.client_id}:wrong`, {
      ...params,
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
    const wrongRedirect = await push(`${s.created.client_id}:${s.created.client_secret}`, {
      ...params,
      redirect_uri: 'https://evil.example.test/callback',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    });
    expect(wrongRedirect.status).toBe(400);
    expect(await wrongRedirect.json()).toEqual({
      error: 'invalid_request',
      error_description: "redirect_uri did not match any of the client's registered redirect_uris",
    });
  });

  it('a client registered --require-par cannot send a plain authorization request', async () => {
    const s = await setup(server, ['--require-par']);
    expect(s.created.require_pushed_authorization_requests).toBe(true);
    const { verifier, params: challenge } = await pkce();
    const plain = oidc.buildAuthorizationUrl(s.config, { ...params, ...challenge, state: 'st-2' });
    const refused = await authorize(plain, s.user);
    expect(Object.fromEntries(refused.searchParams)).toEqual({
      error: 'invalid_request',
      error_description: 'Pushed Authorization Request must be used',
      state: 'st-2',
      iss: server.issuer,
    });
    const callback = await authorize(
      await oidc.buildAuthorizationUrlWithPAR(s.config, { ...params, ...challenge }),
      s.user,
    );
    expect(
      (await oidc.authorizationCodeGrant(s.config, callback, { pkceCodeVerifier: verifier })).access_token,
    ).toEqual(expect.any(String));
  });

  it('PAR_REQUIRED requires it of every client, and says so in discovery', async () => {
    const strict = await startTestServer({ PAR_REQUIRED: 'true' });
    try {
      const metadata = (await (await fetch(`${strict.issuer}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      expect(metadata.require_pushed_authorization_requests).toBe(true);
      const s = await setup(strict);
      const { params: challenge } = await pkce();
      const refused = await authorize(oidc.buildAuthorizationUrl(s.config, { ...params, ...challenge }), s.user);
      expect(refused.searchParams.get('error_description')).toBe('Pushed Authorization Request must be used');
    } finally {
      await strict.close();
    }
  });

  it('PAR=false removes the endpoint from discovery', async () => {
    const off = await startTestServer({ PAR: 'false' });
    try {
      const metadata = (await (await fetch(`${off.issuer}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      expect(metadata.pushed_authorization_request_endpoint).toBeUndefined();
      expect((await fetch(`${off.issuer}/request`, { method: 'POST' })).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
