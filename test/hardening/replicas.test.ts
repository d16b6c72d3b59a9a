// Two replicas: two Tessera processes on one PostgreSQL, as behind a load balancer (one public
// issuer, two ports). Whatever one replica issues, consumes or revokes, the other knows at once.
// (Rate limits across replicas: test/e2e/operations.test.ts; key rotation across replicas:
// test/e2e/key-rotation.test.ts.)
import * as oauth from 'oauth4webapi';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { startServerProcess, type ServerProcess } from '../setup/server-process.ts';
import { authorize } from '../setup/sign-in.ts';
import { testEnv } from '../setup/tessera.ts';
import { basic, createApi, createClient, createUser, form } from './support.ts';

const REDIRECT = 'https://app.example.test/callback';
const INVALID_GRANT = { status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } };
let a: ServerProcess;
let b: ServerProcess;
let issuer: string;
let audience: string;

beforeAll(async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${portA}`;
  // No refresh-token retry grace: each replica is its own process, whose clock a test cannot
  // move, and what is tested here is the reuse seen across replicas, not the grace.
  const env = (port: number) => ({
    ...testEnv(),
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    REFRESH_TOKEN_REUSE_GRACE: '0',
  });
  [a, b, audience] = await Promise.all([
    startServerProcess(env(portA), issuer),
    startServerProcess(env(portB), `http://127.0.0.1:${portB}`),
    createApi('replica:read'),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

async function call(on: ServerProcess, path: string, auth: string, fields: Record<string, string>) {
  const res = await fetch(`${on.issuer}${path}`, {
    ...form(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function signedInApp() {
  const user = await createUser();
  const created = await createClient([
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid offline_access replica:read',
  ]);
  const app = { ...created, auth: basic(created.client_id, created.client_secret!) };
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(`${a.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: app.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid offline_access replica:read',
    prompt: 'consent',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  // Every step of the sign-in at replica a.
  const callback = await authorize(url, user);
  return { app, verifier, code: callback.searchParams.get('code')! };
}

describe('two replicas on one database', () => {
  it('a code issued by one is redeemed at the other, once', async () => {
    const { app, verifier, code } = await signedInApp();
    const redeem = (on: ServerProcess) =>
      call(on, '/token', app.auth, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      });
    const atB = await redeem(b);
    expect(atB.status).toBe(200);
    expect(decodeJwt(atB.body.id_token as string)).toMatchObject({ iss: issuer, aud: app.client_id });
    expect(await redeem(a)).toEqual(INVALID_GRANT);
  });

  it('a refresh token rotated at one is rejected as reused at the other, which revokes the family on both', async () => {
    const { app, verifier, code } = await signedInApp();
    const first = (
      await call(a, '/token', app.auth, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      })
    ).body;
    const refresh = (on: ServerProcess, token: unknown) =>
      call(on, '/token', app.auth, { grant_type: 'refresh_token', refresh_token: String(token) });
    const second = await refresh(a, first.refresh_token);
    expect(second.status).toBe(200);
    expect(await refresh(b, first.refresh_token)).toEqual(INVALID_GRANT);
    // The reuse burned the family: the newest refresh token is dead at both replicas.
    expect(await refresh(a, second.body.refresh_token)).toEqual(INVALID_GRANT);
    expect(await refresh(b, second.body.refresh_token)).toEqual(INVALID_GRANT);
  });

  it('a revocation at one shows in introspection at the other, for access and refresh tokens', async () => {
    const service = await createClient([
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'replica:read',
    ]);
    const auth = basic(service.client_id, service.client_secret!);
    const issued = await call(a, '/token', auth, { grant_type: 'client_credentials', scope: 'replica:read' });
    const token = issued.body.access_token as string;
    expect((await call(b, '/token/introspection', auth, { token })).body).toMatchObject({
      active: true,
      client_id: service.client_id,
    });
    expect(await call(a, '/token/revocation', auth, { token })).toEqual({ status: 200, body: {} });
    expect(await call(b, '/token/introspection', auth, { token })).toEqual({ status: 200, body: { active: false } });

    const { app, verifier, code } = await signedInApp();
    const tokens = (
      await call(a, '/token', app.auth, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      })
    ).body;
    expect(
      (await call(a, '/token/introspection', app.auth, { token: tokens.refresh_token as string })).body,
    ).toMatchObject({ active: true });
    expect(
      await call(b, '/token/revocation', app.auth, {
        token: tokens.refresh_token as string,
        token_type_hint: 'refresh_token',
      }),
    ).toEqual({ status: 200, body: {} });
    expect(await call(a, '/token/introspection', app.auth, { token: tokens.refresh_token as string })).toEqual({
      status: 200,
      body: { active: false },
    });
    expect(
      await call(a, '/token', app.auth, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }),
    ).toEqual(INVALID_GRANT);
  });

  it("publish the same keys, so a token from either verifies against the other's JWKS", async () => {
    const jwks = async (on: ServerProcess) => (await fetch(`${on.issuer}/jwks`)).json() as Promise<JSONWebKeySet>;
    const [jwksA, jwksB] = await Promise.all([jwks(a), jwks(b)]);
    expect(jwksB).toEqual(jwksA);
    const service = await createClient([
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'replica:read',
    ]);
    const auth = basic(service.client_id, service.client_secret!);
    for (const [from, verifyWith] of [
      [b, jwksA],
      [a, jwksB],
    ] as const) {
      const token = (await call(from, '/token', auth, { grant_type: 'client_credentials', scope: 'replica:read' })).body
        .access_token as string;
      const { payload } = await jwtVerify(token, createLocalJWKSet(verifyWith), {
        issuer,
        audience,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
      expect(payload.client_id).toBe(service.client_id);
    }
  });
});
