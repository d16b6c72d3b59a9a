// OpenID Connect Back-Channel Logout 1.0 (issue 19): a client registers backchannel_logout_uri
// (the CLI's --backchannel-logout-uri); when the user signs out at /session/end, the client gets
// a logout token POSTed from the outbox, and one that was down gets it on a retry. The receiving
// app is a real HTTP server; it verifies the token with jose against Tessera's /jwks, as §2.6 says.
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createUser } from '../hardening/support.ts';
import { eventually } from '../setup/eventually.ts';
import { authorize, get, newJar } from '../setup/sign-in.ts';
import { LOGOUT_EVENT as EVENT, logoutTokensFor, SLOW } from '../setup/logout-receiver.ts';
import { startTestServer, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { type Receiver, startReceiver } from '../setup/webhook-receiver.ts';

const REDIRECT = 'https://app.example.test/callback';
const AFTER = 'https://app.example.test/signed-out';
// The outbox's first retry comes 10 s (±20 %) after a failure (outbox/worker.ts): the test moves
// Tessera's clock past it instead of waiting.
const PAST_FIRST_BACKOFF_MS = 13_000;
const options = { [oauth.allowInsecureRequests]: true };
let server: TestServer;
let receiver: Receiver;
let clockOffset = 0;
let client: { client_id: string; client_secret?: string };

beforeAll(async () => {
  server = await startTestServer({ DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true' }, { clock: () => Date.now() + clockOffset });
  receiver = await startReceiver();
  client = await createClient([
    '--grant-types',
    'authorization_code',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--post-logout-redirect-uri',
    AFTER,
    '--scope',
    'openid',
    '--backchannel-logout-uri',
    receiver.url,
  ]);
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

/** Signs a new user in and out again (RP-initiated logout); returns the ID token's claims. */
async function signInAndOut(): Promise<oauth.IDToken> {
  const as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  const rp: oauth.Client = { client_id: client.client_id };
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: rp.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const jar = newJar();
  const callback = await authorize(url, await createUser(), jar);
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    rp,
    await oauth.authorizationCodeGrantRequest(
      as,
      rp,
      oauth.ClientSecretBasic(client.client_secret!),
      oauth.validateAuthResponse(as, rp, callback),
      REDIRECT,
      verifier,
      options,
    ),
  );
  const claims = oauth.getValidatedIdTokenClaims(tokens)!;
  const page = await get(
    jar,
    `${server.issuer}/session/end?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER })}`,
  );
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const done = await get(jar, `${server.issuer}/session/end/confirm`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  expect(done.status).toBe(303);
  expect(done.headers.get('location')).toBe(AFTER);
  return claims;
}

const tokensFor = (sid: string) => logoutTokensFor(receiver, sid);

describe('back-channel logout', () => {
  it('puts sid in ID tokens and advertises the feature', async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
    const shown = await tesseraJson(['clients', 'show', client.client_id]);
    expect(shown).toMatchObject({ backchannel_logout_uri: receiver.url });
  });

  it('sends the client a logout token it verifies with jose when the user signs out', async () => {
    const idToken = await signInAndOut();
    expect(typeof idToken.sid).toBe('string');
    const [token] = await eventually(() => {
      const found = tokensFor(idToken.sid as string);
      expect(found).toHaveLength(1);
      return found;
    }, SLOW);
    const received = receiver.received.find((r) => r.body.includes(token!))!;
    expect(received.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const { payload, protectedHeader } = await jwtVerify(token!, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), {
      issuer: server.issuer,
      audience: client.client_id,
      typ: 'logout+jwt',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ sub: idToken.sub, sid: idToken.sid, events: { [EVENT]: {} } });
    expect(typeof payload.jti).toBe('string');
    expect(typeof payload.iat).toBe('number');
    expect(payload).not.toHaveProperty('nonce');
  }, 120_000);

  it('delivers on a retry to a client that was down', async () => {
    receiver.answer(503);
    const idToken = await signInAndOut();
    const sid = idToken.sid as string;
    await eventually(() => expect(tokensFor(sid)).toHaveLength(1), SLOW);
    receiver.answer(200);
    clockOffset += PAST_FIRST_BACKOFF_MS;
    const [first, second] = await eventually(() => {
      const found = tokensFor(sid);
      expect(found).toHaveLength(2);
      return found;
    }, SLOW);
    // Signed again for the retry, but the same logout (jti) for the client to de-duplicate.
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const verified = await jwtVerify(second!, jwks, {
      issuer: server.issuer,
      audience: client.client_id,
      typ: 'logout+jwt',
    });
    expect(verified.payload.jti).toBe(decodeJwt(first!).jti);
    expect(verified.payload.sid).toBe(sid);
    // No logout token in the server's logs.
    expect(JSON.stringify(server.logs)).not.toContain(second!);
  }, 120_000);
});
