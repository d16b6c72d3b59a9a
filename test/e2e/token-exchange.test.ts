// Token exchange (RFC 8693): an API gateway turns a user's token for the gateway into a
// narrower token for an internal API, as allowed by the policy table. openid-client is the
// gateway (genericGrantRequest); the user's token comes from a real sign-in.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const REDIRECT = 'https://shop.example.test/callback';
let server: TestServer;
let gatewayApi: string;
let ordersApi: string;
let billingApi: string;

beforeAll(async () => {
  server = await startTestServer();
  gatewayApi = `https://${randomId('gateway')}.example.test`;
  ordersApi = `https://${randomId('orders')}.example.test`;
  billingApi = `https://${randomId('billing')}.example.test`;
  await tesseraJson([
    'apis',
    'create',
    '--audience',
    gatewayApi,
    '--scope',
    'orders:read orders:write profile:read',
    '--ttl',
    '900',
  ]);
  await tesseraJson(['apis', 'create', '--audience', ordersApi, '--scope', 'orders:read orders:write', '--ttl', '300']);
  await tesseraJson(['apis', 'create', '--audience', billingApi, '--scope', 'orders:read']);
});
afterAll(() => server?.close());

async function configFor(created: { client_id: string; client_secret: string }) {
  return oidc.discovery(
    new URL(server.issuer),
    created.client_id,
    created.client_secret,
    oidc.ClientSecretBasic(created.client_secret),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
}

/** A user signs in to the shop app, which gets a token for the gateway. */
async function userToken(scope = 'openid orders:read orders:write') {
  const email = `${randomId('kim')}@example.test`;
  const password = 'correct horse battery';
  expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: password })).code).toBe(0);
  const app = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Shop',
    '--grant-types',
    'authorization_code',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--api',
    gatewayApi,
    '--scope',
    'openid orders:read orders:write profile:read',
  ]);
  const config = await configFor(app);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const tokens = await oidc.authorizationCodeGrant(config, await authorize(url, { email, password }), {
    pkceCodeVerifier: verifier,
  });
  return { token: tokens.access_token, sub: tokens.claims()!.sub, app, appConfig: config };
}

/** The gateway: a confidential client that serves the gateway API. */
async function gateway(allow: string[] = [ordersApi]) {
  const created = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Gateway',
    '--grant-types',
    'client_credentials',
    '--api',
    gatewayApi,
    '--serves',
    gatewayApi,
  ]);
  for (const audience of allow) await tesseraJson(['clients', 'allow-exchange', created.client_id, '--api', audience]);
  return { created, config: await configFor(created) };
}

function exchange(config: oidc.Configuration, subjectToken: string, params: Record<string, string>) {
  return oidc.genericGrantRequest(config, GRANT, {
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    ...params,
  });
}

