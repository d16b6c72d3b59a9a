// The kit against a real Tessera: its own access tokens pass; its ID tokens and other APIs'
// tokens do not; scopes are enforced; introspection mode sees a revocation made at Tessera.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { call, startProtectedApi, type Framework, type ProtectedApi } from './apps.ts';

const options = { [oauth.allowInsecureRequests]: true };
const REDIRECT = 'https://app.example.test/callback';
let server: TestServer;
let as: oauth.AuthorizationServer;
let audience: string;
let otherAudience: string;
let apiClient: { client_id: string; client_secret: string };

interface Confidential {
  client: oauth.Client;
  auth: oauth.ClientAuth;
}
async function service(api: string, scope: string): Promise<Confidential> {
  const c = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'svc',
    '--grant-types',
    'client_credentials',
    '--api',
    api,
    '--scope',
    scope,
  ]);
  return { client: { client_id: c.client_id }, auth: oauth.ClientSecretBasic(c.client_secret) };
}
async function token(c: Confidential, scope: string): Promise<string> {
  const res = await oauth.clientCredentialsGrantRequest(as, c.client, c.auth, new URLSearchParams({ scope }), options);
  return (await oauth.processClientCredentialsResponse(as, c.client, res)).access_token;
}

beforeAll(async () => {
  server = await startTestServer();
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  audience = `https://${randomId('orders')}.example.test`;
  otherAudience = `https://${randomId('billing')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'orders:read orders:write']);
  await tesseraJson(['apis', 'create', '--audience', otherAudience, '--scope', 'orders:read']);
  // The API's own client: it may introspect its API's tokens.
  apiClient = await tesseraJson([
    'clients',
    'create',
    '--name',
    'orders-api',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'orders:read',
    '--serves',
    audience,
  ]);
});
afterAll(() => server?.close());

describe.each<Framework>(['koa', 'express'])("Tessera's tokens at a %s API", (framework) => {
  let api: ProtectedApi;
  // The kit's clock, moved on by the tests instead of waiting (it ages the introspection cache).
  let clockOffset = 0;
  beforeAll(async () => {
    api = await startProtectedApi(framework, {
      issuer: server.issuer,
      audience,
      clock: () => Date.now() + clockOffset,
      introspection: { clientId: apiClient.client_id, clientSecret: apiClient.client_secret, cacheTtl: 1 },
    });
  });
  afterAll(() => api?.close());
  const get = (t: string, path = '/orders', method = 'GET') =>
    call(`${api.url}${path}`, { authorization: `Bearer ${t}` }, method);
  const invalidToken = (description: string) => ({
    status: 401,
    wwwAuthenticate: `Bearer realm="${audience}", error="invalid_token", error_description="${description}"`,
    body: { error: 'invalid_token', error_description: description },
  });

  it("accepts a Client Credentials token and enforces each route's scopes", async () => {
    const svc = await service(audience, 'orders:read orders:write');
    const reader = await token(svc, 'orders:read');
    expect(await get(reader)).toEqual({
      status: 200,
      wwwAuthenticate: null,
      body: { sub: svc.client.client_id, scopes: ['orders:read'], scheme: 'Bearer' },
    });
    expect(await get(reader, '/orders', 'POST')).toEqual({
      status: 403,
      wwwAuthenticate: `Bearer realm="${audience}", error="insufficient_scope", error_description="this resource needs the scope orders:write", scope="orders:write"`,
      body: {
        error: 'insufficient_scope',
        error_description: 'this resource needs the scope orders:write',
        scope: 'orders:write',
      },
    });
    expect((await get(await token(svc, 'orders:read orders:write'), '/orders', 'POST')).status).toBe(200);
  });

  it('refuses a token for another API, and an ID token', async () => {
    expect(await get(await token(await service(otherAudience, 'orders:read'), 'orders:read'))).toEqual(
      invalidToken('the access token is for another audience'),
    );
    // An ID token is signed by the same keys, but is no access token (RFC 9068 §4: typ).
    const email = `${randomId('ada')}@example.test`;
    await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: 'correct horse battery' });
    const app = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'app',
      '--grant-types',
      'authorization_code',
      '--public',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--api',
      audience,
      '--scope',
      'openid orders:read',
    ]);
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid orders:read',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const callback = await authorize(url, { email, password: 'correct horse battery' });
    const client = { client_id: app.client_id };
    const params = oauth.validateAuthResponse(as, client, callback);
    const res = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      REDIRECT,
      verifier,
      options,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
    expect(await get(tokens.id_token!)).toEqual(invalidToken('the token is not an access token (typ must be at+jwt)'));
    // The user's access token from the same response is good.
    expect((await get(tokens.access_token)).status).toBe(200);
  });

  it('introspection mode sees a revocation at Tessera within its one-second cache', async () => {
    const svc = await service(audience, 'orders:read');
    const t = await token(svc, 'orders:read');
    expect((await get(t, '/live')).status).toBe(200);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, svc.client, svc.auth, t, options));
    // Within the cache time the answer may be the cached one; after it, the revocation shows.
    clockOffset += 1_001;
    expect(await get(t, '/live')).toEqual(invalidToken('the access token is not active'));
    // Without introspection the token is still good until it expires: that is the trade-off.
    expect((await get(t)).status).toBe(200);
  });
});
