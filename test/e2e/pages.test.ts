// The pages a person meets outside a sign-in: the server's front door, and the error page that
// says what happened and what to do, with the technical detail in the log under the request id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCOVERY_PATH } from '../../src/oidc/provider-config.ts';
import { randomId, startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** The text a person reads on a page (tags dropped, entities of the escaper undone). */
function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

function logFor(requestId: string | null, msg: string) {
  return server.logs.find((line) => line.req_id === requestId && line.msg === msg);
}

describe('the front door', () => {
  it('answers / with a page naming the server and its discovery URL from ISSUER, whatever Host says', async () => {
    const res = await fetch(`${server.issuer}/`, { headers: { host: 'evil.example.test', accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = text(await res.text());
    expect(page).toContain('Tessera is running');
    expect(page).toContain(`${server.issuer}${DISCOVERY_PATH}`);
    expect(page).not.toContain('evil.example.test');
    // Development (the test server's mode): a pointer to the README.
    expect(page).toContain('README');
  });
});

describe('the error page', () => {
  it('explains an ended sign-in, shows the request id, and logs the technical reason', async () => {
    const res = await fetch(`${server.issuer}/interaction/${randomId('gone')}`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    const requestId = res.headers.get('x-request-id');
    const page = text(await res.text());
    expect(page).toContain('This sign-in has ended');
    expect(page).toContain('Go back to the app and start signing in again.');
    expect(page).toContain(`Reference: ${requestId}`);
    expect(page).not.toMatch(/cookie|interaction session/i);
    expect(logFor(requestId, 'error page shown')).toMatchObject({
      status: 400,
      error: 'invalid_request',
      error_description: 'interaction session id cookie not found',
    });
  });

  it('refuses an unregistered redirect_uri in words, linking back only to the registered app', async () => {
    const created = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'Photo Album',
      '--grant-types',
      'authorization_code',
      '--public',
      '--redirect-uri',
      'https://album.example.test/callback',
      '--scope',
      'openid',
    ]);
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: created.client_id,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: 'https://evil.example.test/callback',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    const requestId = res.headers.get('x-request-id');
    const html = await res.text();
    const page = text(html);
    expect(page).toContain('This app sent you to an address it has not registered');
    expect(html).toContain('<a href="https://album.example.test/">Back to Photo Album</a>');
    expect(html).not.toContain('evil.example.test');
    expect(page).toContain('Error code: invalid_redirect_uri');
    expect(page).not.toContain('did not match');
    expect(logFor(requestId, 'error page shown')).toMatchObject({
      error: 'invalid_redirect_uri',
      error_description: "redirect_uri did not match any of the client's registered redirect_uris",
    });
  });

  it('names no app it does not know', async () => {
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: randomId('nobody'),
      response_type: 'code',
      scope: 'openid',
      redirect_uri: 'https://evil.example.test/callback',
    }).toString();
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(text(html)).toContain('This app is not known here');
    expect(html).not.toContain('<a href');
  });
});
