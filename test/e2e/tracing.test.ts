// OpenTelemetry traces (src/tracing/): Tessera as its own process with OTEL_EXPORTER_OTLP_ENDPOINT
// set exports its spans over real OTLP/HTTP (JSON) to a receiver started here. Each token request
// carries a W3C traceparent, as from a load balancer; the test checks the spans' names, that the
// server span is the incoming span's child and the provider's steps the server span's
// descendants, and that no token, secret, code, password or cookie is anywhere in what was sent.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { eventually } from '../setup/eventually.ts';
import { startServerProcess, type ServerProcess } from '../setup/server-process.ts';
import { authorize, newJar } from '../setup/sign-in.ts';
import { randomId, tessera, tesseraJson, testEnv } from '../setup/tessera.ts';
import { startReceiver as startWebhookReceiver } from '../setup/webhook-receiver.ts';
import { createClient, createUser } from '../hardening/support.ts';

/** A span as OTLP/JSON carries it (opentelemetry-proto's JSON mapping: ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}
const SPAN_KIND_SERVER = 2;

/** An OTLP/HTTP trace receiver (POST /v1/traces, JSON): every body as received, and the spans. */
async function startReceiver() {
  const bodies: string[] = [];
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.includes('json')) {
        res.writeHead(404).end();
        return;
      }
      bodies.push(body);
      const parsed = JSON.parse(body) as {
        resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
      };
      for (const rs of parsed.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      // OTLP/HTTP: a full success is 200 with an ExportTraceServiceResponse.
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
};

/** A W3C traceparent (version 00, sampled), as a load balancer would send. */
function incomingTrace() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const REDIRECT = 'https://app.example.test/callback';
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let server: ProcessServer;
type ProcessServer = ServerProcess;
let audience: string;
// Every credential the flows below use or receive: none may appear in any exported byte.
const secrets: string[] = [];

