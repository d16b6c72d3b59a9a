// Sender-constrained tokens: a token with cnf.jkt needs a DPoP proof by that key (RFC 9449
// §4.3, §7.1); a token with cnf["x5t#S256"] needs that TLS client certificate (RFC 8705 §3).
// Tessera's own DPoP support is built elsewhere; these tokens come from the stand-in issuer.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startProtectedApi, type Framework, type ProtectedApi } from './apps.ts';
import { startTestIssuer, type TestIssuer } from './test-issuer.ts';

const AUDIENCE = 'https://orders.example.test';
const ALGS = 'ES256 PS256 RS256 EdDSA';
const now = () => Math.floor(Date.now() / 1000);
let issuer: TestIssuer;

interface Holder {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}
async function holder(): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/** A DPoP proof (RFC 9449 §4.2) for this request and token; `claims` and `header` override. */
async function proof(
  h: Holder,
  htm: string,
  htu: string,
  token: string,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
) {
  const ath = createHash('sha256').update(token).digest('base64url');
  return new SignJWT({ jti: randomBytes(8).toString('hex'), htm, htu, iat: now(), ath, ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: h.jwk, ...header })
    .sign(h.privateKey);
}

beforeAll(async () => {
  issuer = await startTestIssuer(AUDIENCE);
});
afterAll(() => issuer?.close());

