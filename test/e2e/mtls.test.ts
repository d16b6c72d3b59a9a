// Mutual TLS (RFC 8705): tls_client_auth (PKI: chain to a configured CA, subject DN or SAN),
// self_signed_tls_client_auth (the certificate is in the client's JWKS) and certificate-bound
// access tokens (cnf.x5t#S256), on Tessera's own HTTPS listener and behind a proxy that forwards
// the verified certificate in a header. openid-client is the client, with a fetch that presents
// a client certificate (node:https). Certificates are made here with the openssl CLI.
import { createHash, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/config/env.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { startTessera, type RunningTessera } from '../../src/server.ts';
import { certificateMaker, type Pem } from '../setup/certificates.ts';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, testEnv, type TestServer } from '../setup/tessera.ts';

const { file, certificate } = certificateMaker('tessera-mtls-');

const thumbprint = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');

let ca: Pem;
let billing: Pem;
let rogue: Pem;
let selfSigned: Pem;
let direct: RunningTessera & { issuer: string };
let audience: string;

/** A Tessera on its own HTTPS listener (startTestServer speaks http, so its issuer would be wrong). */
async function startHttpsServer(extra: Record<string, string> = {}) {
  const port = await freePort();
  const issuer = `https://127.0.0.1:${port}`;
  const config = loadConfig(
    testEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      MIGRATE_ON_START: 'false',
      TLS_CERT_FILE: file('server.pem'),
      TLS_KEY_FILE: file('server.key'),
      TLS_CLIENT_CA_FILE: file('ca.pem'),
      ...extra,
    }),
  );
  return { ...(await startTessera(config, createLogger({ level: 'silent' }))), issuer };
}

/** fetch over node:https, trusting the test CA and presenting `client` when given. */
function fetchWith(client?: Pem): oidc.CustomFetch {
  return (url, options) =>
    new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: options.method,
          headers: Object.fromEntries(new Headers(options.headers as ConstructorParameters<typeof Headers>[0])),
          ca: ca.cert,
          ...(client ? { cert: client.cert, key: client.key } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve(
              new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), {
                status: res.statusCode!,
                headers: Object.entries(res.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])) as [
                  string,
                  string,
                ][],
              }),
            ),
          );
        },
      );
      req.on('error', reject);
      req.end(options.body === undefined || options.body === null ? undefined : String(options.body));
    });
}

async function discover(at: { issuer: string }, clientId: string, client?: Pem) {
  return oidc.discovery(new URL(at.issuer), clientId, {}, oidc.TlsClientAuth(), {
    [oidc.customFetch]: fetchWith(client),
  });
}

async function refusal(promise: Promise<unknown>) {
  return promise.then(
    () => 'accepted',
    (err: { error?: string; error_description?: string; status?: number }) => ({
      status: err.status,
      error: err.error,
      error_description: err.error_description,
    }),
  );
}

