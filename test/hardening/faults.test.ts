// Faults: PostgreSQL stopped under load and started again, and a Tessera process killed in the
// middle of a flow. On a PostgreSQL of this file's own, so that stopping it disturbs no other
// test file.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { eventually } from '../setup/eventually.ts';
import { startServerProcess, type ServerProcess } from '../setup/server-process.ts';
import { authorize, get, newJar } from '../setup/sign-in.ts';
import { startTestServer, testEnv, type TestServer } from '../setup/tessera.ts';
import {
  approveDevice,
  basic,
  createApi,
  createClient,
  createUser,
  form,
  ownPostgres,
  type OwnPostgres,
} from './support.ts';

const REDIRECT = 'https://app.example.test/callback';
const UNAVAILABLE = {
  error: 'temporarily_unavailable',
  error_description: 'the database is unavailable; retry shortly',
};
// A request while the database is down must be answered well inside a client's usual timeout:
// a refused connection fails at once, and the pool gives up connecting after 2 s (db/client.ts).
const FAIL_FAST_MS = 3_000;

let db: OwnPostgres;
let audience: string;

beforeAll(async () => {
  db = await ownPostgres();
  audience = await createApi('faults:read', db.url);
}, 120_000);
afterAll(() => db?.destroy());

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | null;
  type: string;
  body: string;
}

async function timed(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, { redirect: 'manual', ...init, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  return {
    status: res.status,
    ms: performance.now() - started,
    retryAfter: res.headers.get('retry-after'),
    type: res.headers.get('content-type') ?? '',
    body,
  };
}

async function codeFlowClient(issuer: string, prompt: Record<string, string> = {}) {
  const user = await createUser(db.url);
  const client = await createClient(
    [
      '--grant-types',
      'authorization_code,refresh_token',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--api',
      audience,
      '--scope',
      'openid offline_access faults:read',
    ],
    db.url,
  );
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid offline_access faults:read',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...prompt,
  }).toString();
  return { user, client, verifier, url, auth: basic(client.client_id, client.client_secret!) };
}

/** Three clients sending `request` back to back until stopped; every answer is kept. */
function startLoad(request: () => Promise<Answer>) {
  const answers: Answer[] = [];
  let running = true;
  const workers = Array.from({ length: 3 }, async () => {
    while (running) {
      // A failed connection is an answer too (status 0), and fails the test below.
      answers.push(
        await request().catch((err: unknown) => ({ status: 0, ms: 0, retryAfter: null, type: '', body: String(err) })),
      );
    }
  });
  return {
    /** Resolves once `count` more answers with `status` have arrived (polled). */
    async answered(status: number, count = 3) {
      const seen = answers.filter((a) => a.status === status).length;
      await eventually(
        () => expect(answers.filter((a) => a.status === status).length).toBeGreaterThanOrEqual(seen + count),
        { timeoutMs: 15_000 },
      );
    },
    async stop() {
      running = false;
      await Promise.all(workers);
      return answers;
    },
  };
}

