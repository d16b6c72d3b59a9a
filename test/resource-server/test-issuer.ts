// A stand-in authorization server for the kit's tests: discovery, a JWKS whose keys the test
// controls (and counts fetches of), an RFC 7662 introspection endpoint, and a signer for access
// tokens with any claims or header. Real Tessera tokens are tested in tessera.test.ts; this is
// for what Tessera would never sign (expired, wrong issuer, bound to a key).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TestIssuer {
  issuer: string;
  audience: string;
  /** How many times /jwks was fetched. */
  jwksFetches: number;
  /** Keys in the published JWKS; the last one signs by default. */
  published: SigningKey[];
  newKey(kid?: string): Promise<SigningKey>;
  /** Signs an access token: defaults for every RFC 9068 claim, overridden by `claims`. */
  sign(
    claims?: Record<string, unknown>,
    options?: { key?: SigningKey; header?: Record<string, unknown> },
  ): Promise<string>;
  /** Tokens the introspection endpoint calls inactive. */
  revoked: Set<string>;
  introspectionRequests: number;
  introspectionClient: { clientId: string; clientSecret: string };
  /** What discovery says the issuer is (to test a mismatch). */
  claimedIssuer?: string;
  /** Replaces fields of the discovery document (e.g. a jwks_uri elsewhere). */
  metadata: Record<string, unknown>;
  /** How many times discovery was fetched. */
  discoveryFetches: number;
  close(): Promise<void>;
}

export async function newSigningKey(kid = randomBytes(6).toString('hex')): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export async function startTestIssuer(audience = 'https://api.example.test'): Promise<TestIssuer> {
  let server: Server;
  const state: TestIssuer = {
    issuer: '',
    audience,
    jwksFetches: 0,
    published: [await newSigningKey()],
    revoked: new Set(),
    introspectionRequests: 0,
    introspectionClient: { clientId: 'orders-api', clientSecret: randomBytes(16).toString('hex') },
    metadata: {},
    discoveryFetches: 0,
    async newKey(kid) {
      const key = await newSigningKey(kid);
      return key;
    },
    async sign(claims = {}, options = {}) {
      const key = options.key ?? state.published.at(-1)!;
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        iss: state.issuer,
        sub: 'user-1',
        aud: audience,
        client_id: 'app-1',
        scope: 'orders:read',
        jti: randomBytes(8).toString('hex'),
        iat: now,
        exp: now + 300,
        ...claims,
      };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid, ...options.header })
        .sign(key.privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  server = createServer((req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      state.discoveryFetches++;
      json(200, {
        issuer: state.claimedIssuer ?? state.issuer,
        jwks_uri: `${state.issuer}/jwks`,
        introspection_endpoint: `${state.issuer}/token/introspection`,
        ...state.metadata,
      });
    } else if (req.url === '/jwks') {
      state.jwksFetches++;
      json(200, { keys: state.published.map((k) => k.publicJwk) });
    } else if (req.url === '/token/introspection' && req.method === 'POST') {
      state.introspectionRequests++;
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        const { clientId, clientSecret } = state.introspectionClient;
        if (req.headers.authorization !== `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`) {
          json(401, { error: 'invalid_client', error_description: 'client authentication failed' });
          return;
        }
        const token = new URLSearchParams(body).get('token') ?? '';
        json(200, state.revoked.has(token) ? { active: false } : { active: true, client_id: 'app-1' });
      });
    } else {
      json(404, { error: 'not_found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
