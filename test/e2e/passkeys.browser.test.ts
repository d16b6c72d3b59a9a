// Passkeys end to end: Chromium with its virtual authenticator (the CDP WebAuthn domain, a
// CTAP2 platform authenticator with resident keys and user verification) registers a passkey on
// /account/passkeys, signs in to an app with the passkey alone (openid-client completes the code
// flow and reads amr/acr), and removes it. Then, over plain HTTP with the same credential's
// private key, assertions a browser would never send: another origin, a replayed challenge, a
// challenge of another sign-in, another user's handle, a forged key, an unknown credential.
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, signIn, startCallbackServer } from '../setup/browser.ts';
import { get, newJar, type Jar } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

let server: TestServer;
let browser: Browser;
let app: Awaited<ReturnType<typeof startCallbackServer>>;
let rp: oidc.Configuration;

beforeAll(async () => {
  // WebAuthn needs a domain as its RP ID: the issuer is http://localhost:<port> (a secure context).
  [server, browser, app] = await Promise.all([
    startTestServer({}, { issuerHost: 'localhost' }),
    launchBrowser(),
    startCallbackServer(),
  ]);
  const client = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Notes',
    '--first-party',
    '--grant-types',
    'authorization_code',
    '--redirect-uri',
    app.redirectUri,
    '--scope',
    'openid email',
  ]);
  rp = await oidc.discovery(
    new URL(server.issuer),
    client.client_id,
    client.client_secret,
    oidc.ClientSecretBasic(client.client_secret),
    { execute: [oidc.allowInsecureRequests] },
  );
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.close();
});

async function createUser() {
  const email = `${randomId('grace')}@example.test`;
  const password = 'correct horse battery';
  const result = await tessera(
    ['--json', 'users', 'create', '--email', email, '--email-verified', '--password-stdin'],
    { input: password },
  );
  expect(result.code).toBe(0);
  return { email, password, id: JSON.parse(result.stdout).id as string };
}

async function authorizationRequest() {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: app.redirectUri,
    scope: 'openid email',
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return { url, verifier, state, nonce };
}

