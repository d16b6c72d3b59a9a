// A service gets an RS256 JWT access token with the Client Credentials grant (openid-client as
// the client) and a resource server verifies it against the JWKS (jose).
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../setup/eventually.ts';
import { randomId, startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';

let server: TestServer;
let audience: string;
let clientId: string;
let clientSecret: string;

beforeAll(async () => {
  server = await startTestServer();
  audience = `https://${randomId('orders')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'orders:read orders:write', '--ttl', '600']);
  const created = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'billing',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'orders:read',
  ]);
  clientId = created.client_id;
  clientSecret = created.client_secret;
});

afterAll(() => server?.close());

async function discover(id = clientId, secret = clientSecret, auth = oidc.ClientSecretBasic(secret)) {
  return oidc.discovery(new URL(server.issuer), id, secret, auth, { execute: [oidc.allowInsecureRequests] });
}

describe('client credentials', () => {
  it('issues an RFC 9068 JWT access token that verifies against the JWKS', async () => {
    const config = await discover();
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'orders:read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBe(600);
    expect(tokens.scope).toBe('orders:read');

    const header = decodeProtectedHeader(tokens.access_token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.issuer,
      audience,
      typ: 'at+jwt',
      algorithms: ['RS256'],
    });
    expect(payload).toMatchObject({
      iss: server.issuer,
      sub: clientId,
      aud: audience,
      client_id: clientId,
      scope: 'orders:read',
    });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it("uses the client's default API when no resource is given, and accepts an explicit one", async () => {
    const config = await discover();
    const implicit = await oidc.clientCredentialsGrant(config, {});
    // No scope asked for: every scope the client may have for the API (RFC 6749 §3.3 default).
    expect(implicit.scope).toBe('orders:read');
    const explicit = await oidc.clientCredentialsGrant(config, { resource: audience, scope: 'orders:read' });
    for (const t of [implicit, explicit]) {
      expect(decodeJwt(t.access_token).aud).toBe(audience);
    }
  });

  it('authenticates with client_secret_post too', async () => {
    const postClient = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'poster',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'orders:read',
      '--auth-method',
      'client_secret_post',
    ]);
    const postConfig = await discover(
      postClient.client_id,
      postClient.client_secret,
      oidc.ClientSecretPost(postClient.client_secret),
    );
    const tokens = await oidc.clientCredentialsGrant(postConfig, { scope: 'orders:read' });
    expect(tokens.access_token).toEqual(expect.any(String));
  });

  it('advertises only what Tessera supports in discovery, with cache headers', async () => {
    const res = await fetch(`${server.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const metadata = (await res.json()) as Record<string, string>;
    expect(metadata.issuer).toBe(server.issuer);
    expect(metadata.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    const jwks = await fetch(metadata.jwks_uri!);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
    const { keys } = (await jwks.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
  });

  it("serves discovery and the JWKS from memory with the provider's headers, and CORS for another origin", async () => {
    for (const path of ['/.well-known/openid-configuration', '/jwks']) {
      const [first, again] = [await fetch(`${server.issuer}${path}`), await fetch(`${server.issuer}${path}`)];
      expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
      expect(again.headers.get('cache-control')).toBe('public, max-age=300');
      expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
      expect(await again.text()).toBe(await first.text());
      const cors = await fetch(`${server.issuer}${path}`, { headers: { origin: 'https://spa.example.test' } });
      expect(cors.headers.get('access-control-allow-origin')).toBe('https://spa.example.test');
    }
    expect((await fetch(`${server.issuer}/jwks`)).headers.get('content-type')).toBe(
      'application/jwk-set+json; charset=utf-8',
    );
  });
});

describe('client credentials answered before the provider (src/oidc/client-credentials-fast-path.ts)', () => {
  const basicAuth = () =>
    `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(), ...headers },
      body,
    });
  /** Whether the request with this id was answered by the fast path (its log line says so). */
  const answeredByFastPath = (res: Response) => {
    const line = server.logs.find((l) => l.msg === 'token issued' && l.req_id === res.headers.get('x-request-id'));
    expect(line).toBeDefined();
    return line!.fast_path === true;
  };

  it('issues the token the provider issues: same header, claims, lifetime and response', async () => {
    const fast = await post('grant_type=client_credentials&scope=orders:read');
    // A parameter the fast path does not know sends the same request to the provider, which
    // ignores it (oidc-provider strips parameters a grant does not use).
    const viaProvider = await post('grant_type=client_credentials&scope=orders:read&unknown_parameter=1');
    expect([fast.status, viaProvider.status]).toEqual([200, 200]);
    expect(answeredByFastPath(fast)).toBe(true);
    expect(answeredByFastPath(viaProvider)).toBe(false);
    for (const header of [
      'content-type',
      'cache-control',
      'x-content-type-options',
      'x-frame-options',
      'referrer-policy',
    ]) {
      expect(fast.headers.get(header), header).toBe(viaProvider.headers.get(header));
    }
    const [a, b] = [await fast.json(), await viaProvider.json()] as { access_token: string }[];
    expect({ ...a, access_token: undefined }).toEqual({ ...b, access_token: undefined });
    expect(Object.keys(a!)).toEqual(Object.keys(b!));
    expect(decodeProtectedHeader(a!.access_token)).toEqual(decodeProtectedHeader(b!.access_token));
    const [ca, cb] = [decodeJwt(a!.access_token), decodeJwt(b!.access_token)];
    expect(Object.keys(ca).sort()).toEqual(Object.keys(cb).sort());
    const variable = (c: Record<string, unknown>) => ({ ...c, jti: undefined, iat: undefined, exp: undefined });
    expect(variable(ca)).toEqual(variable(cb));
    expect(ca.exp! - ca.iat!).toBe(cb.exp! - cb.iat!);
    expect(ca.jti).not.toBe(cb.jti);
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    await jwtVerify(a!.access_token, jwks, { issuer: server.issuer, audience, typ: 'at+jwt', algorithms: ['RS256'] });
  });

  it('answers the plain request forms itself: no scope, an explicit resource, a repeated scope token, client_secret_post', async () => {
    for (const body of [
      'grant_type=client_credentials',
      `grant_type=client_credentials&resource=${encodeURIComponent(audience)}&scope=orders:read`,
      'grant_type=client_credentials&scope=orders:read+orders:read',
    ]) {
      const res = await post(body);
      expect(res.status, body).toBe(200);
      expect(answeredByFastPath(res), body).toBe(true);
    }
    const dup = await post('grant_type=client_credentials&scope=orders:read+orders:read');
    expect(((await dup.json()) as { scope?: string }).scope).toBe('orders:read');
    const viaPost = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    // This client is registered for client_secret_basic: the provider decides about a post.
    expect(answeredByFastPath(viaPost)).toBe(false);
  });

  it('leaves every other request to the provider, which answers as before', async () => {
    const cases: [string, number, Record<string, unknown>][] = [
      [
        'grant_type=client_credentials&scope=orders:read&scope=orders:read',
        400,
        { error: 'invalid_request', error_description: "'scope' parameter must not be provided twice" },
      ],
      [
        'grant_type=client_credentials&scope=openid',
        400,
        { error: 'invalid_scope', error_description: 'requested scope is not allowed', scope: 'openid' },
      ],
      [
        'grant_type=client_credentials&scope=orders:read%20%20orders:read',
        400,
        { error: 'invalid_scope', error_description: 'scope contains invalid characters' },
      ],
      [
        'grant_type=client_credentials&resource=not-a-uri',
        400,
        { error: 'invalid_target', error_description: 'resource indicator must be an absolute URI' },
      ],
      [
        `grant_type=client_credentials&resource=${encodeURIComponent(`${audience}#x`)}`,
        400,
        { error: 'invalid_target', error_description: 'resource indicator must not contain a fragment component' },
      ],
      [
        'grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fa.example.test&code_verifier=x',
        400,
        { error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' },
      ],
    ];
    for (const [body, status, answer] of cases) {
      const res = await post(body);
      expect(res.status, body).toBe(status);
      expect(await res.json(), body).toEqual(answer);
    }
  });
});

describe('client credentials errors (RFC 6749 §5.2)', () => {
  const tokenRequest = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body),
    });
  const basic = (id: string, secret: string) => ({
    authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
  });

  it('refuses a wrong secret with 401, WWW-Authenticate and invalid_client', async () => {
    const res = await tokenRequest({ grant_type: 'client_credentials' }, basic(clientId, `${clientSecret}x`));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=".+", error="invalid_client"/);
    expect(await res.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('refuses an unknown client the same way', async () => {
    const res = await tokenRequest({ grant_type: 'client_credentials' }, basic('no-such-client', clientSecret));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('refuses a scope the client is not allowed', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials', scope: 'orders:read orders:write' },
      basic(clientId, clientSecret),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_scope',
      error_description: 'requested scope is not allowed',
      scope: 'orders:write',
    });
  });

  it('refuses an unknown resource', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials', resource: 'https://unknown.example.test' },
      basic(clientId, clientSecret),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_target',
      error_description: 'the client may not request tokens for this resource',
    });
  });

  it('refuses an unsupported grant type and a malformed body with 400, never 500', async () => {
    const unknown = await tokenRequest(
      { grant_type: 'password', username: 'a', password: 'b' },
      basic(clientId, clientSecret),
    );
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: 'unsupported_grant_type',
      error_description: 'unsupported grant_type requested',
    });

    const json = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...basic(clientId, clientSecret) },
      body: '{"grant_type":',
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe('invalid_request');

    const garbage = await tokenRequest({}, { authorization: 'Basic !!!' });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toEqual({
      error: 'invalid_request',
      error_description: 'invalid authorization header value format',
    });
  });
});

describe('client credentials without a scope (RFC 6749 §3.3)', () => {
  const tokenRequest = (id: string, secret: string, body: string) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      },
      body,
    });
  async function service(extra: string[] = []) {
    return tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'all-scopes',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'orders:read orders:write',
      ...extra,
    ]);
  }

  it('defaults to every scope the client may have for the API, before and through the provider alike', async () => {
    const c = await service();
    // An unknown parameter sends the same request through the provider instead of the fast path.
    for (const body of ['grant_type=client_credentials', 'grant_type=client_credentials&unknown_parameter=1']) {
      const res = await tokenRequest(c.client_id, c.client_secret, body);
      expect(res.status, body).toBe(200);
      const answer = (await res.json()) as { scope: string; access_token: string };
      expect(answer.scope, body).toBe('orders:read orders:write');
      expect(decodeJwt(answer.access_token).scope, body).toBe('orders:read orders:write');
    }
    // An explicit scope is still exactly what is granted.
    const narrow = await tokenRequest(c.client_id, c.client_secret, 'grant_type=client_credentials&scope=orders:read');
    expect(((await narrow.json()) as { scope: string }).scope).toBe('orders:read');
  });

  it('refuses a request without scope from a client registered with --require-explicit-scope', async () => {
    const c = await service(['--require-explicit-scope']);
    expect(
      (await tesseraJson<{ require_explicit_scope: boolean }>(['clients', 'show', c.client_id])).require_explicit_scope,
    ).toBe(true);
    for (const body of ['grant_type=client_credentials', 'grant_type=client_credentials&unknown_parameter=1']) {
      const res = await tokenRequest(c.client_id, c.client_secret, body);
      expect(res.status, body).toBe(400);
      expect(await res.json(), body).toEqual({
        error: 'invalid_scope',
        error_description: 'this client must name the scopes it requests',
      });
    }
    const named = await tokenRequest(c.client_id, c.client_secret, 'grant_type=client_credentials&scope=orders:write');
    expect(((await named.json()) as { scope: string }).scope).toBe('orders:write');

    await tesseraJson(['clients', 'update', c.client_id, '--no-require-explicit-scope']);
    expect(
      (await tesseraJson<{ require_explicit_scope: boolean }>(['clients', 'show', c.client_id])).require_explicit_scope,
    ).toBe(false);
    // The client catalog may serve the old settings for its maximum age: poll.
    await eventually(async () => {
      const res = await tokenRequest(c.client_id, c.client_secret, 'grant_type=client_credentials');
      expect(((await res.json()) as { scope?: string }).scope).toBe('orders:read orders:write');
    });
  });
});