describe.each<Framework>(['koa', 'express'])('DPoP-bound tokens on %s', (framework) => {
  let api: ProtectedApi;
  let key: Holder;
  let token: string;
  let htu: string;
  beforeAll(async () => {
    api = await startProtectedApi(framework, { issuer: issuer.issuer, audience: AUDIENCE });
    key = await holder();
    token = await issuer.sign({ cnf: { jkt: key.jkt } });
    htu = `${api.url}/orders`;
  });
  afterAll(() => api?.close());

  const dpop = async (headers: Record<string, string>, method = 'GET', path = '/orders') =>
    call(`${api.url}${path}`, headers, method);
  const refused = (error: string, description: string, status = 401) => ({
    status,
    wwwAuthenticate: `DPoP realm="${AUDIENCE}", error="${error}", error_description="${description}", algs="${ALGS}"`,
    body: { error, error_description: description },
  });

  it('accepts the token with a fresh proof by its key, for this method and URL', async () => {
    expect(await dpop({ authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', htu, token) })).toEqual({
      status: 200,
      wwwAuthenticate: null,
      body: { sub: 'user-1', scopes: ['orders:read'], scheme: 'DPoP' },
    });
    // htu is compared without the query (RFC 9449 §4.3 item 9).
    expect(
      (
        await dpop(
          { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', htu, token) },
          'GET',
          '/orders?page=2',
        )
      ).status,
    ).toBe(200);
  });

  it('refuses the bound token as a plain bearer token, and an unbound token under DPoP', async () => {
    expect(await dpop({ authorization: `Bearer ${token}` })).toEqual(
      refused('invalid_token', 'the access token is DPoP-bound: use the DPoP scheme with a proof'),
    );
    const unbound = await issuer.sign();
    expect(await dpop({ authorization: `DPoP ${unbound}`, dpop: await proof(key, 'GET', htu, unbound) })).toEqual(
      refused('invalid_token', 'the access token is not DPoP-bound'),
    );
  });

  it('refuses a missing, mistyped, wrongly signed or private-key proof', async () => {
    expect(await dpop({ authorization: `DPoP ${token}` })).toEqual(
      refused('invalid_dpop_proof', 'a DPoP proof is required'),
    );
    expect(await dpop({ authorization: `DPoP ${token}`, dpop: 'not.a.jwt' })).toEqual(
      refused('invalid_dpop_proof', 'malformed DPoP proof'),
    );
    expect(
      await dpop({ authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', htu, token, {}, { typ: 'JWT' }) }),
    ).toEqual(refused('invalid_dpop_proof', "the DPoP proof's typ must be dpop+jwt"));
    // Signed by another key than the one in its header.
    const other = await holder();
    const forged = await new SignJWT({
      jti: 'x',
      htm: 'GET',
      htu,
      iat: now(),
      ath: createHash('sha256').update(token).digest('base64url'),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
      .sign(other.privateKey);
    expect(await dpop({ authorization: `DPoP ${token}`, dpop: forged })).toEqual(
      refused('invalid_dpop_proof', 'the DPoP proof is invalid'),
    );
    // A private key in the header (RFC 9449 §4.3 item 7).
    const exposed = await proof(key, 'GET', htu, token, {}, { jwk: await exportJWK(key.privateKey) });
    expect(await dpop({ authorization: `DPoP ${token}`, dpop: exposed })).toEqual(
      refused('invalid_dpop_proof', 'the DPoP proof is invalid'),
    );
  });

  it('refuses a proof for another method, URL, token or key, a stale one, and a replayed one', async () => {
    const auth = `DPoP ${token}`;
    expect(await dpop({ authorization: auth, dpop: await proof(key, 'POST', htu, token) })).toEqual(
      refused('invalid_dpop_proof', 'the DPoP proof is for another method'),
    );
    expect(await dpop({ authorization: auth, dpop: await proof(key, 'GET', `${api.url}/other`, token) })).toEqual(
      refused('invalid_dpop_proof', 'the DPoP proof is for another URL'),
    );
    expect(
      await dpop({
        authorization: auth,
        dpop: await proof(key, 'GET', 'https://elsewhere.example.test/orders', token),
      }),
    ).toEqual(refused('invalid_dpop_proof', 'the DPoP proof is for another URL'));
    expect(
      await dpop({ authorization: auth, dpop: await proof(key, 'GET', htu, token, { ath: 'x'.repeat(43) }) }),
    ).toEqual(refused('invalid_dpop_proof', 'the DPoP proof is for another access token'));
    expect(await dpop({ authorization: auth, dpop: await proof(key, 'GET', htu, token, { ath: undefined }) })).toEqual(
      refused('invalid_dpop_proof', 'the DPoP proof is for another access token'),
    );
    expect(await dpop({ authorization: auth, dpop: await proof(await holder(), 'GET', htu, token) })).toEqual(
      refused('invalid_dpop_proof', 'the DPoP proof is signed with another key'),
    );
    expect(
      await dpop({ authorization: auth, dpop: await proof(key, 'GET', htu, token, { iat: now() - 120 }) }),
    ).toEqual(refused('invalid_dpop_proof', 'the DPoP proof is not fresh'));
    expect(await dpop({ authorization: auth, dpop: await proof(key, 'GET', htu, token, { iat: now() + 60 }) })).toEqual(
      refused('invalid_dpop_proof', 'the DPoP proof is not fresh'),
    );
    const once = await proof(key, 'GET', htu, token);
    expect((await dpop({ authorization: auth, dpop: once })).status).toBe(200);
    expect(await dpop({ authorization: auth, dpop: once })).toEqual(
      refused('invalid_dpop_proof', 'the DPoP proof has been used before'),
    );
  });

  it("a bound token without the route's scope: 403 under the DPoP scheme", async () => {
    const htuPost = `${api.url}/orders`;
    expect(
      await dpop({ authorization: `DPoP ${token}`, dpop: await proof(key, 'POST', htuPost, token) }, 'POST'),
    ).toEqual({
      status: 403,
      wwwAuthenticate: `DPoP realm="${AUDIENCE}", error="insufficient_scope", error_description="this resource needs the scope orders:write", scope="orders:write", algs="${ALGS}"`,
      body: {
        error: 'insufficient_scope',
        error_description: 'this resource needs the scope orders:write',
        scope: 'orders:write',
      },
    });
  });
});

describe('certificate-bound tokens (RFC 8705)', () => {
  let dir: string;
  const pems: Record<string, string> = {};
  beforeAll(() => {
    // Self-signed certificates, made for this run: the server's, and two clients'.
    dir = mkdtempSync(join(tmpdir(), 'tessera-mtls-'));
    for (const name of ['server', 'alice', 'mallory']) {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '1',
          '-subj',
          `/CN=${name}`,
          '-keyout',
          join(dir, `${name}.key`),
          '-out',
          join(dir, `${name}.pem`),
        ],
        { stdio: 'ignore' },
      );
      pems[`${name}.key`] = readFileSync(join(dir, `${name}.key`), 'utf8');
      pems[`${name}.pem`] = readFileSync(join(dir, `${name}.pem`), 'utf8');
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const x5t = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');

  /** A GET over TLS, presenting `client`'s certificate if given. */
  function tlsGet(
    url: string,
    token: string,
    client?: string,
  ): Promise<{ status: number; wwwAuthenticate: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          headers: { authorization: `Bearer ${token}` },
          rejectUnauthorized: false,
          ...(client ? { cert: pems[`${client}.pem`], key: pems[`${client}.key`] } : undefined),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, wwwAuthenticate: res.headers['www-authenticate'] }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it.each<Framework>(['koa', 'express'])('from the TLS socket on %s', async (framework) => {
    const api = await startProtectedApi(
      framework,
      { issuer: issuer.issuer, audience: AUDIENCE },
      {},
      { cert: pems['server.pem'], key: pems['server.key'], requestCert: true, rejectUnauthorized: false },
    );
    const token = await issuer.sign({ cnf: { 'x5t#S256': x5t(pems['alice.pem']!) } });
    expect(await tlsGet(`${api.url}/orders`, token, 'alice')).toEqual({ status: 200, wwwAuthenticate: undefined });
    expect(await tlsGet(`${api.url}/orders`, token, 'mallory')).toEqual({
      status: 401,
      wwwAuthenticate: `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="the access token is bound to another client certificate"`,
    });
    expect(await tlsGet(`${api.url}/orders`, token)).toEqual({
      status: 401,
      wwwAuthenticate: `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="the access token is bound to a client certificate, and none was presented"`,
    });
    await api.close();
  });

  it("from a trusted proxy's header: RFC 9440 Client-Cert or a URL-encoded PEM", async () => {
    const api = await startProtectedApi(
      'express',
      { issuer: issuer.issuer, audience: AUDIENCE },
      { clientCertificateHeader: 'Client-Cert' },
    );
    const token = await issuer.sign({ cnf: { 'x5t#S256': x5t(pems['alice.pem']!) } });
    const sf = (pem: string) => `:${new X509Certificate(pem).raw.toString('base64')}:`;
    const get = (cert?: string) =>
      call(`${api.url}/orders`, { authorization: `Bearer ${token}`, ...(cert ? { 'client-cert': cert } : undefined) });
    expect((await get(sf(pems['alice.pem']!))).status).toBe(200);
    expect((await get(encodeURIComponent(pems['alice.pem']!))).status).toBe(200);
    expect((await get(sf(pems['mallory.pem']!))).wwwAuthenticate).toBe(
      `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="the access token is bound to another client certificate"`,
    );
    expect((await get('garbage')).wwwAuthenticate).toBe(
      `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="the access token is bound to a client certificate, and none was presented"`,
    );
    // An unbound token needs no certificate.
    expect((await call(`${api.url}/orders`, { authorization: `Bearer ${await issuer.sign()}` })).status).toBe(200);
    await api.close();
  });
});