beforeAll(async () => {
  ca = certificate('ca', '/CN=Tessera Test Client CA', { isCa: true });
  // The listener's certificate: its files are read through TLS_CERT_FILE / TLS_KEY_FILE.
  certificate('server', '/CN=127.0.0.1', { ca: 'ca', san: 'IP:127.0.0.1' });
  billing = certificate('billing', '/C=SE/O=Example/CN=billing', { ca: 'ca', san: 'DNS:billing.example.test' });
  certificate('rogue-ca', '/CN=Rogue CA', { isCa: true });
  rogue = certificate('rogue', '/C=SE/O=Example/CN=billing', { ca: 'rogue-ca', san: 'DNS:billing.example.test' });
  selfSigned = certificate('selfie', '/CN=self-signed-job');
  direct = await startHttpsServer({ MTLS_ENDPOINT_BASE: 'https://mtls.tessera.example.test' });
  audience = `https://${randomId('ledger')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'ledger:read']);
});
afterAll(() => direct?.close());

async function tlsClient(extra: string[]) {
  return tesseraJson<Record<string, unknown> & { client_id: string }>([
    'clients',
    'create',
    '--name',
    'ledger-job',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'ledger:read',
    ...extra,
  ]);
}

describe("mutual TLS on Tessera's HTTPS listener", () => {
  it('discovery advertises the methods, bound tokens and the mTLS endpoint aliases', async () => {
    const res = await fetchWith()(`${direct.issuer}/.well-known/openid-configuration`, { method: 'GET' } as never);
    const metadata = (await res.json()) as Record<string, unknown>;
    expect(metadata.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'tls_client_auth',
      'self_signed_tls_client_auth',
      'none',
    ]);
    expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(metadata.mtls_endpoint_aliases).toEqual({
      token_endpoint: 'https://mtls.tessera.example.test/token',
      introspection_endpoint: 'https://mtls.tessera.example.test/token/introspection',
      revocation_endpoint: 'https://mtls.tessera.example.test/token/revocation',
      userinfo_endpoint: 'https://mtls.tessera.example.test/me',
      device_authorization_endpoint: 'https://mtls.tessera.example.test/device/auth',
      pushed_authorization_request_endpoint: 'https://mtls.tessera.example.test/request',
    });
  });

  it('tls_client_auth by subject DN: a CA-issued certificate authenticates, and binds the token to it', async () => {
    const c = await tlsClient([
      '--auth-method',
      'tls_client_auth',
      '--tls-subject-dn',
      'CN=billing,O=Example,C=SE',
      '--cert-bound',
    ]);
    expect(c.client_secret).toBeUndefined();
    expect(c).toMatchObject({
      tls_client_auth_subject_dn: 'CN=billing,O=Example,C=SE',
      tls_client_certificate_bound_access_tokens: true,
    });
    const tokens = await oidc.clientCredentialsGrant(await discover(direct, c.client_id, billing), {
      scope: 'ledger:read',
    });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      aud: audience,
      cnf: { 'x5t#S256': thumbprint(billing.cert) },
    });
    // The resource server learns the binding from introspection (RFC 8705 §3.2).
    const introspected = await oidc.tokenIntrospection(
      await discover(direct, c.client_id, billing),
      tokens.access_token,
    );
    expect(introspected).toMatchObject({ active: true, cnf: { 'x5t#S256': thumbprint(billing.cert) } });
  });

  it('tls_client_auth refuses a certificate from another CA with the same subject, another subject, and no certificate', async () => {
    const byDn = await tlsClient(['--auth-method', 'tls_client_auth', '--tls-subject-dn', 'CN=billing,O=Example,C=SE']);
    const refused = { status: 401, error: 'invalid_client', error_description: 'client authentication failed' };
    expect(
      await refusal(
        oidc.clientCredentialsGrant(await discover(direct, byDn.client_id, rogue), { scope: 'ledger:read' }),
      ),
    ).toEqual(refused);
    expect(
      await refusal(oidc.clientCredentialsGrant(await discover(direct, byDn.client_id), { scope: 'ledger:read' })),
    ).toEqual(refused);
    const other = await tlsClient([
      '--auth-method',
      'tls_client_auth',
      '--tls-subject-dn',
      'CN=payroll,O=Example,C=SE',
    ]);
    expect(
      await refusal(
        oidc.clientCredentialsGrant(await discover(direct, other.client_id, billing), { scope: 'ledger:read' }),
      ),
    ).toEqual(refused);
  });

  it('tls_client_auth by a SAN dNSName', async () => {
    const c = await tlsClient(['--auth-method', 'tls_client_auth', '--tls-san-dns', 'billing.example.test']);
    expect(
      (await oidc.clientCredentialsGrant(await discover(direct, c.client_id, billing), { scope: 'ledger:read' }))
        .access_token,
    ).toEqual(expect.any(String));
    const wrong = await tlsClient(['--auth-method', 'tls_client_auth', '--tls-san-dns', 'payroll.example.test']);
    expect(
      await refusal(
        oidc.clientCredentialsGrant(await discover(direct, wrong.client_id, billing), { scope: 'ledger:read' }),
      ),
    ).toMatchObject({ error: 'invalid_client' });
  });

  it("self_signed_tls_client_auth: the certificate registered in the client's JWKS, and no other", async () => {
    const x509 = new X509Certificate(selfSigned.cert);
    const jwks = { keys: [{ ...x509.publicKey.export({ format: 'jwk' }), x5c: [x509.raw.toString('base64')] }] };
    writeFileSync(file('selfie.jwks.json'), JSON.stringify(jwks));
    const c = await tlsClient([
      '--auth-method',
      'self_signed_tls_client_auth',
      '--jwks-file',
      file('selfie.jwks.json'),
      '--cert-bound',
    ]);
    const tokens = await oidc.clientCredentialsGrant(await discover(direct, c.client_id, selfSigned), {
      scope: 'ledger:read',
    });
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ 'x5t#S256': thumbprint(selfSigned.cert) });
    expect(
      await refusal(
        oidc.clientCredentialsGrant(await discover(direct, c.client_id, billing), { scope: 'ledger:read' }),
      ),
    ).toEqual({ status: 401, error: 'invalid_client', error_description: 'client authentication failed' });
  });
});

describe('behind a TLS-terminating proxy (MTLS_CERT_HEADER)', () => {
  let proxied: TestServer;
  const HEADER = 'x-ssl-client-cert';
  // What nginx sends as $ssl_client_escaped_cert.
  const escaped = (pem: string) => encodeURIComponent(pem);

  beforeAll(async () => {
    proxied = await startTestServer({
      TRUSTED_PROXIES: '127.0.0.1',
      MTLS_CERT_HEADER: HEADER,
      TLS_CLIENT_CA_FILE: file('ca.pem'),
    });
  });
  afterAll(() => proxied?.close());

  it('is refused as configuration without TRUSTED_PROXIES: only a trusted proxy may set the header', () => {
    expect(() => loadConfig(testEnv({ MTLS_CERT_HEADER: HEADER }))).toThrowError(ConfigError);
    expect(() => loadConfig(testEnv({ MTLS_CERT_HEADER: HEADER }))).toThrowError(
      /MTLS_CERT_HEADER: needs TRUSTED_PROXIES/,
    );
  });

  it('a certificate-bound userinfo token works only with its certificate', async () => {
    const email = `${randomId('ola')}@example.test`;
    const password = 'correct horse battery';
    expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: password })).code).toBe(
      0,
    );
    const created = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'Ledger web',
      '--grant-types',
      'authorization_code',
      '--first-party',
      '--redirect-uri',
      'https://ledger.example.test/cb',
      '--scope',
      'openid email',
      '--auth-method',
      'tls_client_auth',
      '--tls-subject-dn',
      'CN=billing,O=Example,C=SE',
      '--cert-bound',
    ]);
    // The proxy forwards the client's certificate; the browser's requests carry none.
    const withCert =
      (pem: string | undefined): oidc.CustomFetch =>
      (url, options) =>
        fetch(url, {
          ...options,
          headers: {
            ...Object.fromEntries(new Headers(options.headers as ConstructorParameters<typeof Headers>[0])),
            ...(pem ? { [HEADER]: escaped(pem) } : {}),
          },
        } as RequestInit);
    const config = await oidc.discovery(new URL(proxied.issuer), created.client_id, {}, oidc.TlsClientAuth(), {
      [oidc.customFetch]: withCert(billing.cert),
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'https://ledger.example.test/cb',
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const tokens = await oidc.authorizationCodeGrant(config, await authorize(url, { email, password }), {
      pkceCodeVerifier: verifier,
    });
    // A JWT for userinfo, bound to the certificate (RFC 8705 §3.1); userinfo checks the binding.
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      aud: `${proxied.issuer}/me`,
      cnf: { 'x5t#S256': createHash('sha256').update(new X509Certificate(billing.cert).raw).digest('base64url') },
    });
    const userinfo = (pem: string | undefined) =>
      fetch(`${proxied.issuer}/me`, {
        headers: { authorization: `Bearer ${tokens.access_token}`, ...(pem ? { [HEADER]: escaped(pem) } : {}) },
      });
    const ok = await userinfo(billing.cert);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ email });
    for (const pem of [undefined, rogue.cert, selfSigned.cert]) {
      const res = await userinfo(pem);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'invalid_token', error_description: 'invalid token provided' });
    }
  });

  it('a header from a certificate no configured CA issued does not authenticate', async () => {
    const c = await tlsClient(['--auth-method', 'tls_client_auth', '--tls-subject-dn', 'CN=billing,O=Example,C=SE']);
    const token = (pem: string) =>
      fetch(`${proxied.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', [HEADER]: escaped(pem) },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, scope: 'ledger:read' }),
      });
    expect((await token(billing.cert)).status).toBe(200);
    const refused = await token(rogue.cert);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });
});

