// Token attacks: forged, confused and out-of-date tokens at introspection (RFC 7662) and at
// userinfo (OIDC Core §5.3). Each is built from a genuine token; the genuine ones are checked
// first, so that a refusal is the forgery's doing. Some are signed with Tessera's own private
// key (read from the database as a server would) to prove the claims are checked, not only the
// signature.
import { createHash, createPrivateKey, sign } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueries } from '../../src/db/queries/index.ts';
import { loadKeySet } from '../../src/keys/key-set.ts';
import { authorize } from '../setup/sign-in.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import { basic, createApi, createClient, createUser, form } from './support.ts';

const REDIRECT = 'https://app.example.test/callback';
let server: TestServer;
let audience: string;
let otherAudience: string;
let service: { client_id: string; auth: string };
let resourceServer: { client_id: string; auth: string };
let apiToken: string;
let userinfoToken: string;
let idToken: string;
let tesseraKey: JWK;

beforeAll(async () => {
  server = await startTestServer();
  [audience, otherAudience] = await Promise.all([createApi('vault:read'), createApi('other:read')]);
  const s = await createClient([
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--api',
    otherAudience,
    '--scope',
    'vault:read other:read',
  ]);
  service = { client_id: s.client_id, auth: basic(s.client_id, s.client_secret!) };
  const rs = await createClient(['--grant-types', 'client_credentials', '--api', otherAudience, '--serves', audience]);
  resourceServer = { client_id: rs.client_id, auth: basic(rs.client_id, rs.client_secret!) };

  const issued = await fetch(`${server.issuer}/token`, {
    ...form({ grant_type: 'client_credentials', scope: 'vault:read', resource: audience }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: service.auth },
  });
  apiToken = ((await issued.json()) as { access_token: string }).access_token;

  // A person's userinfo token and ID token, from a real sign-in.
  const user = await createUser();
  const app = await createClient([
    '--grant-types',
    'authorization_code',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--scope',
    'openid email',
  ]);
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(`${server.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: app.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid email',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await authorize(url, user);
  const exchanged = await fetch(`${server.issuer}/token`, {
    ...form({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    }),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(app.client_id, app.client_secret!),
    },
  });
  const tokens = (await exchanged.json()) as { access_token: string; id_token: string };
  userinfoToken = tokens.access_token;
  idToken = tokens.id_token;

  // The private key that signs now, as the server loads it.
  const keys = await loadKeySet(createQueries(server.db).signingKeys, [server.config.keysEncryptionKey]);
  tesseraKey = keys.privateJwks.keys.find((k) => k.kid === decodeProtectedHeader(apiToken).kid)!;
}, 60_000);
afterAll(() => server?.close());

async function introspect(as: { auth: string }, token: string) {
  const res = await fetch(`${server.issuer}/token/introspection`, {
    ...form({ token }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: as.auth },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function userinfo(token: string) {
  const res = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: res.status,
    wwwAuthenticate: res.headers.get('www-authenticate'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

const REFUSED_AT_USERINFO = {
  status: 401,
  wwwAuthenticate:
    'Bearer realm="' + '{issuer}' + '", error="invalid_token", error_description="invalid token provided"',
  body: { error: 'invalid_token', error_description: 'invalid token provided' },
};
const refusedAtUserinfo = () => ({
  ...REFUSED_AT_USERINFO,
  wwwAuthenticate: REFUSED_AT_USERINFO.wwwAuthenticate.replace('{issuer}', server.issuer),
});

type SigningKey = Parameters<SignJWT['sign']>[0];

async function signWith(key: JWK | SigningKey, header: Record<string, unknown>, payload: JWTPayload): Promise<string> {
  const k = 'kty' in key && typeof key.kty === 'string' ? await importJWK(key as JWK, 'RS256') : (key as SigningKey);
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', ...header } as never).sign(k);
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * The genuine API token's header and claims with changes, signed with Tessera's current private
 * key. Signed by hand: jose refuses to write some of these headers.
 */
function signedByTessera(
  change: Record<string, unknown> = {},
  headerChange: Record<string, unknown> = {},
  base = apiToken,
): string {
  const enc = (o: object) => base64url.encode(JSON.stringify(o));
  const input = `${enc({ ...decodeProtectedHeader(base), ...headerChange })}.${enc({ ...decodeJwt(base), ...change })}`;
  return `${input}.${base64url.encode(sign('sha256', Buffer.from(input), createPrivateKey({ key: tesseraKey as never, format: 'jwk' })))}`;
}

/** Every forgery, built from a genuine token (the API token unless told) at the time of the test. */
async function forgeries(base = apiToken): Promise<Record<string, string>> {
  const [h, p, sig] = base.split('.') as [string, string, string];
  const header = decodeProtectedHeader(base);
  const claims = decodeJwt(base);
  const enc = (o: object) => base64url.encode(JSON.stringify(o));
  const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: JWK[] };
  const publicJwk = jwks.keys.find((k) => k.kid === header.kid)!;
  const publicPem = await exportSPKI((await importJWK(publicJwk, 'RS256')) as Parameters<typeof exportSPKI>[0]);
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const hmac = (secret: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: header.kid! })
      .sign(new TextEncoder().encode(secret));
  const real = (change: Record<string, unknown> = {}, headerChange: Record<string, unknown> = {}) =>
    signedByTessera(change, headerChange, base);

  return {
    'alg none': `${enc({ alg: 'none', typ: 'at+jwt' })}.${p}.`,
    'alg none, signature kept': `${enc({ ...header, alg: 'none' })}.${p}.${sig}`,
    'alg NONE (case)': `${enc({ alg: 'NONE', typ: 'at+jwt' })}.${p}.`,
    'HS256 keyed with the public JWK (algorithm confusion)': await hmac(JSON.stringify(publicJwk)),
    'HS256 keyed with the public PEM (algorithm confusion)': await hmac(publicPem),
    'a foreign key with the matching kid': await signWith(
      foreign.privateKey,
      { typ: 'at+jwt', kid: header.kid },
      claims,
    ),
    'a foreign key offered in the header (jwk)': await signWith(
      foreign.privateKey,
      { typ: 'at+jwt', jwk: await exportJWK(foreign.publicKey) },
      claims,
    ),
    'a foreign key offered by URL (jku)': await signWith(
      foreign.privateKey,
      { typ: 'at+jwt', kid: 'evil', jku: 'https://evil.example.test/jwks' },
      claims,
    ),
    'a tampered payload (scope widened)': `${h}.${enc({ ...claims, scope: 'vault:read vault:write' })}.${sig}`,
    'a tampered payload (another client)': `${h}.${enc({ ...claims, client_id: resourceServer.client_id })}.${sig}`,
    'the signature removed': `${h}.${p}.`,
    'a signature from another token': `${h}.${p}.${idToken.split('.')[2]}`,
    'expired (signed by Tessera)': real({ exp: now() - 120, iat: now() - 720 }),
    'not yet valid (signed by Tessera)': real({ nbf: now() + 3600 }),
    'the wrong issuer (signed by Tessera)': real({ iss: 'https://evil.example.test' }),
    'typ JWT instead of at+jwt (signed by Tessera)': real({}, { typ: 'JWT' }),
    'no typ (signed by Tessera)': real({}, { typ: undefined }),
    'no jti (signed by Tessera)': real({ jti: undefined }),
    'no exp (signed by Tessera)': real({ exp: undefined }),
    'alg HS256 in the header over an RS256 signature (signed by Tessera)': real({}, { alg: 'HS256' }),
    'an unknown critical header (signed by Tessera)': real({}, { crit: ['x-evil'], 'x-evil': true }),
    'an ID token used as an access token': idToken,
  };
}

describe('the genuine tokens (the controls)', () => {
  it("introspect as active, and so does a token the test signs with Tessera's key", async () => {
    expect((await introspect(service, apiToken)).body).toMatchObject({
      active: true,
      client_id: service.client_id,
      aud: audience,
    });
    expect((await introspect(resourceServer, apiToken)).body).toMatchObject({ active: true });
    // Signing with Tessera's key as the tests do yields a token Tessera accepts: so when the
    // variants below are refused, it is for what was changed.
    // RS256 (PKCS #1 v1.5) is deterministic: the same header and claims give the same token.
    expect(signedByTessera()).toBe(apiToken);
    const jti = `forged-${Date.now()}`;
    expect((await introspect(service, signedByTessera({ jti }))).body).toMatchObject({ active: true, jti });
  });

  it('the userinfo token is accepted at userinfo', async () => {
    const answer = await userinfo(userinfoToken);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ sub: expect.any(String), email: expect.stringContaining('@example.test') });
  });
});

describe('forged and confused tokens', () => {
  it("introspect as inactive, to the owning client and to the API's resource server", async () => {
    for (const [name, token] of Object.entries(await forgeries())) {
      expect({ name, ...(await introspect(service, token)) }).toEqual({ name, status: 200, body: { active: false } });
      expect({ name, ...(await introspect(resourceServer, token)) }).toEqual({
        name,
        status: 200,
        body: { active: false },
      });
    }
  });

  it('are refused at userinfo with 401 and WWW-Authenticate', async () => {
    for (const [name, token] of Object.entries(await forgeries())) {
      expect({ name, ...(await userinfo(token)) }).toEqual({ name, ...refusedAtUserinfo() });
    }
  });

  it('made from the userinfo token (a JWT for the userinfo audience), are refused at userinfo', async () => {
    // The control: re-signed unchanged by Tessera's key, it is the genuine token, and accepted.
    expect(signedByTessera({}, {}, userinfoToken)).toBe(userinfoToken);
    expect((await userinfo(userinfoToken)).status).toBe(200);
    for (const [name, token] of Object.entries(await forgeries(userinfoToken))) {
      expect({ name, ...(await userinfo(token)) }).toEqual({ name, ...refusedAtUserinfo() });
    }
  });

  it("a genuine token for another API is inactive to this API's resource server (wrong aud), and an API token is no userinfo token", async () => {
    const res = await fetch(`${server.issuer}/token`, {
      ...form({ grant_type: 'client_credentials', scope: 'other:read', resource: otherAudience }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: service.auth },
    });
    const forOther = ((await res.json()) as { access_token: string }).access_token;
    expect(decodeJwt(forOther).aud).toBe(otherAudience);
    // The resource server serves `audience`, not `otherAudience`.
    expect(await introspect(resourceServer, forOther)).toEqual({ status: 200, body: { active: false } });
    // Re-signed by Tessera with the other audience: the same.
    const retargeted = signedByTessera({ aud: otherAudience });
    expect(await introspect(resourceServer, retargeted)).toEqual({ status: 200, body: { active: false } });
    expect(await userinfo(apiToken)).toEqual({ ...refusedAtUserinfo() });
  });

  it('an opaque token that was never issued, or a real one with a character added, is refused at userinfo', async () => {
    const opaque = createHash('sha256').update(userinfoToken).digest('base64url');
    expect(await userinfo(opaque)).toEqual(refusedAtUserinfo());
    expect(await userinfo(`${userinfoToken}x`)).toEqual(refusedAtUserinfo());
  });
});
