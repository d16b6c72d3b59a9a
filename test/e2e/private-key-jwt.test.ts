// private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9): a client with no secret
// proves itself with a JWT signed by its own key, registered inline or by jwks_uri. openid-client
// is the client; replays are sent by hand, since a library never replays.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyJwtClient, signingKey } from '../setup/private-key-jwt.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
let server: TestServer;
let audience: string;
let dir: string;
let jwksServer: Server;
const published: { keys: JWK[] } = { keys: [] };

beforeAll(async () => {
  server = await startTestServer();
  audience = `https://${randomId('ledger')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'ledger:read ledger:write']);
  dir = mkdtempSync(join(tmpdir(), 'tessera-pkjwt-'));
  // The client's own JWKS endpoint, on loopback (http is accepted for loopback only).
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  jwksServer?.close();
  await server?.close();
});

const keyPair = signingKey;
const inlineClient = (extra: string[] = []) => privateKeyJwtClient(audience, extra);

function discover(clientId: string, privateKey: CryptoKey, kid: string, at = server) {
  return oidc.discovery(new URL(at.issuer), clientId, {}, oidc.PrivateKeyJwt({ key: privateKey, kid }), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** A client assertion as RFC 7523 §3 describes it, with every claim chosen by the test. */
function assertion(c: { clientId: string; privateKey: CryptoKey; kid: string }, claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomId('jti'), ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: c.kid })
    .setIssuer(c.clientId)
    .setSubject(c.clientId)
    .setAudience((claims.aud as string | undefined) ?? server.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(c.privateKey);
}

async function tokenRequest(clientAssertion: string) {
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'ledger:read',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: clientAssertion,
    }),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    wwwAuthenticate: res.headers.get('www-authenticate'),
  };
}

const REFUSED = {
  status: 401,
  body: { error: 'invalid_client', error_description: 'client authentication failed' },
  wwwAuthenticate: null,
};

describe('private_key_jwt', () => {
  it('is advertised in discovery with asymmetric algorithms only', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string[]
    >;
    expect(metadata.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'none',
    ]);
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toEqual(['RS256', 'PS256', 'ES256', 'EdDSA']);
  });

  it('authenticates a client registered with an inline JWKS, which gets no secret', async () => {
    const c = await inlineClient();
    expect(c.created.client_secret).toBeUndefined();
    expect(c.created).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      secrets: [],
      jwks: { keys: [c.jwk] },
    });
    const config = await discover(c.clientId, c.privateKey, c.kid);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'ledger:read' });
    expect(tokens.scope).toBe('ledger:read');
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
  });

  it('authenticates a client whose keys are at its jwks_uri (loopback only on a development server)', async () => {
    // oidc-provider's SSRF guard refuses loopback addresses; a development server may allow them.
    const dev = await startTestServer({ DEV_ALLOW_LOOPBACK_JWKS_URI: 'true' });
    try {
      const first = await keyPair('PS256');
      published.keys = [first.jwk];
      const { port } = jwksServer.address() as AddressInfo;
      const created = await tesseraJson<{ client_id: string; jwks_uri: string }>([
        'clients',
        'create',
        '--name',
        'ledger-remote',
        '--grant-types',
        'client_credentials',
        '--api',
        audience,
        '--scope',
        'ledger:read',
        '--auth-method',
        'private_key_jwt',
        '--jwks-uri',
        `http://127.0.0.1:${port}/jwks.json`,
      ]);
      expect(created.jwks_uri).toBe(`http://127.0.0.1:${port}/jwks.json`);
      const tokens = await oidc.clientCredentialsGrant(
        await discover(created.client_id, first.privateKey, first.kid, dev),
        { scope: 'ledger:read' },
      );
      expect(tokens.access_token).toEqual(expect.any(String));

      // A new key is not seen before the fetched set goes stale (oidc-provider keeps it at least
      // 60 s, longer if the client's Cache-Control says so): publish keys before using them.
      const second = await keyPair('ES256');
      published.keys = [first.jwk, second.jwk];
      const early = await oidc
        .clientCredentialsGrant(await discover(created.client_id, second.privateKey, second.kid, dev), {
          scope: 'ledger:read',
        })
        .catch((err: { error?: string }) => err.error);
      expect(early).toBe('invalid_client');

      // The default server will not fetch from loopback: the client cannot authenticate there.
      const refused = await oidc
        .clientCredentialsGrant(await discover(created.client_id, first.privateKey, first.kid), {
          scope: 'ledger:read',
        })
        .catch((err: { error?: string; status?: number }) => ({ error: err.error, status: err.status }));
      expect(refused).toEqual({ error: 'invalid_client', status: 401 });
    } finally {
      await dev.close();
    }
  });

  it('refuses a replayed assertion (its jti is remembered in PostgreSQL)', async () => {
    const c = await inlineClient();
    const jti = randomId('once');
    const signed = await assertion(c, { jti });
    expect((await tokenRequest(signed)).status).toBe(200);
    expect(await tokenRequest(signed)).toEqual(REFUSED);
    const { rows } = await server.db.pool.query(
      `SELECT payload->>'iss' AS iss, expires_at > now() AS live FROM oidc_payloads WHERE model = 'ReplayDetection' AND payload->>'iss' = $1`,
      [c.clientId],
    );
    expect(rows).toEqual([{ iss: c.clientId, live: true }]);
  });

  it('lets exactly one of two concurrent uses of one assertion through', async () => {
    const c = await inlineClient();
    const signed = await assertion(c);
    const results = await Promise.all([tokenRequest(signed), tokenRequest(signed), tokenRequest(signed)]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect([401, 400]).toContain(r.status);
      expect(['invalid_client', 'invalid_request']).toContain(r.body.error);
    }
  });

  it('accepts the issuer identifier or the token endpoint as aud, nothing else', async () => {
    const c = await inlineClient();
    expect((await tokenRequest(await assertion(c, { aud: server.issuer }))).status).toBe(200);
    expect((await tokenRequest(await assertion(c, { aud: `${server.issuer}/token` }))).status).toBe(200);
    expect(await tokenRequest(await assertion(c, { aud: 'https://elsewhere.example.test' }))).toEqual(REFUSED);
  });

  it('refuses an assertion signed by another key, or with alg none', async () => {
    const c = await inlineClient();
    const stranger = await keyPair();
    expect(await tokenRequest(await assertion({ ...stranger, clientId: c.clientId, kid: c.kid }))).toEqual(REFUSED);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({
        iss: c.clientId,
        sub: c.clientId,
        aud: server.issuer,
        jti: randomId('j'),
        exp: Math.floor(Date.now() / 1000) + 60,
      }),
    ).toString('base64url')}.`;
    expect(await tokenRequest(unsigned)).toEqual(REFUSED);
  });

  it('refuses a client secret from a private_key_jwt client', async () => {
    const c = await inlineClient();
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${c.clientId}:guess`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('the seed file registers a private_key_jwt client, DPoP-bound and PAR-only, without a secret', async () => {
    const key = await keyPair();
    const id = randomId('seeded');
    const file = join(dir, `${id}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        clients: [
          {
            client_id: id,
            name: 'Seeded ledger',
            grant_types: ['client_credentials'],
            apis: [audience],
            scope: 'ledger:read',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [key.jwk] },
            dpop_bound_access_tokens: true,
            require_pushed_authorization_requests: true,
          },
        ],
      }),
    );
    expect((await tessera(['seed', file])).code).toBe(0);
    expect(await tesseraJson(['clients', 'show', id])).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      secrets: [],
      jwks: { keys: [key.jwk] },
      dpop_bound_access_tokens: true,
      require_pushed_authorization_requests: true,
    });
    // Applying it again changes nothing.
    expect((await tessera(['--json', 'seed', file])).stdout).toContain('"unchanged"');
    // DPoP-bound: a plain request is refused, one with a proof (openid-client's DPoP handle) works.
    const config = await discover(id, key.privateKey, key.kid);
    expect(
      await oidc.clientCredentialsGrant(config, { scope: 'ledger:read' }).catch((err: { error?: string }) => err.error),
    ).toBe('invalid_grant');
    const tokens = await oidc.clientCredentialsGrant(
      config,
      { scope: 'ledger:read' },
      { DPoP: oidc.getDPoPHandle(config, await generateKeyPair('ES256')) },
    );
    expect(tokens.token_type).toBe('dpop');
  });

  it('the CLI refuses a private key, a missing JWKS, and a plain-http jwks_uri', async () => {
    const key = await keyPair();
    const { privateKey: _p, ...rest } = key;
    const privateJwk = { ...(await exportJWK(key.privateKey)), kid: rest.kid };
    const file = join(dir, 'private.json');
    writeFileSync(file, JSON.stringify({ keys: [privateJwk] }));
    const base = [
      'clients',
      'create',
      '--name',
      'bad',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--auth-method',
      'private_key_jwt',
    ];
    const cases: [string[], string][] = [
      [['--jwks-file', file], 'the JWKS must hold public keys only; a private key was given'],
      [[], "private_key_jwt needs the client's public keys: --jwks-file FILE or --jwks-uri URL"],
      [
        ['--jwks-uri', 'http://keys.example.test/jwks'],
        'the JWKS URI http://keys.example.test/jwks must use https (http is allowed for loopback only)',
      ],
    ];
    for (const [extra, message] of cases) {
      const result = await tessera([...base, ...extra]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain(String(privateJwk.d));
    }
  });
});