beforeAll(async () => {
  receiver = await startReceiver();
  audience = `https://${randomId('traced')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'traced:read']);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  server = await startServerProcess(
    {
      ...testEnv(),
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'tessera-tracing-test',
      // The webhook receiver below listens on loopback.
      DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
      // The batch is sent every 100 ms (the default 5 s would only slow the test down).
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
    issuer,
  );
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await receiver?.close();
});

/** The spans of one trace, once the server span and every span named in `names` have arrived. */
async function traceOf(traceId: string, names: string[]): Promise<OtlpSpan[]> {
  return eventually(
    async () => {
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      const have = new Set(spans.map((s) => s.name));
      return names.every((n) => have.has(n)) && spans;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  ).catch(() => {
    const got = receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name);
    throw new Error(`trace ${traceId}: wanted ${names.join(', ')}; got ${got.join(', ')}\n${server.output()}`);
  });
}

/** The trace's server span, checked to be the incoming span's child, and its descendants' check. */
function checkParentage(spans: OtlpSpan[], incoming: { traceId: string; spanId: string }, route: string) {
  const servers = spans.filter((s) => s.kind === SPAN_KIND_SERVER);
  expect(servers).toHaveLength(1);
  const root = servers[0]!;
  expect(root.parentSpanId).toBe(incoming.spanId);
  expect(root.name).toBe(`POST ${route}`);
  expect(attribute(root, 'http.request.method')).toBe('POST');
  expect(attribute(root, 'http.route')).toBe(route);
  expect(Number(attribute(root, 'http.response.status_code'))).toBe(200);
  // Every other span descends from the server span within this trace.
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (const span of spans) {
    if (span === root) continue;
    let at: OtlpSpan | undefined = span;
    const seen = new Set<string>();
    while (at && at !== root && !seen.has(at.spanId)) {
      seen.add(at.spanId);
      at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined;
    }
    expect(at, `${span.name} descends from the server span`).toBe(root);
  }
  const named = (name: string) => spans.filter((s) => s.name === name);
  return { root, named };
}

async function tokenRequest(body: Record<string, string>, basic: string, traceparent: string) {
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${basic}`,
      traceparent,
    },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe('traces over OTLP/HTTP', () => {
  it('client credentials: a server span under the incoming traceparent, client authentication, grant, signing', async () => {
    const client = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'traced-service',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'traced:read',
    ]);
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    secrets.push(client.client_secret, basic);
    const incoming = incomingTrace();
    const res = await tokenRequest(
      { grant_type: 'client_credentials', scope: 'traced:read' },
      basic,
      incoming.traceparent,
    );
    expect(res.status).toBe(200);
    secrets.push(res.body.access_token!);

    const spans = await traceOf(incoming.traceId, [
      'POST /token',
      'client authentication',
      'grant client_credentials',
      'sign access_token',
    ]);
    const { root, named } = checkParentage(spans, incoming, '/token');
    const [auth] = named('client authentication');
    const [grant] = named('grant client_credentials');
    expect(auth!.parentSpanId).toBe(root.spanId);
    expect(grant!.parentSpanId).toBe(root.spanId);
    expect(attribute(grant!, 'oauth.grant_type')).toBe('client_credentials');
    expect(named('sign access_token')[0]!.parentSpanId).toBe(grant!.spanId);
  });

  it('authorization code and refresh: the provider’s client authentication, grants, adapter queries and signing', async () => {
    const email = `${randomId('traced')}@example.test`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    expect((await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: password })).code).toBe(
      0,
    );
    const client = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'traced-app',
      '--grant-types',
      'authorization_code,refresh_token',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--api',
      audience,
      '--scope',
      'openid email offline_access traced:read',
    ]);
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    secrets.push(password, client.client_secret, basic);

    const verifier = oauth.generateRandomCodeVerifier();
    const authUrl = new URL(`${server.issuer}/auth`);
    authUrl.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid email offline_access traced:read',
      prompt: 'consent',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource: audience,
    }).toString();
    const jar = newJar();
    const callback = await authorize(authUrl, { email, password }, jar);
    const code = callback.searchParams.get('code')!;
    expect(code).toBeTruthy();
    // The session and interaction cookies (their signatures too); short flags are not credentials.
    secrets.push(code, verifier, ...[...jar.cookies.values()].filter((v) => v.length >= 16));

    const first = incomingTrace();
    const tokens = await tokenRequest(
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
      basic,
      first.traceparent,
    );
    expect(tokens.status).toBe(200);
    secrets.push(tokens.body.access_token!, tokens.body.refresh_token!, tokens.body.id_token!);

    const codeSpans = await traceOf(first.traceId, [
      'POST /token',
      'client authentication',
      'grant authorization_code',
      'adapter.consume AuthorizationCode',
      'sign access_token',
      'sign id_token',
    ]);
    const code1 = checkParentage(codeSpans, first, '/token');
    const [auth] = code1.named('client authentication');
    expect(auth!.parentSpanId).toBe(code1.root.spanId);
    expect(attribute(auth!, 'oauth.client_id')).toBe(client.client_id);
    expect(attribute(auth!, 'oauth.client_auth_method')).toBe('client_secret_basic');
    const [grant] = code1.named('grant authorization_code');
    expect(grant!.parentSpanId).toBe(code1.root.spanId);
    expect(code1.named('adapter.consume AuthorizationCode')[0]!.parentSpanId).toBe(grant!.spanId);
    expect(attribute(code1.named('adapter.consume AuthorizationCode')[0]!, 'db.operation.name')).toBe('consume');

    const second = incomingTrace();
    const refreshed = await tokenRequest(
      { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! },
      basic,
      second.traceparent,
    );
    expect(refreshed.status).toBe(200);
    secrets.push(refreshed.body.access_token!, refreshed.body.refresh_token!, refreshed.body.id_token!);
    const refreshSpans = await traceOf(second.traceId, [
      'POST /token',
      'client authentication',
      'grant refresh_token',
      'adapter.find RefreshToken',
      'adapter.consume RefreshToken',
      'sign access_token',
    ]);
    const refresh = checkParentage(refreshSpans, second, '/token');
    expect(refresh.named('grant refresh_token')[0]!.parentSpanId).toBe(refresh.root.spanId);

    // The browser's requests were traced too (no traceparent: new traces), under route templates.
    await eventually(() => receiver.spans.some((s) => s.name === 'GET /auth'), { timeoutMs: 10_000, intervalMs: 50 });
    expect(receiver.spans.some((s) => s.name === 'POST /interaction/:uid/login')).toBe(true);
  });

  it('passes the trace on to the webhook deliveries an event of the traced request causes (traceparent)', async () => {
    const hooks = await startWebhookReceiver();
    try {
      await tesseraJson(['webhooks', 'create', '--url', hooks.url, '--events', 'user.login.failed'], {
        ISSUER: server.issuer,
        DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
      });
      const user = await createUser();
      const client = await createClient(['--grant-types', 'authorization_code', '--redirect-uri', REDIRECT]);
      const url = new URL(`${server.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
        code_challenge_method: 'S256',
      }).toString();
      // Every request of the sign-in carries the incoming trace; the wrong password's is the event's.
      const incoming = incomingTrace();
      await expect(
        authorize(url, { email: user.email, password: 'not the password' }, newJar(), {
          traceparent: incoming.traceparent,
        }),
      ).rejects.toThrow('401');
      const delivery = await eventually(
        () => hooks.received.find((r) => r.headers['tessera-event-type'] === 'user.login.failed') ?? false,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const [version, traceId, spanId, flags] = String(delivery.headers.traceparent).split('-');
      expect({ version, traceId, flags }).toEqual({ version: '00', traceId: incoming.traceId, flags: '01' });
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(spanId).not.toBe(incoming.spanId);
    } finally {
      await hooks.close();
    }
  }, 120_000);

  it('puts no token, secret, code, password, cookie or Authorization header in any exported byte', async () => {
    expect(secrets.length).toBeGreaterThan(10);
    const exported = receiver.bodies.join('\n');
    expect(exported.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(8);
      expect(exported.includes(secret), 'a credential was exported').toBe(false);
    }
    // Nor any URL or header: no query strings, no paths with handles, no header values.
    const keys = new Set(receiver.spans.flatMap((s) => (s.attributes ?? []).map((a) => a.key)));
    for (const key of keys)
      expect(key).not.toMatch(/^(url\.(full|query|path)|http\.request\.header|http\.response\.header)/);
    expect(exported).not.toMatch(/[?&](code|state|client_secret)=/);
  });
});