/** Chromium's virtual authenticator on this page: a platform passkey provider with user verification. */
async function virtualAuthenticator(page: Page) {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

interface Key {
  /** base64url */
  credentialId: string;
  privateKey: KeyObject;
  /** base64url of the user handle (the account id) */
  userHandle: string;
}

/** A user with a password session in a new page, and the passkey they added on /account/passkeys. */
async function userWithPasskey(name: string) {
  const user = await createUser();
  const page = await browser.newPage();
  const authenticator = await virtualAuthenticator(page);
  const request = await authorizationRequest();
  const redirected = app.next(page);
  await page.goto(request.url.href);
  await signIn(page, user);
  await redirected;

  await page.goto(`${server.issuer}/account/passkeys`);
  await page.getByText('You have no passkeys yet.').waitFor();
  await page.getByLabel('Name for the new passkey').fill(name);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByRole('button', { name: `Remove ${name}` }).waitFor();
  const [credential] = await authenticator.credentials();
  expect(credential).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
  const key: Key = {
    credentialId: Buffer.from(credential!.credentialId, 'base64').toString('base64url'),
    privateKey: createPrivateKey({ key: Buffer.from(credential!.privateKey, 'base64'), format: 'der', type: 'pkcs8' }),
    userHandle: Buffer.from(credential!.userHandle!, 'base64').toString('base64url'),
  };
  return { user, page, authenticator, key };
}

describe('passkeys in the browser', () => {
  it('adds a passkey, signs in with it alone (amr hwk, code and tokens), renames and removes it', async () => {
    const { user, page, key } = await userWithPasskey('Laptop');
    expect(Buffer.from(key.userHandle, 'base64url').toString()).toBe(user.id);
    await screenshot(page, 'account-passkeys');

    // Without a session, the page sends the browser to sign in first.
    const listed = await get(newJar(), `${server.issuer}/account/passkeys`);
    expect(listed.status).toBe(303);
    expect(listed.headers.get('location')).toMatch(/^\/auth\?client_id=tessera-account&/);

    // A new browser session on the same authenticator: no cookies, no password.
    await page.context().clearCookies();
    const request = await authorizationRequest();
    const redirected = app.next(page);
    await page.goto(request.url.href);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const csp = (await page.request.get(page.url())).headers()['content-security-policy'];
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{24}'; connect-src 'self'$/);
    await screenshot(page, 'login-with-passkey');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const callback = await redirected;
    const tokens = await oidc.authorizationCodeGrant(rp, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), {
      issuer: server.issuer,
      audience: rp.clientMetadata().client_id,
    });
    // Chromium's virtual authenticator makes device-bound (not backed-up) credentials.
    expect(payload).toMatchObject({ sub: user.id, amr: ['hwk', 'mfa'], acr: 'urn:tessera:acr:mfa' });

    // The password now asks for the passkey as a second factor.
    await page.context().clearCookies();
    const twoStep = await authorizationRequest();
    const stepped = app.next(page);
    await page.goto(twoStep.url.href);
    await signIn(page, user);
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await screenshot(page, 'second-factor-passkey');
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    const second = await oidc.authorizationCodeGrant(rp, await stepped, {
      pkceCodeVerifier: twoStep.verifier,
      expectedState: twoStep.state,
      expectedNonce: twoStep.nonce,
    });
    expect(second.claims()).toMatchObject({ sub: user.id, amr: ['pwd', 'hwk', 'mfa'], acr: 'urn:tessera:acr:mfa' });

    // Signed in: the account page is this user's. Rename, then remove.
    await page.goto(`${server.issuer}/account/passkeys`);
    await page.getByLabel('Name', { exact: true }).fill('Old laptop');
    await page.getByRole('button', { name: 'Rename Laptop' }).click();
    await page.getByRole('button', { name: 'Remove Old laptop' }).click();
    await page.getByText('You have no passkeys yet.').waitFor();
    const audit = await tesseraJson<{ type: string; subject: string }[]>([
      'audit',
      '--since',
      '1h',
      '--limit',
      '10000',
    ]);
    expect(audit.filter((e) => e.subject === user.id).map((e) => e.type)).toEqual(
      expect.arrayContaining(['user.passkey_added', 'user.passkey_renamed', 'user.passkey_removed']),
    );

    // The authenticator still offers the removed credential: Tessera no longer knows it.
    await page.context().clearCookies();
    await page.goto((await authorizationRequest()).url.href);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe(
      'That passkey could not be used to sign in. Try again, or use your password.',
    );
    await page.close();
  }, 90_000);
});

// ---- Assertions crafted over HTTP ----

const b64u = (data: Buffer | string) => Buffer.from(data).toString('base64url');
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

/** An authentication response as an authenticator and browser would make it (WebAuthn §6.1, §5.8.1). */
function assertion(
  key: Key,
  challenge: string,
  options: { origin?: string; counter: number; userHandle?: string; rpId?: string },
) {
  const clientDataJSON = JSON.stringify({
    type: 'webauthn.get',
    challenge,
    origin: options.origin ?? server.issuer,
    crossOrigin: false,
  });
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(options.counter);
  // Flags: user present (0x01) and user verified (0x04).
  const authenticatorData = Buffer.concat([sha256(options.rpId ?? 'localhost'), Buffer.from([0x05]), counter]);
  // EdDSA signs the message itself; ECDSA (ES256) its SHA-256, DER-encoded (WebAuthn §6.5.6).
  const digest = key.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const signature = sign(digest, Buffer.concat([authenticatorData, sha256(clientDataJSON)]), key.privateKey);
  return JSON.stringify({
    id: key.credentialId,
    rawId: key.credentialId,
    type: 'public-key',
    response: {
      clientDataJSON: b64u(clientDataJSON),
      authenticatorData: b64u(authenticatorData),
      signature: b64u(signature),
      userHandle: options.userHandle ?? key.userHandle,
    },
    clientExtensionResults: {},
  });
}