describe('token exchange (RFC 8693) for a client registered --cert-bound', () => {
  const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
  const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

  /** POST /token on the HTTPS listener, with Basic authentication, presenting `client` when given. */
  async function token(
    auth: { client_id: string; client_secret: string },
    fields: Record<string, string>,
    client?: Pem,
  ) {
    const res = await fetchWith(client)(`${direct.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${auth.client_id}:${auth.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams(fields).toString(),
    } as never);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('refuses an exchange without a certificate, and binds the exchanged token to the one presented (cnf.x5t#S256)', async () => {
    const gatewayApi = `https://${randomId('ledger-gw')}.example.test`;
    const target = `https://${randomId('ledger-internal')}.example.test`;
    await tesseraJson(['apis', 'create', '--audience', gatewayApi, '--scope', 'ledger:read']);
    await tesseraJson(['apis', 'create', '--audience', target, '--scope', 'ledger:read']);
    const gateway = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'ledger-gateway',
      '--grant-types',
      'client_credentials',
      '--api',
      gatewayApi,
      '--scope',
      'ledger:read',
      '--serves',
      gatewayApi,
      '--cert-bound',
    ]);
    await tesseraJson(['clients', 'allow-exchange', gateway.client_id, '--api', target]);
    const caller = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'ledger-caller',
      '--grant-types',
      'client_credentials',
      '--api',
      gatewayApi,
      '--scope',
      'ledger:read',
    ]);
    const subject = (await token(caller, { grant_type: 'client_credentials', scope: 'ledger:read' })).body
      .access_token as string;
    const exchange = {
      grant_type: GRANT,
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: target,
    };

    expect(await token(gateway, exchange)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    });
    const bound = await token(gateway, exchange, billing);
    expect(bound).toMatchObject({
      status: 200,
      body: { token_type: 'Bearer', issued_token_type: ACCESS_TOKEN_TYPE, scope: 'ledger:read' },
    });
    expect(decodeJwt(bound.body.access_token as string)).toMatchObject({
      aud: target,
      cnf: { 'x5t#S256': thumbprint(billing.cert) },
    });
  }, 60_000); // five CLI runs
});
