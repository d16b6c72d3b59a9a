// Protocol correctness found by third-party clients (issue 16): the device endpoints never answer
// 500 whatever the method, and a request without client authentication is RFC 6749 §5.2's
// invalid_client (401 with WWW-Authenticate), not invalid_request, at every endpoint that
// authenticates clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJar, get } from '../setup/sign-in.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import { createApi, createClient } from './support.ts';

const REDIRECT = 'https://app.example.test/callback';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let server: TestServer;
let confidential: { client_id: string; client_secret: string };
let publicClient: { client_id: string };

beforeAll(async () => {
  server = await startTestServer();
  const audience = await createApi('protocol:read');
  const c = await createClient(['--grant-types', 'authorization_code,device_code', '--redirect-uri', REDIRECT, '--api', audience, '--scope', 'openid protocol:read']);
  confidential = { client_id: c.client_id, client_secret: c.client_secret! };
  publicClient = await createClient(['--public', '--grant-types', 'authorization_code,device_code', '--redirect-uri', REDIRECT, '--api', audience, '--scope', 'openid protocol:read']);
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
    body: text && res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) as unknown : text,
  };
}

describe('the device endpoints answer every method without a 500', () => {
  it.each(['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'])('%s /device/auth is 405 with Allow: OPTIONS, POST', async (method) => {
    const answer = await send('/device/auth', { method });
    expect({ status: answer.status, allow: answer.allow }).toEqual({ status: 405, allow: 'OPTIONS, POST' });
    if (method !== 'HEAD') {
      expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'the device authorization endpoint accepts only POST' });
    }
  });

  it('the endpoint spelt in capitals or with a trailing slash (oidc-provider routes both) is 405 too', async () => {
    for (const path of ['/DEVICE/AUTH', '/device/auth/', '/Device/Auth/']) {
      const answer = await send(path);
      expect({ path, status: answer.status, allow: answer.allow }).toEqual({ path, status: 405, allow: 'OPTIONS, POST' });
    }
  });

  it('a device resume (GET /device/<uid>) from a browser without a session sends it to the code-entry page', async () => {
    for (const path of ['/device/made-up-interaction', '/device/auth-not', '/device/%ff']) {
      const answer = await send(path);
      expect({ path, status: answer.status, location: answer.location }).toEqual({ path, status: 303, location: `${server.issuer}/device` });
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
    const entered = await get(jar, `${server.issuer}/device`, { method: 'POST', headers: FORM, body: new URLSearchParams({ xsrf, user_code: 'BCDF-GHJK' }) });
    expect(entered.status).toBe(400);
    expect(await entered.text()).toContain('That code is not right. Check it and try again.');
  });
});
