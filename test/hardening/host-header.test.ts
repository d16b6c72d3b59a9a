// Every URL Tessera publishes or checks comes from ISSUER, never from the request (issue 16,
// finding 1). oidc-provider builds its URLs from the request (Koa's ctx.href: Host, an
// absolute-form request target, and with a trusted proxy X-Forwarded-Host/-Proto), and Tessera
// memoises discovery and the JWKS from the first request: one request with `Host: evil.test`
// used to point every caller's jwks_uri and token_endpoint at evil.test, and the same URLs were
// what client assertions (`aud`) and DPoP proofs (`htu`) were checked against.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinRequestOrigin } from '../../src/middleware/issuer-origin.ts';
import { privateKeyJwtClient } from '../setup/private-key-jwt.ts';
import { randomId, startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';

const DISCOVERY = '/.well-known/openid-configuration';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with headers fetch() will not send as given (Host), or an absolute-form target. */
function raw(
  server: { url: string },
  target: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, path: target, method: init.method ?? 'GET', headers: init.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Every URL a discovery document names, flattened (mtls_endpoint_aliases included). */
function urlsIn(document: Record<string, unknown>): string[] {
  return Object.values(document).flatMap((value) => {
    if (typeof value === 'string' && /^[a-z]+:\/\//i.test(value)) return [value];
    if (value && typeof value === 'object' && !Array.isArray(value)) return urlsIn(value as Record<string, unknown>);
    return [];
  });
}

// The first request after start, each way a request can name a host or scheme of its own.
const POISONS: {
  name: string;
  env: Record<string, string>;
  target: (path: string) => string;
  headers: Record<string, string>;
}[] = [
  { name: 'Host: evil.test', env: {}, target: (p) => p, headers: { host: 'evil.test' } },
  {
    name: 'Host: evil.test from a trusted proxy',
    env: { TRUSTED_PROXIES: '127.0.0.1' },
    target: (p) => p,
    headers: { host: 'evil.test' },
  },
  {
    name: 'X-Forwarded-Host and X-Forwarded-Proto from a trusted proxy',
    env: { TRUSTED_PROXIES: '127.0.0.1' },
    target: (p) => p,
    headers: { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
  },
  {
    name: 'X-Forwarded-Host and X-Forwarded-Proto from an untrusted peer',
    env: {},
    target: (p) => p,
    headers: { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
  },
  {
    name: 'an absolute-form request target (RFC 9112 §3.2.2)',
    env: {},
    target: (p) => `http://evil.test${p}`,
    headers: {},
  },
];

describe('discovery and the JWKS name only the issuer, whatever the first request said', () => {
  it.each(POISONS)('first request with $name', async ({ env, target, headers }) => {
    const server = await startTestServer(env);
    try {
      const poisonedDiscovery = await raw(server, target(DISCOVERY), { headers });
      const poisonedJwks = await raw(server, target('/jwks'), { headers });
      const discovery = await fetch(`${server.issuer}${DISCOVERY}`);
      const document = (await discovery.json()) as Record<string, unknown>;
      const urls = urlsIn(document);
      expect(urls.length).toBeGreaterThan(8);
      for (const url of urls) expect(url.startsWith(`${server.issuer}/`) || url === server.issuer, url).toBe(true);
      expect(document).toMatchObject({
        issuer: server.issuer,
        jwks_uri: `${server.issuer}/jwks`,
        token_endpoint: `${server.issuer}/token`,
        introspection_endpoint: `${server.issuer}/token/introspection`,
        authorization_endpoint: `${server.issuer}/auth`,
      });
      // The hostile request itself was answered from the issuer's configuration, not reflected.
      expect(poisonedDiscovery.status).toBe(200);
      expect(JSON.parse(poisonedDiscovery.body)).toEqual(document);
      expect(poisonedJwks.status).toBe(200);
      expect(JSON.parse(poisonedJwks.body)).toEqual(await (await fetch(`${server.issuer}/jwks`)).json());
    } finally {
      await server.close();
    }
  });

  it("behind a TLS-terminating proxy (https issuer, plain HTTP socket, no trusted proxy) the URLs are https on the issuer's host", async () => {
    const server = await startTestServer({ ISSUER: 'https://tessera.example.test' });
    try {
      const variants: Record<string, string>[] = [
        { host: 'tessera.example.test' },
        { host: 'evil.test', 'x-forwarded-proto': 'http' },
        {},
      ];
      for (const headers of variants) {
        const answer = await raw(server, DISCOVERY, { headers });
        const document = JSON.parse(answer.body) as Record<string, unknown>;
        expect(document).toMatchObject({
          issuer: 'https://tessera.example.test',
          token_endpoint: 'https://tessera.example.test/token',
        });
        for (const url of urlsIn(document)) expect(url.startsWith('https://tessera.example.test'), url).toBe(true);
      }
      // Its cookies are Secure, though no proxy header said the request came over TLS.
      const app = await tesseraJson<{ client_id: string }>([
        'clients',
        'create',
        '--name',
        'notes-web',
        '--grant-types',
        'authorization_code',
        '--redirect-uri',
        'https://notes.example.test/cb',
        '--scope',
        'openid',
      ]);
      const query = new URLSearchParams({
        client_id: app.client_id,
        response_type: 'code',
        redirect_uri: 'https://notes.example.test/cb',
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      });
      const authorization = await raw(server, `/auth?${query}`, { headers: { host: 'tessera.example.test' } });
      expect(authorization.status).toBe(303);
      const cookies = authorization.headers['set-cookie'] ?? [];
      expect(cookies.length).toBeGreaterThan(0);
      for (const cookie of cookies) expect(cookie.toLowerCase().split('; ')).toContain('secure');
    } finally {
      await server.close();
    }
  });
});

describe('what a request is checked against comes from the issuer', () => {
  let server: TestServer;
  let audience: string;

  beforeAll(async () => {
    server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
    audience = `https://${randomId('ledger')}.example.test`;
    await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'ledger:read']);
  });
  afterAll(() => server?.close());

  const ledgerClient = () => privateKeyJwtClient(audience);

  async function assertion(c: Awaited<ReturnType<typeof ledgerClient>>, aud: string) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ jti: randomId('jti') })
      .setProtectedHeader({ alg: 'ES256', kid: c.kid })
      .setIssuer(c.clientId)
      .setSubject(c.clientId)
      .setAudience(aud)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(c.privateKey);
  }

  async function token(headers: Record<string, string>, form: Record<string, string>) {
    const answer = await raw(server, '/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'ledger:read', ...form }).toString(),
    });
    return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
  }

  const REFUSED = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };

  it.each([
    ['Host', { host: 'evil.test' }, 'http://evil.test/token'],
    [
      'X-Forwarded-Host from a trusted proxy',
      { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
      'https://evil.test/token',
    ],
  ])(
    "a private_key_jwt assertion whose aud names the host in %s is refused; the issuer's works",
    async (_name, headers, foreign) => {
      const c = await ledgerClient();
      const form = (value: string) => ({ client_assertion_type: ASSERTION_TYPE, client_assertion: value });
      expect(await token(headers, form(await assertion(c, foreign)))).toEqual(REFUSED);
      for (const aud of [`${server.issuer}/token`, server.issuer]) {
        const accepted = await token(headers, form(await assertion(c, aud)));
        expect(accepted.status, aud).toBe(200);
        expect(accepted.body).toMatchObject({ token_type: 'Bearer', scope: 'ledger:read' });
      }
    },
  );

  it.each([
    ['Host', { host: 'evil.test' }, 'http://evil.test/token'],
    [
      'X-Forwarded-Host from a trusted proxy',
      { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
      'https://evil.test/token',
    ],
  ])(
    "a DPoP proof whose htu names the host in %s is refused; one for the issuer's URL works",
    async (_name, headers, foreign) => {
      const created = await tesseraJson<{ client_id: string; client_secret: string }>([
        'clients',
        'create',
        '--name',
        'ledger-dpop',
        '--grant-types',
        'client_credentials',
        '--api',
        audience,
        '--scope',
        'ledger:read',
        '--dpop-bound',
      ]);
      const authorization = `Basic ${Buffer.from(`${created.client_id}:${created.client_secret}`).toString('base64')}`;
      const pair = await generateKeyPair('ES256', { extractable: true });
      const jwk = await exportJWK(pair.publicKey);
      const proof = (htu: string) =>
        new SignJWT({ htm: 'POST', htu, jti: randomId('proof'), iat: Math.floor(Date.now() / 1000) })
          .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
          .sign(pair.privateKey);
      expect(await token({ ...headers, authorization, dpop: await proof(foreign) }, {})).toEqual({
        status: 400,
        body: { error: 'invalid_dpop_proof', error_description: 'DPoP proof htu mismatch' },
      });
      const accepted = await token({ ...headers, authorization, dpop: await proof(`${server.issuer}/token`) }, {});
      expect(accepted).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    },
  );

  it("the device flow's verification_uri names the issuer, whatever Host the device sent", async () => {
    const created = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'ledger-tv',
      '--grant-types',
      'device_code',
      '--public',
      '--scope',
      'openid',
    ]);
    const answer = await raw(server, '/device/auth', {
      method: 'POST',
      headers: {
        host: 'evil.test',
        'x-forwarded-host': 'evil.test',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ client_id: created.client_id, scope: 'openid' }).toString(),
    });
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body) as { verification_uri: string; verification_uri_complete: string };
    expect(body.verification_uri).toBe(`${server.issuer}/device`);
    expect(body.verification_uri_complete.startsWith(`${server.issuer}/device?user_code=`)).toBe(true);
  });
});

