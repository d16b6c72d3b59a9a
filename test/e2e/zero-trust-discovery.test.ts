// Discovery advertises exactly what is switched on: with every strong-auth switch off, none of
// private_key_jwt, DPoP, PAR, mTLS or token exchange appears, and the endpoints refuse them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId, startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ PRIVATE_KEY_JWT: 'false', DPOP: 'false', PAR: 'false', TOKEN_EXCHANGE: 'false' });
});
afterAll(() => server?.close());

describe('discovery with the strong-auth switches off', () => {
  it('advertises none of them', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
    expect((metadata.grant_types_supported as string[]).sort()).toEqual([
      'authorization_code',
      'client_credentials',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code',
    ]);
    for (const absent of [
      'dpop_signing_alg_values_supported',
      'pushed_authorization_request_endpoint',
      'require_pushed_authorization_requests',
      'mtls_endpoint_aliases',
      'tls_client_certificate_bound_access_tokens',
    ]) {
      expect(metadata).not.toHaveProperty(absent);
    }
  });

  it('refuses a token exchange as an unsupported grant type', async () => {
    const audience = `https://${randomId('api')}.example.test`;
    await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'a:read']);
    const c = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'gw',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
    ]);
    await tesseraJson(['clients', 'allow-exchange', c.client_id, '--api', audience]);
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: 'x',
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: audience,
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'unsupported_grant_type',
      error_description: 'unsupported grant_type requested',
    });
  });

  it('ignores a DPoP proof: the token is a bearer token', async () => {
    const audience = `https://${randomId('api')}.example.test`;
    await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'a:read']);
    const c = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'svc',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
    ]);
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`,
        dpop: 'not.a.proof',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { token_type: string }).token_type).toBe('Bearer');
  });
});
