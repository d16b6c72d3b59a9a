// Protocol correctness found by third-party clients (issue 16): the device endpoints never answer
// 500 whatever the method, and a request without client authentication is RFC 6749 §5.2's
// invalid_client (401 with WWW-Authenticate), not invalid_request, at every endpoint that
// authenticates clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJar, get } from '../setup/sign-in.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import { basic, createApi, createClient } from './support.ts';

const REDIRECT = 'https://app.example.test/callback';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let server: TestServer;
let confidential: { client_id: string; client_secret: string };
let publicClient: { client_id: string };

beforeAll(async () => {
  server = await startTestServer();
  const audience = await createApi('protocol:read');
  const c = await createClient([
    '--grant-types',
    'authorization_code,device_code',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid protocol:read',
  ]);
  confidential = { client_id: c.client_id, client_secret: c.client_secret! };
  publicClient = await createClient([
    '--public',
    '--grant-types',
    'authorization_code,device_code',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid protocol:read',
  ]);
});
afterAll(() => server?.close());

async function send(path: string, init: RequestInit = {}) {
  const res = await fetch(`${server.issuer}${path}`, { redirect: 'manual', ...init });
  const text = await res.text();
  return {
    status: res.status,
    allow: res.headers.get('allow'),
    location: res.headers.get('location'),
    wwwAuthenticate: res.headers.get('www-authenticate'),
    type: res.headers.get('content-type'),
    body:
      text && res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as unknown) : text,
  };
}

describe('the device endpoints answer every method without a 500', () => {
  it.each(['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'])(
    '%s /device/auth is 405 with Allow: OPTIONS, POST',
    async (method) => {
      const answer = await send('/device/auth', { method });
      expect({ status: answer.status, allow: answer.allow }).toEqual({ status: 405, allow: 'OPTIONS, POST' });
      if (method !== 'HEAD') {
        expect(answer.body).toEqual({
          error: 'invalid_request',
          error_description: 'the device authorization endpoint accepts only POST',
        });
      }
    },
  );

  it('the endpoint spelt in capitals or with a trailing slash (oidc-provider routes both) is 405 too', async () => {
    for (const path of ['/DEVICE/AUTH', '/device/auth/', '/Device/Auth/']) {
      const answer = await send(path);
      expect({ path, status: answer.status, allow: answer.allow }).toEqual({
        path,
        status: 405,
        allow: 'OPTIONS, POST',
      });
    }
  });

  it('a device resume (GET /device/<uid>) from a browser without a session sends it to the code-entry page', async () => {
    for (const path of ['/device/made-up-interaction', '/device/auth-not', '/device/%ff']) {
      const answer = await send(path);
      expect({ path, status: answer.status, location: answer.location }).toEqual({
        path,
        status: 303,
        location: `${server.issuer}/device`,
      });
    }
    // The code-entry page it is sent to works: a form in a session of its own.
    const jar = newJar();
    const page = await get(jar, `${server.issuer}/device`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/name="xsrf" value="[^"]+"/);
  });

  it('a device resume with a live session but no interaction shows the code-entry form with an error, 400', async () => {
    const jar = newJar();
    expect((await get(jar, `${server.issuer}/device`)).status).toBe(200);
    const res = await get(jar, `${server.issuer}/device/made-up-interaction`);
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(html).toContain('The code could not be checked. Try again.');
    // Its form's xsrf was stored with the session: the code entered next is checked, not refused.
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const entered = await get(jar, `${server.issuer}/device`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ xsrf, user_code: 'BCDF-GHJK' }),
    });
    expect(entered.status).toBe(400);
    expect(await entered.text()).toContain('That code is not right. Check it and try again.');
  });
});

