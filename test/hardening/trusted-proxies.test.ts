// Findings 3 and 4 of the security review: what a request says about its sender counts only
// when it comes through a proxy in TRUSTED_PROXIES. From anyone else, X-Forwarded-For changes
// nothing (sign-in lockout, token quota and audit trail count the socket's peer) and a client-
// certificate header authenticates nobody. From a trusted proxy, the right-most X-Forwarded-For
// entry that is not a trusted proxy is the client; what the client wrote to its left is not.
// Each test is a loopback peer of its own (test/setup/from-address.ts), so counts are its own.
import { createHash, X509Certificate } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/config/env.ts';
import { certificateMaker } from '../setup/certificates.ts';
import { eventually } from '../setup/eventually.ts';
import { fetchFrom, loopbackPeer } from '../setup/from-address.ts';
import { startTestServer, testEnv, type TestServer } from '../setup/tessera.ts';
import { basic, createApi, createClient, createUser } from './support.ts';

const REDIRECT = 'https://app.example.test/cb';
// 198.51.100.0/24 and 203.0.113.0/24 are documentation networks: addresses a client might claim.
const encoded = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const documentationAddress = (net: '198.51.100' | '203.0.113') => `${net}.${Math.floor(Math.random() * 254) + 1}`;

/** A sign-in attempt (authorization request, login page, login form) from `peer`, with extra headers. */
async function signIn(
  server: TestServer,
  peer: string,
  clientId: string,
  email: string,
  password: string,
  headers: () => Record<string, string>,
) {
  const send = fetchFrom(peer);
  const auth = new URL(`${server.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: 'a'.repeat(43),
    code_challenge_method: 'S256',
  }).toString();
  const first = await send(auth, { headers: headers() });
  const cookie = first.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const interaction = new URL(first.headers.get('location')!, server.issuer);
  const html = await (await send(interaction, { headers: { cookie, ...headers() } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  const res = await send(`${interaction.href}/login`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers() },
    body: encoded({ csrf, email, password }),
  });
  return res.status;
}

/** A token request with a wrong secret, which spends the sender's address's quota. */
async function wrongSecret(server: TestServer, peer: string, clientId: string, headers: Record<string, string>) {
  const res = await fetchFrom(peer)(`${server.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: basic(clientId, 'a wrong secret'),
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    },
    body: encoded({ grant_type: 'client_credentials' }),
  });
  return res.status;
}

/**
 * The distinct addresses the audit trail recorded for failed sign-ins to this file's user from any
 * of `addresses`, once at least `expected` are recorded (written asynchronously: polled). The
 * user narrows it to this file: other files' sign-ins come from random documentation addresses
 * too, and one of them may be among these.
 */
async function auditedAddresses(server: TestServer, addresses: string[], expected: number): Promise<string[]> {
  return eventually(async () => {
    const { rows } = await server.db.pool.query<{ ip: string }>(
      `SELECT ip FROM audit_events
        WHERE type = 'login.failed' AND ip = ANY($1)
          AND subject = (SELECT id::text FROM users WHERE email_normalized = lower($2))
        ORDER BY id`,
      [addresses, user.email],
    );
    expect(rows.length).toBeGreaterThanOrEqual(expected);
    return [...new Set(rows.map((r) => r.ip))];
  });
}

let app: { client_id: string };
let quotaClient: { client_id: string };
let user: { email: string; password: string };

beforeAll(async () => {
  [app, quotaClient, user] = await Promise.all([
    createClient([
      '--grant-types',
      'authorization_code',
      '--public',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--scope',
      'openid',
    ]),
    createClient(['--grant-types', 'authorization_code', '--redirect-uri', REDIRECT]),
    createUser(),
  ]);
}, 60_000);

describe('TRUST_PROXY', () => {
  it('is refused, naming TRUSTED_PROXIES: it believed the left-most X-Forwarded-For entry, which the client writes', () => {
    expect(() => loadConfig(testEnv({ TRUST_PROXY: 'true' }))).toThrowError(ConfigError);
    expect(() => loadConfig(testEnv({ TRUST_PROXY: 'true' }))).toThrowError(
      'TRUST_PROXY: no longer supported; set TRUSTED_PROXIES to the addresses of your proxies (e.g. TRUSTED_PROXIES=10.0.0.0/8)',
    );
  });
});

describe('X-Forwarded-For from a peer that is not a trusted proxy', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A proxy exists (192.0.2.10, a documentation address), but the tests' peers are not it.
    server = await startTestServer({
      TRUSTED_PROXIES: '192.0.2.10',
      RATE_LIMIT_LOGIN_FAILURES: '2',
      RATE_LIMIT_TOKEN_PER_MINUTE: '3',
    });
  }, 60_000);
  afterAll(() => server?.close());

  it('does not escape the sign-in lockout, and the audit trail records the real peer', async () => {
    const peer = loopbackPeer();
    const claimed: string[] = [];
    const spoof = () => {
      const address = documentationAddress('198.51.100');
      claimed.push(address);
      return { 'x-forwarded-for': address };
    };
    expect(await signIn(server, peer, app.client_id, user.email, 'wrong 1', spoof)).toBe(401);
    expect(await signIn(server, peer, app.client_id, user.email, 'wrong 2', spoof)).toBe(401);
    // Locked for this peer, whatever address it claims now, even with the right password.
    expect(await signIn(server, peer, app.client_id, user.email, user.password, spoof)).toBe(429);
    expect(await auditedAddresses(server, [peer, ...claimed], 2)).toEqual([peer]);
    // Another peer is not locked out.
    expect(await signIn(server, loopbackPeer(), app.client_id, user.email, user.password, () => ({}))).toBe(303);
  });

  it('does not escape the per-address token quota', async () => {
    const peer = loopbackPeer();
    for (let i = 0; i < 3; i++) {
      expect(
        await wrongSecret(server, peer, quotaClient.client_id, {
          'x-forwarded-for': documentationAddress('203.0.113'),
        }),
      ).toBe(401);
    }
    expect(
      await wrongSecret(server, peer, quotaClient.client_id, { 'x-forwarded-for': documentationAddress('203.0.113') }),
    ).toBe(429);
    expect(await wrongSecret(server, loopbackPeer(), quotaClient.client_id, {})).toBe(401);
  });
});

