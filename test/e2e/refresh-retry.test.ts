// Graceful refresh retries (issue 21): a client that lost the answer to a refresh and presents
// the same refresh token again within REFRESH_TOKEN_REUSE_GRACE gets the answer it lost (the same
// new refresh token, an access token for the same grant), at most REFRESH_TOKEN_RETRY_LIMIT
// times; past the count it is refused and the family lives. Past the window it is reuse: the
// family is revoked, audited and counted.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../setup/eventually.ts';
import { authorize } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const REDIRECT = 'https://app.example.test/callback';
const METRICS_TOKEN = 'metrics-token-for-tests-only';
// One winner and nine retries: the concurrency test below presents one token ten times at once.
const RETRY_LIMIT = 9;
const GRACE_MS = 2_000;
const options = { [oauth.allowInsecureRequests]: true };
let server: TestServer;
let as: oauth.AuthorizationServer;
let audience: string;
// Tessera's clock (src/clock.ts): the window test moves it on instead of waiting.
let clockOffset = 0;

beforeAll(async () => {
  server = await startTestServer(
    {
      METRICS_TOKEN,
      REFRESH_TOKEN_RETRY_LIMIT: String(RETRY_LIMIT),
      REFRESH_TOKEN_REUSE_GRACE: String(GRACE_MS / 1000),
    },
    { clock: () => Date.now() + clockOffset },
  );
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  audience = `https://${randomId('files')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'files:read']);
});
afterAll(() => server?.close());

interface Family {
  email: string;
  client: oauth.Client;
  secret: string;
  refresh_token: string;
}

/** A user, a confidential client and the refresh token of a fresh sign-in. */
async function family(): Promise<Family> {
  const email = `${randomId('retry')}@example.test`;
  const password = 'correct horse battery';
  expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: password })).code).toBe(0);
  const created = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'Files',
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid email offline_access files:read',
  ]);
  const client = { client_id: created.client_id };
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid email offline_access files:read',
    prompt: 'consent',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await authorize(url, { email, password });
  const s = { email, client, secret: created.client_secret, refresh_token: '' };
  const { body } = await token(s, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
  });
  return { ...s, refresh_token: body.refresh_token as string };
}

async function token(s: Pick<Family, 'client' | 'secret'>, body: Record<string, string>) {
  const res = await fetch(as.token_endpoint!, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${s.client.client_id}:${s.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const refresh = (s: Family, refreshToken = s.refresh_token) =>
  token(s, { grant_type: 'refresh_token', refresh_token: refreshToken });

const INVALID_GRANT = { status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } };

async function introspect(accessToken: string) {
  const rs = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'files-api',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--serves',
    audience,
  ]);
  const res = await oauth.introspectionRequest(
    as,
    { client_id: rs.client_id },
    oauth.ClientSecretBasic(rs.client_secret),
    accessToken,
    options,
  );
  return (await res.json()) as Record<string, unknown>;
}

/** A counter without labels, as /metrics shows it now. */
async function metric(name: string) {
  const text = await (
    await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('a refresh retried within the grace window', { timeout: 120_000 }, () => {
  it('gets the same refresh token and an access token for the same grant, and the family lives on', async () => {
    const s = await family();
    const retriesBefore = await metric('tessera_refresh_token_retry_total');
    const first = await refresh(s);
    expect(first.status).toBe(200);
    const again = await refresh(s);
    expect(again.status).toBe(200);
    expect(again.body.refresh_token).toBe(first.body.refresh_token);
    expect(again.body).toMatchObject({
      token_type: first.body.token_type,
      scope: first.body.scope,
      expires_in: first.body.expires_in,
    });
    const [a, b] = [
      await introspect(first.body.access_token as string),
      await introspect(again.body.access_token as string),
    ];
    expect(a.active).toBe(true);
    expect(b).toMatchObject({ active: true, client_id: a.client_id, sub: a.sub, scope: a.scope, aud: a.aud });
    expect(await metric('tessera_refresh_token_retry_total')).toBe(retriesBefore + 1);
    // The answer it lost is the family's newest token: it rotates as usual.
    const next = await refresh(s, first.body.refresh_token as string);
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).not.toBe(first.body.refresh_token);
  });

  it('is answered at most REFRESH_TOKEN_RETRY_LIMIT times; beyond that it is refused and the family lives', async () => {
    const s = await family();
    const first = await refresh(s);
    for (let i = 0; i < RETRY_LIMIT; i++) {
      const again = await refresh(s);
      expect(again.status, `retry ${i + 1}`).toBe(200);
      expect(again.body.refresh_token).toBe(first.body.refresh_token);
    }
    expect(await refresh(s)).toEqual(INVALID_GRANT);
    // Many presentations inside the window are a client racing itself (tabs), not a thief: the
    // successor still works.
    expect((await introspect(first.body.access_token as string)).active).toBe(true);
    expect((await refresh(s, first.body.refresh_token as string)).status).toBe(200);
  });

  it('after the window is reuse: the family is revoked, audited and counted', async () => {
    const s = await family();
    const since = new Date().toISOString();
    const reusesBefore = await metric('tessera_refresh_token_reuse_total');
    const first = await refresh(s);
    clockOffset += GRACE_MS + 1;
    expect(await refresh(s)).toEqual(INVALID_GRANT);
    expect(await refresh(s, first.body.refresh_token as string)).toEqual(INVALID_GRANT);
    expect(await metric('tessera_refresh_token_reuse_total')).toBe(reusesBefore + 1);
    // Audit writes after a response are not awaited by it: polled.
    await eventually(async () => {
      const events = await tesseraJson<{ type: string; actor: string }[]>(['audit', '--since', since]);
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'refresh_token.reuse_detected', actor: s.client.client_id }),
      );
    });
  });

  it('is refused once the family was revoked', async () => {
    const s = await family();
    const first = await refresh(s);
    expect(first.status).toBe(200);
    const [grant] = await tesseraJson<{ grant_id: string }[]>(['grants', 'list', s.email]);
    await tesseraJson(['grants', 'revoke', grant!.grant_id]);
    expect(await refresh(s)).toEqual(INVALID_GRANT);
  });

  it('from another client is not a retry', async () => {
    const s = await family();
    const other = await family();
    const first = await refresh(s);
    expect(first.status).toBe(200);
    expect(await refresh({ ...other, refresh_token: s.refresh_token })).toEqual(INVALID_GRANT);
    // The owner's retry still gets its answer.
    expect((await refresh(s)).body.refresh_token).toBe(first.body.refresh_token);
  });

  it('ten concurrent presentations of one refresh token all get the one successor', async () => {
    const s = await family();
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(s)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const successors = new Set(results.map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
    const [successor] = successors as Set<string>;
    expect(successor).not.toBe(s.refresh_token);
    const next = await refresh(s, successor);
    expect(next.status).toBe(200);
  });
});
