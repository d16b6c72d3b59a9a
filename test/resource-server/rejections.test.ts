// Every reason the kit refuses a token, with the exact status, challenge and body, on Koa and
// on Express alike (RFC 6750 §3). Tokens are signed by a stand-in issuer (test-issuer.ts), so
// that each claim can be wrong on its own.
import { base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startProtectedApi, type Framework, type ProtectedApi } from './apps.ts';
import { newSigningKey, startTestIssuer, type TestIssuer } from './test-issuer.ts';

let issuer: TestIssuer;
const AUDIENCE = 'https://orders.example.test';
const REALM = AUDIENCE;
const now = () => Math.floor(Date.now() / 1000);

const invalidToken = (description: string) => ({
  status: 401,
  wwwAuthenticate: `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`,
  body: { error: 'invalid_token', error_description: description },
});

beforeAll(async () => {
  issuer = await startTestIssuer(AUDIENCE);
});
afterAll(() => issuer?.close());

describe.each<Framework>(['koa', 'express'])('refusals on %s', (framework) => {
  let api: ProtectedApi;
  beforeAll(async () => {
    api = await startProtectedApi(framework, {
      issuer: issuer.issuer,
      audience: AUDIENCE,
      introspection: { ...issuer.introspectionClient, cacheTtl: 0 },
    });
  });
  afterAll(() => api?.close());
  const get = (authorization?: string, path = '/orders', method = 'GET') =>
    call(`${api.url}${path}`, authorization === undefined ? {} : { authorization }, method);

  it('accepts a good token and hands the route its claims', async () => {
    expect(await get(`Bearer ${await issuer.sign()}`)).toEqual({
      status: 200,
      wwwAuthenticate: null,
      body: { sub: 'user-1', scopes: ['orders:read'], scheme: 'Bearer' },
    });
    // The scheme is case-insensitive (RFC 9110 §11.1).
    expect((await get(`bearer ${await issuer.sign()}`)).status).toBe(200);
  });

  it('no token, or another scheme: 401 with a bare challenge and no error (RFC 6750 §3.1)', async () => {
    const bare = { status: 401, wwwAuthenticate: `Bearer realm="${REALM}"`, body: undefined };
    expect(await get()).toEqual(bare);
    expect(await get('Basic b3JkZXJzOnNlY3JldA==')).toEqual(bare);
  });

  it('malformed tokens', async () => {
    expect(await get('Bearer')).toEqual(invalidToken('malformed access token'));
    expect(await get('Bearer two words')).toEqual(invalidToken('malformed access token'));
    expect(await get('Bearer abc.def.ghi')).toEqual(invalidToken('malformed access token'));
    expect(await get('Bearer not-a-jwt')).toEqual(invalidToken('malformed access token'));
  });

  it('a bad signature, and a foreign key under a published kid', async () => {
    const good = await issuer.sign();
    const [h, p, s] = good.split('.');
    const flipped = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
    expect(await get(`Bearer ${flipped}`)).toEqual(invalidToken("the access token's signature is invalid"));
    // Someone else's RSA key, claiming the kid of the issuer's key.
    const impostor = await newSigningKey(issuer.published[0]!.kid);
    expect(await get(`Bearer ${await issuer.sign({}, { key: impostor })}`)).toEqual(
      invalidToken("the access token's signature is invalid"),
    );
    // The payload changed under a genuine signature.
    const forged = `${h}.${base64url.encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(base64url.decode(p!))), scope: 'orders:read orders:write' }))}.${s}`;
    expect(await get(`Bearer ${forged}`, '/orders', 'POST')).toEqual(
      invalidToken("the access token's signature is invalid"),
    );
  });

  it('alg none and HS256 (keyed with the public key) are refused', async () => {
    const payload = base64url.encode(
      JSON.stringify({
        iss: issuer.issuer,
        sub: 'user-1',
        aud: AUDIENCE,
        client_id: 'app-1',
        scope: 'orders:read',
        jti: 'x',
        iat: now(),
        exp: now() + 300,
      }),
    );
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${payload}.`;
    expect(await get(`Bearer ${none}`)).toEqual(invalidToken('the access token is not signed with RS256'));
    // The classic algorithm confusion: HMAC keyed with the issuer's public RSA key.
    const kid = issuer.published[0]!.kid;
    const header = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid }));
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', JSON.stringify(issuer.published[0]!.publicJwk))
      .update(`${header}.${payload}`)
      .digest('base64url');
    expect(await get(`Bearer ${header}.${payload}.${mac}`)).toEqual(
      invalidToken('the access token is not signed with RS256'),
    );
  });

  it('expired, not yet valid, with a small clock tolerance', async () => {
    expect(await get(`Bearer ${await issuer.sign({ iat: now() - 400, exp: now() - 60 })}`)).toEqual(
      invalidToken('the access token expired'),
    );
    expect(await get(`Bearer ${await issuer.sign({ nbf: now() + 60 })}`)).toEqual(
      invalidToken('the access token is not valid yet'),
    );
    // Within the 10 s tolerance either way: accepted.
    expect((await get(`Bearer ${await issuer.sign({ iat: now() - 400, exp: now() - 5 })}`)).status).toBe(200);
    expect((await get(`Bearer ${await issuer.sign({ nbf: now() + 5 })}`)).status).toBe(200);
  });

  it('wrong issuer, wrong audience, wrong typ, a missing claim', async () => {
    expect(await get(`Bearer ${await issuer.sign({ iss: 'https://evil.example.test' })}`)).toEqual(
      invalidToken('the access token is from another issuer'),
    );
    expect(await get(`Bearer ${await issuer.sign({ aud: 'https://billing.example.test' })}`)).toEqual(
      invalidToken('the access token is for another audience'),
    );
    // An ID token (typ JWT) signed by the same keys is not an access token (RFC 9068 §4).
    expect(await get(`Bearer ${await issuer.sign({}, { header: { typ: 'JWT' } })}`)).toEqual(
      invalidToken('the token is not an access token (typ must be at+jwt)'),
    );
    expect(await get(`Bearer ${await issuer.sign({ client_id: undefined })}`)).toEqual(
      invalidToken('the access token has no client_id claim'),
    );
    expect(await get(`Bearer ${await issuer.sign({ jti: undefined })}`)).toEqual(
      invalidToken('the access token has no jti claim'),
    );
    // RFC 9068 §4 also allows the long form of the media type.
    expect((await get(`Bearer ${await issuer.sign({}, { header: { typ: 'application/at+jwt' } })}`)).status).toBe(200);
  });

  it("a valid token without the route's scope: 403 insufficient_scope naming the scope (RFC 6750 §3.1)", async () => {
    const readOnly = await issuer.sign({ scope: 'orders:read' });
    expect(await get(`Bearer ${readOnly}`, '/orders', 'POST')).toEqual({
      status: 403,
      wwwAuthenticate: `Bearer realm="${REALM}", error="insufficient_scope", error_description="this resource needs the scope orders:write", scope="orders:write"`,
      body: {
        error: 'insufficient_scope',
        error_description: 'this resource needs the scope orders:write',
        scope: 'orders:write',
      },
    });
    const writeOnly = await issuer.sign({ scope: 'orders:write' });
    expect((await get(`Bearer ${writeOnly}`)).status).toBe(403);
    expect((await get(`Bearer ${await issuer.sign({ scope: undefined })}`)).status).toBe(403);
    // A scope that merely starts with the required one is not it.
    expect((await get(`Bearer ${await issuer.sign({ scope: 'orders:readall' })}`)).status).toBe(403);
    expect(await get(`Bearer ${writeOnly}`, '/orders', 'POST')).toEqual({
      status: 200,
      wwwAuthenticate: null,
      body: { sub: 'user-1', scopes: ['orders:write'], scheme: 'Bearer' },
    });
  });

  it('introspection mode: a token the issuer calls inactive is refused at once', async () => {
    const token = await issuer.sign();
    expect((await get(`Bearer ${token}`, '/live')).status).toBe(200);
    issuer.revoked.add(token);
    expect(await get(`Bearer ${token}`, '/live')).toEqual(invalidToken('the access token is not active'));
    // Routes without introspection see only the signature and claims.
    expect((await get(`Bearer ${token}`)).status).toBe(200);
  });
});

describe('failing closed when the issuer cannot be trusted or reached', () => {
  it('discovery naming another issuer: 503, no token accepted', async () => {
    const liar = await startTestIssuer(AUDIENCE);
    liar.claimedIssuer = 'https://evil.example.test';
    const api = await startProtectedApi('koa', { issuer: liar.issuer, audience: AUDIENCE });
    expect(await call(`${api.url}/orders`, { authorization: `Bearer ${await liar.sign()}` })).toEqual({
      status: 503,
      wwwAuthenticate: null,
      body: {
        error: 'temporarily_unavailable',
        error_description: "the authorization server's metadata does not match its issuer",
      },
    });
    await api.close();
    await liar.close();
  });

  it('issuer down: 503 with Retry-After', async () => {
    const api = await startProtectedApi('express', { issuer: 'http://127.0.0.1:9', audience: AUDIENCE });
    const res = await fetch(`${api.url}/orders`, { headers: { authorization: `Bearer ${await issuer.sign()}` } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: "the authorization server's metadata could not be fetched",
    });
    await api.close();
  });
});