describe('PostgreSQL stopped under load and started again', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ DATABASE_URL: db.url });
  });
  afterAll(() => server?.close());

  it('answers 503 temporarily_unavailable fast while it is down, reports it at /readyz, and recovers with no restart; refresh tokens survive', async () => {
    const issuer = server.issuer;
    const service = await createClient(
      ['--grant-types', 'client_credentials', '--api', audience, '--scope', 'faults:read'],
      db.url,
    );
    const serviceAuth = basic(service.client_id, service.client_secret!);
    const clientCredentials = () =>
      timed(`${issuer}/token`, {
        ...form({ grant_type: 'client_credentials', scope: 'faults:read' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: serviceAuth },
      });

    // Issued before the outage: a refresh token and an access token.
    const app = await codeFlowClient(issuer, { prompt: 'consent' });
    const callback = await authorize(app.url, app.user);
    // And a sign-in under way in a browser.
    const browser = newJar();
    const interaction = (await get(browser, app.url.href)).headers.get('location')!;
    const issued = await timed(`${issuer}/token`, {
      ...form({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT,
        code_verifier: app.verifier,
      }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: app.auth },
    });
    expect(issued.status).toBe(200);
    const before = JSON.parse(issued.body) as { access_token: string; refresh_token: string };
    const refresh = (token: string) =>
      timed(`${issuer}/token`, {
        ...form({ grant_type: 'refresh_token', refresh_token: token }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: app.auth },
      });

    // A steady load of token requests across the whole outage.
    const loading = startLoad(clientCredentials);
    onTestFinished(async () => {
      await loading.stop();
    });
    await loading.answered(200);

    await db.stop();
    try {
      // Every kind of endpoint: Tessera's own middleware (the token endpoint's rate limit),
      // oidc-provider's endpoints (introspection, userinfo, device authorization, authorization)
      // and Tessera's pages (an interaction).
      const down = {
        token: await clientCredentials(),
        refresh: await refresh(before.refresh_token),
        introspection: await timed(`${issuer}/token/introspection`, {
          ...form({ token: before.access_token }),
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: app.auth },
        }),
        userinfo: await timed(`${issuer}/me`, { headers: { authorization: `Bearer ${before.access_token}` } }),
        device: await timed(`${issuer}/device/auth`, { ...form({ client_id: app.client.client_id, scope: 'openid' }) }),
      };
      for (const [name, answer] of Object.entries(down)) {
        expect({ name, status: answer.status, body: JSON.parse(answer.body), retryAfter: answer.retryAfter }).toEqual({
          name,
          status: 503,
          body: UNAVAILABLE,
          retryAfter: '5',
        });
        expect(answer.ms, name).toBeLessThan(FAIL_FAST_MS);
      }
      // A person's browser gets a page, not JSON, with the same status.
      const pages = {
        authorization: await timed(app.url.href, { headers: { accept: 'text/html' } }),
        interaction: await get(browser, new URL(interaction, issuer).href, { headers: { accept: 'text/html' } }).then(
          async (res) => ({
            status: res.status,
            ms: 0,
            retryAfter: res.headers.get('retry-after'),
            type: res.headers.get('content-type') ?? '',
            body: await res.text(),
          }),
        ),
      };
      for (const [name, page] of Object.entries(pages)) {
        expect({ name, status: page.status, type: page.type, retryAfter: page.retryAfter }).toEqual({
          name,
          status: 503,
          type: 'text/html; charset=utf-8',
          retryAfter: '5',
        });
        expect(page.body).toContain('<code>temporarily_unavailable</code>');
        expect(page.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
        expect(page.ms, name).toBeLessThan(FAIL_FAST_MS);
      }
      const ready = await timed(`${issuer}/readyz`);
      expect({ status: ready.status, body: JSON.parse(ready.body) }).toEqual({
        status: 503,
        body: { status: 'unavailable', reason: 'database unreachable' },
      });
      expect((await timed(`${issuer}/healthz`)).status).toBe(200);
      await loading.answered(503); // the load keeps hitting the outage
    } finally {
      await db.start();
    }

    // Back by itself: ready again within seconds, with the same process.
    await eventually(async () => expect((await timed(`${issuer}/readyz`)).status).toBe(200), {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    await loading.answered(200);
    const load = await loading.stop();

    expect((await clientCredentials()).status).toBe(200);
    const rotated = await refresh(before.refresh_token);
    expect(rotated.status).toBe(200);
    expect(JSON.parse(rotated.body)).toMatchObject({
      refresh_token: expect.any(String),
      access_token: expect.any(String),
    });

    // The load saw successes, then fast 503s, then successes: never a 500, never a hang.
    const statuses = new Set(load.map((a) => a.status));
    expect([...statuses].sort()).toEqual([200, 503]);
    for (const failed of load.filter((a) => a.status !== 200)) {
      expect(JSON.parse(failed.body)).toEqual(UNAVAILABLE);
      expect(failed.retryAfter).toBe('5');
    }
    expect(Math.max(...load.map((a) => a.ms))).toBeLessThan(FAIL_FAST_MS);
    expect(load.at(-1)!.status).toBe(200);
  }, 90_000);
});

describe('a Tessera process killed in the middle of a flow', () => {
  // Two replicas behind one public address: the issuer is the same, the ports differ.
  let a: ServerProcess;
  let b: ServerProcess;
  let issuer: string;
  let origins: { a: string; b: string };

  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${portA}`;
    origins = { a: issuer, b: `http://127.0.0.1:${portB}` };
    const env = (port: number) => ({
      ...testEnv({ DATABASE_URL: db.url }),
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      DEVICE_POLL_INTERVAL: '1',
    });
    [a, b] = await Promise.all([startServerProcess(env(portA), origins.a), startServerProcess(env(portB), origins.b)]);
  }, 60_000);
  afterAll(async () => {
    await a?.kill();
    await b?.stop();
  });

  it('after sign-in and before the code is redeemed: the other replica issues and redeems the code', async () => {
    const app = await codeFlowClient(origins.a);
    const jar = newJar();
    const started = await get(jar, app.url.href);
    expect(started.status).toBe(303);
    const interaction = new URL(started.headers.get('location')!, origins.a);
    const html = await (await get(jar, interaction.href)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const signedIn = await get(
      jar,
      `${interaction.href}/login`,
      form({ csrf, email: app.user.email, password: app.user.password }),
    );
    expect(signedIn.status).toBe(303);
    const resume = new URL(signedIn.headers.get('location')!, origins.a);

    await a.kill(); // SIGKILL: nothing drained, nothing flushed

    // The browser, sent to the surviving replica, resumes the authorization request there.
    const resumed = await get(jar, `${origins.b}${resume.pathname}${resume.search}`);
    expect(resumed.status).toBe(303);
    const callback = new URL(resumed.headers.get('location')!);
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT);
    const code = callback.searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    const res = await fetch(`${origins.b}/token`, {
      ...form({ grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, code_verifier: app.verifier }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: app.auth },
    });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as { id_token: string; access_token: string };
    const idToken = JSON.parse(Buffer.from(tokens.id_token.split('.')[1]!, 'base64url').toString()) as {
      iss: string;
      aud: string;
    };
    expect(idToken).toMatchObject({ iss: issuer, aud: app.client.client_id });
    expect(tokens.access_token).toEqual(expect.any(String));
  }, 60_000);

  it('a device approved on one replica, polled after it died: the other replica hands out the tokens', async () => {
    // `a` is dead after the test above if it ran; this test brings up its own first replica.
    const port = await freePort();
    const first = await startServerProcess(
      {
        ...testEnv({ DATABASE_URL: db.url }),
        PORT: String(port),
        HOST: '127.0.0.1',
        ISSUER: issuer,
        DEVICE_POLL_INTERVAL: '1',
      },
      `http://127.0.0.1:${port}`,
    );
    try {
      const user = await createUser(db.url);
      const device = await createClient(
        [
          '--grant-types',
          'device_code,refresh_token',
          '--public',
          '--api',
          audience,
          '--scope',
          'openid offline_access faults:read',
        ],
        db.url,
      );
      const res = await fetch(
        `${first.issuer}/device/auth`,
        form({ client_id: device.client_id, scope: 'openid offline_access faults:read' }),
      );
      expect(res.status).toBe(200);
      const started = (await res.json()) as { device_code: string; verification_uri_complete: string };
      await approveDevice(newJar(), first.issuer, started.verification_uri_complete, user);

      await first.kill();

      const polled = await fetch(
        `${origins.b}/token`,
        form({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: started.device_code,
          client_id: device.client_id,
        }),
      );
      expect(polled.status).toBe(200);
      expect(await polled.json()).toMatchObject({
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        id_token: expect.any(String),
        token_type: 'Bearer',
      });
    } finally {
      await first.kill();
    }
  }, 60_000);
});