describe('X-Forwarded-Host and X-Forwarded-Proto from a peer that is not a trusted proxy', () => {
  it('are removed before anything reads them: no URL follows them', async () => {
    const server = await startTestServer({ TRUSTED_PROXIES: '192.0.2.10' });
    try {
      const device = await createClient(['--grant-types', 'device_code', '--public', '--scope', 'openid']);
      const res = await fetchFrom(loopbackPeer())(`${server.issuer}/device/auth`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-host': 'evil.example.test',
          'x-forwarded-proto': 'https',
        },
        body: encoded({ client_id: device.client_id, scope: 'openid' }),
      });
      expect(res.status).toBe(200);
      const { verification_uri } = (await res.json()) as { verification_uri: string };
      expect(verification_uri).toBe(`${server.issuer}/device`);
    } finally {
      await server.close();
    }
  });
});

describe('X-Forwarded-For from a trusted proxy', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Every loopback address is a proxy here: the client is whoever X-Forwarded-For names.
    server = await startTestServer({
      TRUSTED_PROXIES: '127.0.0.0/8,::1',
      RATE_LIMIT_LOGIN_FAILURES: '2',
      RATE_LIMIT_TOKEN_PER_MINUTE: '3',
    });
  }, 60_000);
  afterAll(() => server?.close());

  it('counts the right-most untrusted entry for the sign-in lockout and the audit trail, not a spoofed left-most one', async () => {
    const client = documentationAddress('198.51.100');
    const claimed: string[] = [];
    // As nginx's $proxy_add_x_forwarded_for appends: whatever the client sent, then its address,
    // then (a second proxy hop) the first proxy's own loopback address.
    const viaProxies = (hops: number) => () => {
      const spoofed = documentationAddress('203.0.113');
      claimed.push(spoofed);
      return { 'x-forwarded-for': [spoofed, client, ...Array.from({ length: hops - 1 }, loopbackPeer)].join(', ') };
    };
    expect(await signIn(server, loopbackPeer(), app.client_id, user.email, 'wrong 1', viaProxies(1))).toBe(401);
    expect(await signIn(server, loopbackPeer(), app.client_id, user.email, 'wrong 2', viaProxies(2))).toBe(401);
    expect(await signIn(server, loopbackPeer(), app.client_id, user.email, user.password, viaProxies(1))).toBe(429);
    expect(await auditedAddresses(server, [client, ...claimed], 2)).toEqual([client]);
    // Another client behind the same proxies signs in.
    expect(
      await signIn(server, loopbackPeer(), app.client_id, user.email, user.password, () => ({
        'x-forwarded-for': documentationAddress('198.51.100'),
      })),
    ).toBe(303);
  });

  it('counts the right-most untrusted entry for the token quota', async () => {
    const client = documentationAddress('198.51.100');
    const proxy = loopbackPeer();
    const from = () => ({ 'x-forwarded-for': `${documentationAddress('203.0.113')}, ${client}` });
    for (let i = 0; i < 3; i++) expect(await wrongSecret(server, proxy, quotaClient.client_id, from())).toBe(401);
    expect(await wrongSecret(server, proxy, quotaClient.client_id, from())).toBe(429);
    // The proxy's other clients keep their own quota.
    expect(
      await wrongSecret(server, proxy, quotaClient.client_id, {
        'x-forwarded-for': documentationAddress('198.51.100'),
      }),
    ).toBe(401);
  });
});

describe('the client-certificate header (MTLS_CERT_HEADER)', () => {
  const HEADER = 'x-ssl-client-cert';
  const certs = certificateMaker('tessera-proxy-mtls-');
  const proxy = loopbackPeer();
  let server: TestServer;
  let certificate: string;
  let client: { client_id: string };
  let audience: string;

  beforeAll(async () => {
    // A CA and a client certificate it issued.
    certs.certificate('ca', '/CN=Proxy Test CA', { isCa: true });
    certificate = certs.certificate('client', '/C=SE/O=Example/CN=billing', { ca: 'ca' }).cert;
    audience = await createApi('ledger:read');
    client = await createClient([
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'ledger:read',
      '--auth-method',
      'tls_client_auth',
      '--tls-subject-dn',
      'CN=billing,O=Example,C=SE',
      '--cert-bound',
    ]);
    // Only `proxy` is trusted.
    server = await startTestServer({
      TRUSTED_PROXIES: proxy,
      MTLS_CERT_HEADER: HEADER,
      TLS_CLIENT_CA_FILE: certs.file('ca.pem'),
    });
  }, 60_000);
  afterAll(() => server?.close());

  const token = (peer: string) =>
    fetchFrom(peer)(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', [HEADER]: encodeURIComponent(certificate) },
      body: encoded({ grant_type: 'client_credentials', client_id: client.client_id, scope: 'ledger:read' }),
    });

  it('from a trusted proxy authenticates the client and binds its token to the certificate', async () => {
    const res = await token(proxy);
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const thumbprint = createHash('sha256').update(new X509Certificate(certificate).raw).digest('base64url');
    expect(decodeJwt(access_token).cnf).toEqual({ 'x5t#S256': thumbprint });
  });

  it('from any other peer is ignored: the client is not authenticated', async () => {
    const res = await token(loopbackPeer());
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });
});
