// Issue 16, finding 8: deleting a client or disabling a user ended their refresh tokens, but their
// JWT access tokens stayed active at introspection until they expired. Now every token issued to
// them before the change is dead, at the replica that saw the change and at every other one
// (revoked_principals, written by triggers and notified to every listener).
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../setup/eventually.ts';
import { authorize } from '../setup/sign-in.ts';
import { startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { basic, createApi, createClient, createUser, form } from './support.ts';

const REDIRECT = 'https://app.example.test/callback';
let a: TestServer;
let b: TestServer;
let audience: string;
let resourceServer: string;

beforeAll(async () => {
  a = await startTestServer();
  // A replica: one issuer, two processes on one database.
  b = await startTestServer({ ISSUER: a.issuer });
  audience = await createApi('data:read');
  const rs = await createClient(['--grant-types', 'client_credentials', '--api', audience, '--serves', audience]);
  resourceServer = basic(rs.client_id, rs.client_secret!);
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

async function call(on: TestServer, path: string, auth: string, fields: Record<string, string>) {
  const res = await fetch(`${on.issuer}${path}`, {
    ...form(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The API's resource server asks about the token, at one replica. */
const introspect = (on: TestServer, token: string) => call(on, '/token/introspection', resourceServer, { token });

/** Asks until `check` holds: a notification takes milliseconds; eventually's 5 s is for a loaded machine. */
const seen = (check: () => Promise<boolean>) => eventually(check);
const inactive = async (on: TestServer, token: string) => (await introspect(on, token)).body.active === false;

describe('tokens of a deleted client or a disabled user', () => {
  it("a deleted client's JWT access tokens introspect as inactive, at the same and at the other replica", async () => {
    const service = await createClient([
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'data:read',
    ]);
    const token = (
      await call(a, '/token', basic(service.client_id, service.client_secret!), {
        grant_type: 'client_credentials',
        scope: 'data:read',
      })
    ).body.access_token as string;
    expect((await introspect(a, token)).body).toMatchObject({ active: true, client_id: service.client_id });
    expect((await introspect(b, token)).body).toMatchObject({ active: true, client_id: service.client_id });

    await tesseraJson(['clients', 'delete', service.client_id]);
    await seen(() => inactive(a, token));
    await seen(() => inactive(b, token));
    expect(await introspect(a, token)).toEqual({ status: 200, body: { active: false } });
    expect(await introspect(b, token)).toEqual({ status: 200, body: { active: false } });
  });

  it("a disabled user's access token from a code flow introspects as inactive at both replicas, and stays so when re-enabled", async () => {
    const user = await createUser();
    const app = await createClient([
      '--grant-types',
      'authorization_code',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--api',
      audience,
      '--scope',
      'openid data:read',
    ]);
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(`${a.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid data:read',
      resource: audience,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const code = (await authorize(url, user)).searchParams.get('code')!;
    const tokens = (
      await call(a, '/token', basic(app.client_id, app.client_secret!), {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      })
    ).body;
    const token = tokens.access_token as string;
    expect((await introspect(b, token)).body).toMatchObject({ active: true, aud: [audience, `${a.issuer}/me`] });

    expect((await tessera(['users', 'disable', user.email])).code).toBe(0);
    await seen(() => inactive(a, token));
    await seen(() => inactive(b, token));
    expect(await introspect(b, token)).toEqual({ status: 200, body: { active: false } });
    // Enabling the account again does not bring back what was issued before.
    expect((await tessera(['users', 'enable', user.email])).code).toBe(0);
    expect(await introspect(a, token)).toEqual({ status: 200, body: { active: false } });
  });
});
