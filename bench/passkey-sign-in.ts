// Sign-ins per second with a passkey alone against a password alone: each sign-in is a whole
// authorization request in a fresh cookie jar, from /auth to the code at the app's callback. The
// password sign-in posts the login form (argon2id); the passkey sign-in asks for a challenge and
// posts an assertion signed here with an Ed25519 key whose public half is stored as a passkey
// (the same checks as a browser's: challenge consumed, signature, origin, RP ID, counter).
//
//   TEST_DATABASE_URL=postgresql://… node bench/passkey-sign-in.ts [seconds=10] [concurrency=4]
//
// A measurement, not a test: the figures depend on the machine and its load; compare the two
// rates of one run.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import * as oidc from 'openid-client';
import { createQueries } from '../src/db/queries/index.ts';
import { authorize, get, newJar } from '../test/setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson } from '../test/setup/tessera.ts';

const SECONDS = Number(process.argv[2] ?? 10);
const CONCURRENCY = Number(process.argv[3] ?? 4);
const REDIRECT = 'https://app.example.test/callback';

const server = await startTestServer(
  // The sign-in limits would stop a benchmark from one address after a few dozen sign-ins.
  { RATE_LIMIT_LOGIN_PER_IP: '100000000', RATE_LIMIT_LOGIN_FAILURES: '100000000' },
  { issuerHost: 'localhost' },
);
try {
  const client = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Bench',
    '--first-party',
    '--grant-types',
    'authorization_code',
    '--redirect-uri',
    REDIRECT,
    '--scope',
    'openid',
  ]);
  const rp = new oidc.Configuration(
    { issuer: server.issuer, authorization_endpoint: `${server.issuer}/auth` },
    client.client_id,
  );
  const user = { email: `${randomId('bench')}@example.test`, password: 'correct horse battery' };
  const created = await tessera(['--json', 'users', 'create', '--email', user.email, '--password-stdin'], {
    input: user.password,
  });
  const userId = JSON.parse(created.stdout).id as string;

  // A passkey stored as registration would store it: the COSE key (RFC 9053 §7.2, OKP Ed25519).
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const cose = Buffer.concat([Buffer.from([0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20]), x]);
  const credentialId = randomId('bench-credential');
  const queries = createQueries(server.db);
  await queries.passkeys.add(userId, {
    credentialId: Buffer.from(credentialId).toString('base64url'),
    publicKey: cose,
    counter: 0,
    deviceType: 'singleDevice',
    backedUp: false,
    transports: ['internal'],
    aaguid: '00000000-0000-0000-0000-000000000000',
    name: 'bench',
  });

  const authUrl = () =>
    oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: createHash('sha256').update(randomId('v')).digest('base64url'),
      code_challenge_method: 'S256',
    });

  async function passwordSignIn(): Promise<void> {
    const back = await authorize(authUrl(), user);
    if (!back.searchParams.get('code')) throw new Error(`no code: ${back}`);
  }

  async function passkeySignIn(): Promise<void> {
    const jar = newJar();
    const started = await get(jar, authUrl().href);
    const at = new URL(started.headers.get('location')!, server.issuer);
    const html = await (await get(jar, at.href)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const options = await get(jar, `${at.href}/passkey/options`, {
      method: 'POST',
      body: new URLSearchParams({ csrf }),
      headers: form,
    });
    const { challenge } = (await options.json()) as { challenge: string };
    const clientDataJSON = JSON.stringify({ type: 'webauthn.get', challenge, origin: server.issuer });
    // RP ID hash, flags UP|UV, counter 0 (an authenticator without a counter).
    const authenticatorData = Buffer.concat([
      createHash('sha256').update('localhost').digest(),
      Buffer.from([0x05, 0, 0, 0, 0]),
    ]);
    const signature = sign(
      null,
      Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]),
      privateKey,
    );
    const id = Buffer.from(credentialId).toString('base64url');
    const credential = JSON.stringify({
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: Buffer.from(clientDataJSON).toString('base64url'),
        authenticatorData: authenticatorData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: Buffer.from(userId).toString('base64url'),
      },
      clientExtensionResults: {},
    });
    let res = await get(jar, `${at.href}/passkey`, {
      method: 'POST',
      body: new URLSearchParams({ csrf, credential }),
      headers: form,
    });
    for (let hops = 0; res.status === 303 || res.status === 302; hops++) {
      const next = new URL(res.headers.get('location')!, server.issuer);
      if (next.origin !== server.issuer) {
        if (!next.searchParams.get('code')) throw new Error(`no code: ${next}`);
        return;
      }
      if (hops > 5) break;
      res = await get(jar, next.href);
    }
    throw new Error(`passkey sign-in answered ${res.status}`);
  }

  async function rate(name: string, signIn: () => Promise<void>): Promise<number> {
    await signIn(); // warm up
    let done = 0;
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < until) {
          await signIn();
          done++;
        }
      }),
    );
    const perSecond = done / SECONDS;
    console.log(`${name}: ${done} sign-ins in ${SECONDS} s, ${perSecond.toFixed(1)}/s (concurrency ${CONCURRENCY})`);
    return perSecond;
  }

  const password = await rate('password', passwordSignIn);
  const passkey = await rate('passkey', passkeySignIn);
  console.log(`passkey / password: ${(passkey / password).toFixed(2)}`);
} finally {
  await server.close();
}
