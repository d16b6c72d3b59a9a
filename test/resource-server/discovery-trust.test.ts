// What the kit believes of the issuer's discovery document (issue 16, finding 2). A document
// whose `issuer` matches may still have been tampered with (finding 1 made Tessera itself serve
// one): its jwks_uri would decide which keys sign valid tokens, and its introspection_endpoint
// would receive the API's own client secret. The kit takes endpoints only on the issuer's origin
// (or on origins the API allows by name), and reads the metadata again on a schedule so that a
// moved endpoint is followed without a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { call, startProtectedApi, type ProtectedApi } from './apps.ts';
import { newSigningKey, startTestIssuer, type TestIssuer } from './test-issuer.ts';

const AUDIENCE = 'https://orders.example.test';
const FOREIGN = {
  status: 503,
  wwwAuthenticate: null,
  body: {
    error: 'temporarily_unavailable',
    error_description: "the authorization server's metadata names an endpoint outside the allowed origins",
  },
};

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
});

async function issuerPair(): Promise<[TestIssuer, TestIssuer]> {
  const [issuer, elsewhere] = await Promise.all([startTestIssuer(AUDIENCE), startTestIssuer(AUDIENCE)]);
  cleanup.push(
    () => issuer.close(),
    () => elsewhere.close(),
  );
  // The other server would answer as the issuer would: its keys and its API client are the issuer's.
  elsewhere.published = issuer.published;
  elsewhere.introspectionClient = issuer.introspectionClient;
  return [issuer, elsewhere];
}

async function api(options: Parameters<typeof startProtectedApi>[1]): Promise<ProtectedApi> {
  const started = await startProtectedApi('koa', options);
  cleanup.push(() => started.close());
  return started;
}

describe('endpoints named by discovery', () => {
  it('a jwks_uri on another origin is refused: no key is fetched there, no token accepted', async () => {
    const [issuer, elsewhere] = await issuerPair();
    issuer.metadata = { jwks_uri: `${elsewhere.issuer}/jwks` };
    const protectedApi = await api({ issuer: issuer.issuer, audience: AUDIENCE });
    expect(await call(`${protectedApi.url}/orders`, { authorization: `Bearer ${await issuer.sign()}` })).toEqual(
      FOREIGN,
    );
    expect(elsewhere.jwksFetches).toBe(0);
  });

  it("an introspection_endpoint on another origin is refused: the API's client secret is never sent there", async () => {
    const [issuer, elsewhere] = await issuerPair();
    issuer.metadata = { introspection_endpoint: `${elsewhere.issuer}/token/introspection` };
    const protectedApi = await api({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      introspection: { ...issuer.introspectionClient, cacheTtl: 0 },
    });
    const token = `Bearer ${await issuer.sign()}`;
    expect(await call(`${protectedApi.url}/live`, { authorization: token })).toEqual(FOREIGN);
    expect(await call(`${protectedApi.url}/orders`, { authorization: token })).toEqual(FOREIGN);
    expect(elsewhere.introspectionRequests).toBe(0);
    expect(issuer.jwksFetches + elsewhere.jwksFetches).toBe(0);
  });

  it('an endpoint URL that is no URL at all is refused the same way', async () => {
    const [issuer] = await issuerPair();
    issuer.metadata = { jwks_uri: 'not a url' };
    const protectedApi = await api({ issuer: issuer.issuer, audience: AUDIENCE });
    expect(await call(`${protectedApi.url}/orders`, { authorization: `Bearer ${await issuer.sign()}` })).toEqual(
      FOREIGN,
    );
  });

  it('an origin the API allows by name (allowedEndpointOrigins) is used for keys and introspection', async () => {
    const [issuer, elsewhere] = await issuerPair();
    issuer.metadata = {
      jwks_uri: `${elsewhere.issuer}/jwks`,
      introspection_endpoint: `${elsewhere.issuer}/token/introspection`,
    };
    const protectedApi = await api({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      allowedEndpointOrigins: [elsewhere.issuer],
      introspection: { ...issuer.introspectionClient, cacheTtl: 0 },
    });
    const token = `Bearer ${await issuer.sign()}`;
    expect((await call(`${protectedApi.url}/live`, { authorization: token })).status).toBe(200);
    expect({ jwks: elsewhere.jwksFetches, introspections: elsewhere.introspectionRequests }).toEqual({
      jwks: 1,
      introspections: 1,
    });
    expect({ jwks: issuer.jwksFetches, introspections: issuer.introspectionRequests }).toEqual({
      jwks: 0,
      introspections: 0,
    });
  });
});

describe('the metadata is read again on a schedule', () => {
  const HOUR = 3600_000;

  it('after metadataMaxAge (default 3 h), and a moved jwks_uri is followed', async () => {
    const [issuer, elsewhere] = await issuerPair();
    let now = Date.UTC(2030, 0, 1);
    const protectedApi = await api({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      allowedEndpointOrigins: [elsewhere.issuer],
      clock: () => now,
    });
    const get = async (token: string) =>
      (await call(`${protectedApi.url}/orders`, { authorization: `Bearer ${token}` })).status;
    expect(await get(await issuer.sign())).toBe(200);
    expect(issuer.discoveryFetches).toBe(1);

    // The issuer moves its keys: a new key is published only at the new jwks_uri.
    const moved = await newSigningKey();
    elsewhere.published = [moved];
    issuer.metadata = { jwks_uri: `${elsewhere.issuer}/jwks` };
    const signedByMoved = await issuer.sign({}, { key: moved });

    now += 3 * HOUR - 1000;
    expect(await get(signedByMoved)).toBe(401);
    expect(issuer.discoveryFetches).toBe(1);

    now += 1000;
    expect(await get(signedByMoved)).toBe(200);
    expect(issuer.discoveryFetches).toBe(2);
    expect(elsewhere.jwksFetches).toBe(1);
  });

  it('metadataMaxAge is configurable; a re-read that fails or names a foreign origin keeps the last good metadata', async () => {
    const [issuer, elsewhere] = await issuerPair();
    let now = Date.UTC(2030, 0, 1);
    const protectedApi = await api({ issuer: issuer.issuer, audience: AUDIENCE, metadataMaxAge: 60, clock: () => now });
    const get = async () =>
      (await call(`${protectedApi.url}/orders`, { authorization: `Bearer ${await issuer.sign()}` })).status;
    expect(await get()).toBe(200);
    expect(issuer.discoveryFetches).toBe(1);

    // A tampered document at the next re-read: refused, the verified metadata stays in use.
    issuer.metadata = { jwks_uri: `${elsewhere.issuer}/jwks` };
    now += 60_000;
    expect(await get()).toBe(200);
    expect(issuer.discoveryFetches).toBe(2);
    expect(elsewhere.jwksFetches).toBe(0);
    // A failed re-read is retried after 30 s, not on every request.
    now += 29_000;
    expect(await get()).toBe(200);
    expect(issuer.discoveryFetches).toBe(2);
    now += 1000;
    issuer.metadata = {};
    expect(await get()).toBe(200);
    expect(issuer.discoveryFetches).toBe(3);
    expect(elsewhere.jwksFetches).toBe(0);
  });
});