async function rawExchange(created: { client_id: string; client_secret: string }, params: Record<string, string>) {
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${created.client_id}:${created.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN_TYPE, ...params }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('token exchange', () => {
  it('is advertised in discovery', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string[]
    >;
    expect(metadata.grant_types_supported).toContain(GRANT);
  });

  it("exchanges a user's gateway token for a narrower RS256 JWT for the internal API, with act naming the gateway", async () => {
    const user = await userToken();
    const gw = await gateway();
    const subject = decodeJwt(user.token);
    const res = await exchange(gw.config, user.token, { resource: ordersApi, scope: 'orders:read' });
    expect(res).toMatchObject({
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'bearer',
      scope: 'orders:read',
      expires_in: 300,
    });

    const { payload, protectedHeader } = await jwtVerify(
      res.access_token,
      createRemoteJWKSet(new URL(`${server.issuer}/jwks`)),
      {
        issuer: server.issuer,
        audience: ordersApi,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      },
    );
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      sub: user.sub,
      client_id: gw.created.client_id,
      scope: 'orders:read',
      act: { sub: gw.created.client_id },
      gid: subject.gid,
    });
    expect(payload.exp!).toBeLessThanOrEqual(subject.exp!);

    // The internal API's resource server sees the actor in introspection.
    const rs = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'orders-api',
      '--grant-types',
      'client_credentials',
      '--api',
      ordersApi,
      '--serves',
      ordersApi,
    ]);
    expect(await oidc.tokenIntrospection(await configFor(rs), res.access_token)).toMatchObject({
      active: true,
      sub: user.sub,
      client_id: gw.created.client_id,
      act: { sub: gw.created.client_id },
      aud: ordersApi,
    });
  });

  it('without scope, keeps what the subject token and the API have in common; audience works like resource', async () => {
    const user = await userToken('openid orders:read profile:read');
    const gw = await gateway();
    const res = await exchange(gw.config, user.token, { audience: ordersApi });
    expect(res.scope).toBe('orders:read');
  });

  it("refuses a scope wider than the subject token's, or one the API does not define", async () => {
    const user = await userToken('openid orders:read');
    const gw = await gateway();
    expect(
      await rawExchange(gw.created, {
        subject_token: user.token,
        resource: ordersApi,
        scope: 'orders:read orders:write',
      }),
    ).toEqual({
      status: 400,
      body: {
        error: 'invalid_scope',
        error_description: "requested scope exceeds the subject token's scope",
        scope: 'orders:write',
      },
    });
    const wide = await userToken('openid orders:read profile:read');
    expect(
      await rawExchange(gw.created, { subject_token: wide.token, resource: ordersApi, scope: 'profile:read' }),
    ).toEqual({
      status: 400,
      body: {
        error: 'invalid_scope',
        error_description: 'requested scope is not defined by the resource',
        scope: 'profile:read',
      },
    });
  });

  it('outside the policy: unauthorized_client for a client with no exchange rights, invalid_target for an API not allowed', async () => {
    const user = await userToken();
    const stranger = await gateway([]);
    expect(await rawExchange(stranger.created, { subject_token: user.token, resource: ordersApi })).toEqual({
      status: 400,
      body: { error: 'unauthorized_client', error_description: 'the client is not allowed to exchange tokens' },
    });
    const gw = await gateway([ordersApi]);
    expect(await rawExchange(gw.created, { subject_token: user.token, resource: billingApi })).toEqual({
      status: 400,
      body: { error: 'invalid_target', error_description: 'the client may not exchange tokens for this resource' },
    });
    // Revoking the permission takes effect at once.
    await tesseraJson(['clients', 'allow-exchange', gw.created.client_id, '--api', ordersApi, '--revoke']);
    expect((await rawExchange(gw.created, { subject_token: user.token, resource: ordersApi })).body.error).toBe(
      'unauthorized_client',
    );
  });

  it('refuses a subject token that is forged, revoked, or not for the gateway', async () => {
    const gw = await gateway();
    const invalid = {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'subject_token is invalid, expired, revoked or not for this client',
      },
    };
    const user = await userToken();
    const [h, p] = user.token.split('.');
    expect(
      await rawExchange(gw.created, { subject_token: `${h}.${p}.${'A'.repeat(342)}`, resource: ordersApi }),
    ).toEqual(invalid);

    // A token for another API, which the gateway does not serve.
    const other = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'billing-job',
      '--grant-types',
      'client_credentials',
      '--api',
      billingApi,
      '--scope',
      'orders:read',
    ]);
    const billingToken = (await oidc.clientCredentialsGrant(await configFor(other), { scope: 'orders:read' }))
      .access_token;
    expect(await rawExchange(gw.created, { subject_token: billingToken, resource: ordersApi })).toEqual(invalid);

    // The app revokes the user's token: the gateway can no longer exchange it.
    await oidc.tokenRevocation(user.appConfig, user.token);
    expect(await rawExchange(gw.created, { subject_token: user.token, resource: ordersApi })).toEqual(invalid);
  });

  it('refuses other token types and an actor_token', async () => {
    const user = await userToken();
    const gw = await gateway();
    expect(
      await rawExchange(gw.created, {
        subject_token: user.token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        resource: ordersApi,
      }),
    ).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: `subject_token_type must be ${ACCESS_TOKEN_TYPE}` },
    });
    expect(
      await rawExchange(gw.created, {
        subject_token: user.token,
        resource: ordersApi,
        actor_token: user.token,
        actor_token_type: ACCESS_TOKEN_TYPE,
      }),
    ).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'actor_token is not supported; the authenticated client is the actor',
      },
    });
    expect(await rawExchange(gw.created, { subject_token: user.token })).toEqual({
      status: 400,
      body: { error: 'invalid_target', error_description: 'name exactly one API with resource or audience' },
    });
  });

  it('the seed file grants exchange rights', async () => {
    const id = randomId('seeded-gw');
    const dir = mkdtempSync(join(tmpdir(), 'tessera-seed-'));
    const file = join(dir, 'seed.json');
    writeFileSync(
      file,
      JSON.stringify({
        clients: [
          {
            client_id: id,
            name: 'Seeded gateway',
            grant_types: ['client_credentials'],
            apis: [gatewayApi],
            serves: [gatewayApi],
            client_secret: { env: 'TESSERA_SEED_GW_SECRET' },
            token_exchange: [ordersApi, billingApi],
          },
        ],
      }),
    );
    const env = { TESSERA_SEED_GW_SECRET: `tessera_cs_${'x'.repeat(40)}` };
    expect((await tessera(['seed', file], { env })).code).toBe(0);
    expect((await tesseraJson<{ token_exchange: string[] }>(['clients', 'show', id])).token_exchange.sort()).toEqual(
      [ordersApi, billingApi].sort(),
    );
    const user = await userToken();
    const res = await rawExchange(
      { client_id: id, client_secret: env.TESSERA_SEED_GW_SECRET },
      { subject_token: user.token, resource: billingApi },
    );
    expect(res).toMatchObject({ status: 200, body: { issued_token_type: ACCESS_TOKEN_TYPE, scope: 'orders:read' } });
  });
});