describe('the origin a request sees', () => {
  it("is the issuer's, or MTLS_ENDPOINT_BASE's for a request addressed to that host, never one the request names", async () => {
    const app = new Koa();
    app.proxy = true;
    pinRequestOrigin(app, { issuer: 'https://id.example.test', mtlsEndpointBase: 'https://mtls.id.example.test' });
    app.use((ctx) => {
      ctx.body = {
        href: ctx.href,
        origin: ctx.URL.origin,
        host: ctx.host,
        hostname: ctx.hostname,
        protocol: ctx.protocol,
        secure: ctx.secure,
      };
    });
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const at = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    const seen = async (target: string, headers: Record<string, string>) =>
      JSON.parse((await raw(at, target, { headers })).body) as Record<string, unknown>;
    const issuer = (href: string) => ({
      href,
      origin: 'https://id.example.test',
      host: 'id.example.test',
      hostname: 'id.example.test',
      protocol: 'https',
      secure: true,
    });
    const alias = (href: string) => ({
      href,
      origin: 'https://mtls.id.example.test',
      host: 'mtls.id.example.test',
      hostname: 'mtls.id.example.test',
      protocol: 'https',
      secure: true,
    });
    try {
      expect(await seen('/token?x=1', {})).toEqual(issuer('https://id.example.test/token?x=1'));
      expect(
        await seen('/token', {
          host: 'evil.test',
          'x-forwarded-host': 'mtls.id.example.test',
          'x-forwarded-proto': 'http',
        }),
      ).toEqual(issuer('https://id.example.test/token'));
      expect(await seen('http://evil.test/token', { host: 'evil.test' })).toEqual(
        issuer('https://id.example.test/token'),
      );
      expect(await seen('//evil.test/token', {})).toEqual(issuer('https://id.example.test//evil.test/token'));
      expect(await seen('/token', { host: 'mtls.id.example.test' })).toEqual(
        alias('https://mtls.id.example.test/token'),
      );
      expect(await seen('/token', { host: 'MTLS.id.example.test:443' })).toEqual(
        alias('https://mtls.id.example.test/token'),
      );
      expect(await seen('/token', { host: 'mtls.id.example.test:8443' })).toEqual(
        issuer('https://id.example.test/token'),
      );
    } finally {
      server.close();
    }
  });
});