/** A sign-in request over HTTP: its interaction, the form's CSRF token, a cookie jar. */
async function interaction() {
  const jar: Jar = newJar();
  const started = await get(jar, (await authorizationRequest()).url.href);
  const at = new URL(started.headers.get('location')!, server.issuer);
  const html = await (await get(jar, at.href)).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  const post = (path: string, fields: Record<string, string>) =>
    get(jar, `${at.href}${path}`, {
      method: 'POST',
      body: new URLSearchParams({ csrf, ...fields }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  return {
    async challenge(): Promise<string> {
      const res = await post('/passkey/options', {});
      expect(res.status).toBe(200);
      const options = (await res.json()) as { challenge: string; rpId: string; userVerification: string };
      expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
      return options.challenge;
    },
    signIn: (credential: string) => post('/passkey', { credential }),
  };
}

describe('passkey assertions a browser would not send', () => {
  let key: Key;
  let counter = 100;
  beforeAll(async () => {
    const made = await userWithPasskey('Phone');
    key = made.key;
    await made.page.close();
  }, 60_000);

  const refused = async (res: Response) => {
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('That passkey could not be used to sign in.');
  };

  it('signs in with a well-made assertion (the crafting is right)', async () => {
    const flow = await interaction();
    const res = await flow.signIn(assertion(key, await flow.challenge(), { counter: ++counter }));
    expect(res.status).toBe(303);
  });

  it('refuses another origin, and the challenge it used is spent', async () => {
    const flow = await interaction();
    const challenge = await flow.challenge();
    await refused(
      await flow.signIn(assertion(key, challenge, { counter: ++counter, origin: 'https://evil.example.test' })),
    );
    // The same challenge, now correctly signed for Tessera's origin: used once already.
    await refused(await flow.signIn(assertion(key, challenge, { counter: ++counter })));
  });

  it('refuses another RP ID, a replayed challenge and a challenge of another sign-in', async () => {
    const flow = await interaction();
    await refused(await flow.signIn(assertion(key, await flow.challenge(), { counter: ++counter, rpId: 'evil.test' })));
    const other = await interaction();
    await refused(await flow.signIn(assertion(key, await other.challenge(), { counter: ++counter })));
    const made = await flow.challenge();
    expect((await flow.signIn(assertion(key, made, { counter: ++counter }))).status).toBe(303);
    const again = await interaction();
    await refused(await again.signIn(assertion(key, made, { counter: ++counter })));
  });

  it('lets exactly one of concurrent uses of a challenge through', async () => {
    const flow = await interaction();
    const challenge = await flow.challenge();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => flow.signIn(assertion(key, challenge, { counter: ++counter }))),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([303, 401, 401, 401, 401, 401]);
  });

  it("refuses another user's handle, a forged key and an unknown credential", async () => {
    const other = await createUser();
    const flow = await interaction();
    await refused(
      await flow.signIn(assertion(key, await flow.challenge(), { counter: ++counter, userHandle: b64u(other.id) })),
    );
    const forged = { ...key, privateKey: generateKeyPairSync('ed25519').privateKey };
    await refused(await flow.signIn(assertion(forged, await flow.challenge(), { counter: ++counter })));
    const unknown = { ...forged, credentialId: b64u(randomId('credential')) };
    await refused(await flow.signIn(assertion(unknown, await flow.challenge(), { counter: ++counter })));
    // A counter that does not move forward (a cloned authenticator).
    await refused(await flow.signIn(assertion(key, await flow.challenge(), { counter: 1 })));
    // And garbage in place of a credential: the sign-in page again, no 500.
    const garbage = await flow.signIn('{"id":1}');
    expect(garbage.status).toBe(400);
  });
});