describe('missing client authentication is invalid_client (RFC 6749 §5.2)', () => {
  const MISSING = { error: 'invalid_client', error_description: 'no client authentication mechanism provided' };
  const challenge = (description: string) =>
    `Basic realm="${server.issuer}", error="invalid_client", error_description="${description}"`;
  const ENDPOINTS: [string, Record<string, string>][] = [
    ['/token/introspection', { token: 'some-token' }],
    ['/token/revocation', { token: 'some-token' }],
    ['/device/auth', { scope: 'openid' }],
    [
      '/request',
      {
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      },
    ],
    ['/token', { grant_type: 'client_credentials' }],
    [
      '/token',
      { grant_type: 'authorization_code', code: 'some-code', redirect_uri: REDIRECT, code_verifier: 'a'.repeat(43) },
    ],
  ];

  it.each(ENDPOINTS)('at %s without any credentials or client_id: 401 with WWW-Authenticate', async (path, fields) => {
    const answer = await send(path, { method: 'POST', headers: FORM, body: new URLSearchParams(fields) });
    expect(answer).toMatchObject({ status: 401, wwwAuthenticate: challenge(MISSING.error_description), body: MISSING });
  });

  it.each(ENDPOINTS)(
    'at %s, a confidential client sending only its client_id: 401 with WWW-Authenticate',
    async (path, fields) => {
      const answer = await send(path, {
        method: 'POST',
        headers: FORM,
        body: new URLSearchParams({ ...fields, client_id: confidential.client_id }),
      });
      expect(answer).toMatchObject({
        status: 401,
        wwwAuthenticate: challenge('client authentication failed'),
        body: { error: 'invalid_client', error_description: 'client authentication failed' },
      });
    },
  );

  it.each(ENDPOINTS)(
    'at %s, a wrong secret (the control): 401 with WWW-Authenticate, as before',
    async (path, fields) => {
      const answer = await send(path, {
        method: 'POST',
        headers: { ...FORM, authorization: basic(confidential.client_id, 'wrong') },
        body: new URLSearchParams(fields),
      });
      expect(answer).toMatchObject({
        status: 401,
        wwwAuthenticate: challenge('client authentication failed'),
        body: { error: 'invalid_client', error_description: 'client authentication failed' },
      });
    },
  );

  it('a public client sending only its client_id is not missing authentication where that is allowed', async () => {
    const id = { client_id: publicClient.client_id };
    const device = await send('/device/auth', {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ ...id, scope: 'openid' }),
    });
    expect(device.status).toBe(200);
    const par = await send('/request', {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ ...id, ...ENDPOINTS[3]![1] }),
    });
    expect(par.status).toBe(201);
    const token = await send('/token', {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ ...id, ...ENDPOINTS[5]![1] }),
    });
    expect(token).toMatchObject({
      status: 400,
      wwwAuthenticate: null,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
  });
});

describe('Basic with an empty secret (issue 22: oidc-agent sends base64("client_id:"))', () => {
  const FAILED = { error: 'invalid_client', error_description: 'client authentication failed' };
  const post = (path: string, authorization: string, fields: Record<string, string>) =>
    send(path, { method: 'POST', headers: { ...FORM, authorization }, body: new URLSearchParams(fields) });
  const PKCE = {
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: 'a'.repeat(43),
    code_challenge_method: 'S256',
  };
  const CODE = {
    grant_type: 'authorization_code',
    code: 'some-code',
    redirect_uri: REDIRECT,
    code_verifier: 'a'.repeat(43),
  };

  it('identifies a public client at every endpoint it may use, with or without client_id in the form', async () => {
    const header = basic(publicClient.client_id, '');
    for (const id of [{}, { client_id: publicClient.client_id }] as Record<string, string>[]) {
      expect((await post('/device/auth', header, { ...id, scope: 'openid' })).status).toBe(200);
      expect((await post('/request', header, { ...id, ...PKCE })).status).toBe(201);
      expect(await post('/token', header, { ...id, ...CODE })).toMatchObject({
        status: 400,
        wwwAuthenticate: null,
        body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
      });
      expect(await post('/token/revocation', header, { ...id, token: 'never-issued' })).toMatchObject({
        status: 200,
        body: {},
      });
    }
  });

  it('still refuses a public client sending a secret, and a client_id in the form naming another client', async () => {
    expect(await post('/device/auth', basic(publicClient.client_id, 'a-secret'), { scope: 'openid' })).toMatchObject({
      status: 401,
      body: FAILED,
    });
    expect(
      await post('/device/auth', basic(publicClient.client_id, ''), {
        client_id: confidential.client_id,
        scope: 'openid',
      }),
    ).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'client_id mismatch' } });
  });

  it.each([
    ['/device/auth', { scope: 'openid' }],
    ['/request', PKCE],
    ['/token', CODE],
    ['/token', { grant_type: 'client_credentials' }],
    ['/token/introspection', { token: 'some-token' }],
    ['/token/revocation', { token: 'some-token' }],
  ])('at %s, a confidential or unknown client with an empty secret is invalid_client, 401', async (path, fields) => {
    for (const clientId of [confidential.client_id, 'no-such-client']) {
      expect(await post(path, basic(clientId, ''), fields)).toEqual(
        expect.objectContaining({
          status: 401,
          wwwAuthenticate: `Basic realm="${server.issuer}", error="invalid_client", error_description="client authentication failed"`,
          body: FAILED,
        }),
      );
    }
  });
});
