// Hostile input: generated and malformed requests (fast-check) at every endpoint that takes
// input from the network, and every HTTP method with and without hostile parameters at every
// route the running server has. Whatever arrives, the answer is a 2xx/3xx/4xx with an RFC 6749
// §5.2 JSON error or an HTML page: never a 5xx, never a stack trace, never a hang; and afterwards
// the process is healthy and its heap is where it was.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type Router from '@koa/router';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCOVERY_PATH } from '../../src/oidc/provider-config.ts';
import { ADMIN_SCOPES } from '../../src/services/admin-api.ts';
import { adminToken, createAdminClient, createConsoleAdmin } from '../setup/admin.ts';
import { newJar, signInAtPage, type Jar } from '../setup/sign-in.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import { authorizeWith, basic, createApi, createClient, createUser, getWith, ownAddress } from './support.ts';

const REDIRECT = 'https://app.example.test/callback';
// Each request gets this long; a hang fails the test rather than the file's timeout.
const REQUEST_TIMEOUT_MS = 10_000;
// Runs per property: enough to reach the odd corners on every CI run, few enough for the file to
// finish within a minute on a loaded 2-core machine.
const RUNS = Number(process.env.HOSTILE_RUNS ?? 60);
// The per-address limits (sign-in, code entry, failed token requests) count in the shared
// database: this file's thousands of requests come from an address of its own (support.ts).
const ADDRESS = ownAddress();
const get = getWith(ADDRESS);

let server: TestServer;
let service: { client_id: string; auth: string };
let app: { client_id: string; auth: string };
let publicEmpty: string;

beforeAll(async () => {
  // The limits would (rightly) start answering 429 to this many requests from one address, and
  // hide what the endpoints do with the input behind them.
  server = await startTestServer({
    // METRICS_TOKEN: so that /metrics is among the routes swept (it exists only with one).
    METRICS_TOKEN: 'hostile-input-metrics-token',
    TRUSTED_PROXIES: '127.0.0.1',
    RATE_LIMIT_TOKEN_PER_MINUTE: '1000000',
    RATE_LIMIT_LOGIN_PER_IP: '1000000',
    RATE_LIMIT_LOGIN_FAILURES: '1000000',
    DEVICE_CODE_ATTEMPTS: '1000',
    // Dynamic client registration: its routes exist only when it is on.
    DCR: 'open',
    DCR_RATE_LIMIT_PER_HOUR: '100000',
  });
  const audience = await createApi('hostile:read');
  const s = await createClient(['--grant-types', 'client_credentials', '--api', audience, '--scope', 'hostile:read']);
  service = { client_id: s.client_id, auth: basic(s.client_id, s.client_secret!) };
  const a = await createClient([
    '--grant-types',
    'authorization_code,refresh_token,device_code',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid email offline_access hostile:read',
  ]);
  app = { client_id: a.client_id, auth: basic(a.client_id, a.client_secret!) };
  // A public client identifying itself with an empty Basic secret (public-client-basic.ts
  // rewrites those requests' bodies): hostile bodies behind a real public client's header.
  const p = await createClient(['--public', '--grant-types', 'device_code', '--scope', 'openid']);
  publicEmpty = basic(p.client_id, '');
  await createUser();
}, 60_000);
afterAll(() => server?.close());

// ---- What every answer must look like ----

interface Sent {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

interface Answer {
  status: number;
  type: string;
  location: string | null;
  allow?: string | null;
  body: string;
}

async function send(req: Sent): Promise<Answer> {
  const res = await fetch(`${server.issuer}${req.path}`, {
    method: req.method,
    redirect: 'manual',
    headers: { ...ADDRESS, ...req.headers },
    ...(req.body !== undefined ? { body: req.body } : {}),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    location: res.headers.get('location'),
    allow: res.headers.get('allow'),
    body: await res.text(),
  };
}

// A stack frame ("at fn (/path/file.ts:1:2)"), a source path, or the name of an internal error.
const LEAKS =
  /\n\s*at \S|\bat [^\s]+ \(|\.(ts|js|mjs):\d+|\/work\/|node_modules|\/src\/|TypeError|ReferenceError|SyntaxError: /;

function wellFormed(req: Sent, answer: Answer): void {
  const sent =
    typeof req.body === 'string'
      ? req.body.slice(0, 200)
      : req.body
        ? `0x${Buffer.from(req.body).toString('hex').slice(0, 200)}`
        : '';
  const where = `${req.method} ${req.path} ${JSON.stringify(req.headers ?? {}).slice(0, 300)} ${sent} → ${answer.status} ${answer.body.slice(0, 200)}`;
  expect(answer.status, where).toBeGreaterThanOrEqual(200);
  expect(answer.status, where).toBeLessThan(500);
  expect(answer.body, where).not.toMatch(LEAKS);
  if (answer.status >= 300 && answer.status < 400) {
    expect(answer.location, where).toEqual(expect.any(String));
  } else if (/^application\/([\w.-]+\+)?json/.test(answer.type)) {
    const json = JSON.parse(answer.body) as Record<string, unknown>;
    if (answer.status >= 400) {
      expect(typeof json.error, where).toBe('string');
      expect(json.error, where).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/); // RFC 6749 §5.2's charset
      if ('error_description' in json) expect(typeof json.error_description, where).toBe('string');
    }
  } else if (answer.type.startsWith('text/html')) {
    expect(answer.body.trimStart().toLowerCase(), where).toMatch(/^<!doctype html>/);
  } else {
    // 204s and refusals by Node's HTTP parser carry no body worth a type.
    expect(answer.body, where).toBe('');
  }
}

async function check(req: Sent): Promise<void> {
  wellFormed(req, await send(req));
}

// ---- Generated input ----

// Strings an attacker tries: SQL, script, template, path, header and JSON injection, NULs,
// overlong UTF-8 and broken percent-encoding, and plain nonsense.
const INJECTIONS = [
  "' OR '1'='1' --",
  '"; DROP TABLE clients; --',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell-style payload, sent as text.
  '${jndi:ldap://x.example/a}',
  '{{7*7}}',
  '<%= 7*7 %>',
  '../../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '\u0000',
  'a\u0000b',
  '\r\nSet-Cookie: hijack=1',
  '%',
  '%zz',
  '%C0%AF',
  '%E0%A4%A',
  '%ff%fe',
  '{"$gt":""}',
  '__proto__',
  'constructor',
  'toString',
  '[object Object]',
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'https://evil.example.test/',
  'javascript:alert(1)',
  ' ',
  '',
];

const anyText = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.nat({ max: 20_000 }).map((n) => 'x'.repeat(n)),
);

const GRANT_TYPES = [
  'client_credentials',
  'authorization_code',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
  'password',
  'implicit',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'CLIENT_CREDENTIALS',
];

/** Parameter pairs: known names (any of them possibly twice) and unknown ones, any values. */
function pairs(known: string[], values: fc.Arbitrary<string> = anyText): fc.Arbitrary<[string, string][]> {
  const name = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...INJECTIONS), fc.string({ maxLength: 10 })) },
  );
  return fc.array(fc.tuple(name, values), { maxLength: 8 });
}

const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant('service'),
  fc.constant('app'),
  fc.constant('public-empty'),
  fc.constantFrom(
    'Basic',
    'Basic ',
    'Basic !!!',
    'Basic Og==',
    'Bearer',
    'Digest x',
    `basic ${Buffer.from('a:b:c').toString('base64')}`,
  ),
  anyText.map((t) => `Basic ${Buffer.from(t).toString('base64')}`),
  anyText.map((t) => `Basic ${Buffer.from(`${t}:${t}`).toString('base64')}`),
  anyText.map((t) => `Basic ${Buffer.from(`${t}:`).toString('base64')}`),
  anyText.map((t) => `Bearer ${t}`),
);

function authHeader(choice: string | undefined): Record<string, string> {
  if (choice === undefined) return {};
  if (choice === 'service') return { authorization: service.auth };
  if (choice === 'app') return { authorization: app.auth };
  if (choice === 'public-empty') return { authorization: publicEmpty };
  // fetch refuses to send what is not a valid header value; what it refuses, no server sees.
  return /^[\t\x20-\x7E]*$/.test(choice) ? { authorization: choice } : {};
}

/** The body in one of the encodings a confused or hostile client sends. */
const encoding = fc.constantFrom('form', 'form', 'json', 'bytes', 'text', 'none', 'multipart', 'form-charset');
function encode(
  kind: string,
  fields: [string, string][],
  bytes: Uint8Array,
): { headers: Record<string, string>; body: string | Uint8Array } {
  const formBody = new URLSearchParams(fields).toString();
  switch (kind) {
    case 'json':
      return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(Object.fromEntries(fields)) };
    case 'bytes':
      return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: bytes };
    case 'text':
      return { headers: { 'content-type': 'text/plain' }, body: formBody };
    case 'none':
      return { headers: {}, body: formBody };
    case 'multipart':
      return { headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: `--x\r\n${formBody}\r\n--x--` };
    case 'form-charset':
      return { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' }, body: formBody };
    default:
      return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody };
  }
}

// Invalid UTF-8 and half percent-escapes, raw.
const badBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom(
    Uint8Array.from([0xff, 0xfe, 0x3d, 0xc0, 0xaf]),
    new TextEncoder().encode('grant_type=%&token=%zz&client_id=%E0%A4%A'),
    Uint8Array.from([...new TextEncoder().encode('token='), 0xed, 0xa0, 0x80, 0x26, 0x3d]),
  ),
);

function postProperty(path: string, known: string[], extraValues?: fc.Arbitrary<string>) {
  return fc.asyncProperty(
    pairs(known, extraValues ? fc.oneof(anyText, extraValues) : anyText),
    authorization,
    encoding,
    badBytes,
    async (fields, auth, kind, bytes) => {
      const { headers, body } = encode(kind, fields, bytes);
      await check({ method: 'POST', path, headers: { ...headers, ...authHeader(auth) }, body });
    },
  );
}

// ---- The properties ----

describe('generated requests', () => {
  it('at the token endpoint: any grant type, parameters twice, wrong types, any encoding', async () => {
    await fc.assert(
      postProperty(
        '/token',
        [
          'grant_type',
          'client_id',
          'client_secret',
          'code',
          'redirect_uri',
          'code_verifier',
          'refresh_token',
          'scope',
          'resource',
          'device_code',
          'audience',
        ],
        fc.constantFrom(...GRANT_TYPES),
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('at introspection and revocation', async () => {
    await fc.assert(postProperty('/token/introspection', ['token', 'token_type_hint', 'client_id', 'client_secret']), {
      numRuns: RUNS,
    });
    await fc.assert(postProperty('/token/revocation', ['token', 'token_type_hint', 'client_id', 'client_secret']), {
      numRuns: RUNS,
    });
  });

  it('at device authorization and the code-entry page', async () => {
    await fc.assert(postProperty('/device/auth', ['client_id', 'scope', 'resource'], fc.constant(app.client_id)), {
      numRuns: RUNS,
    });
    await fc.assert(
      postProperty('/device', ['xsrf', 'user_code', 'confirm', 'abort'], fc.constantFrom('BCDF-GHJK', 'yes')),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(pairs(['user_code']), async (fields) => {
        await check({ method: 'GET', path: `/device?${new URLSearchParams(fields)}` });
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('at the authorization endpoint, with a real client among the generated ones', async () => {
    const known = [
      'client_id',
      'response_type',
      'redirect_uri',
      'scope',
      'state',
      'nonce',
      'code_challenge',
      'code_challenge_method',
      'prompt',
      'response_mode',
      'request',
      'request_uri',
      'max_age',
      'claims',
      'resource',
      'login_hint',
      'ui_locales',
      'acr_values',
    ];
    const values = fc.constantFrom(
      app.client_id,
      'code',
      REDIRECT,
      'openid',
      'S256',
      'plain',
      'none',
      'consent',
      'form_post',
      'fragment',
      'a'.repeat(43),
    );
    await fc.assert(
      fc.asyncProperty(pairs(known, fc.oneof(anyText, values)), fc.boolean(), async (fields, html) => {
        await check({
          method: 'GET',
          path: `/auth?${new URLSearchParams(fields)}`,
          headers: html ? { accept: 'text/html' } : {},
        });
      }),
      { numRuns: RUNS },
    );
    await fc.assert(postProperty('/auth', known, values), { numRuns: RUNS / 2 });
  });

  it('at userinfo, with any bearer token in the header, the query or the body', async () => {
    await fc.assert(
      fc.asyncProperty(
        authorization,
        pairs(['access_token', 'claims']),
        fc.constantFrom('GET', 'POST'),
        async (auth, fields, method) => {
          const query = method === 'GET' ? `?${new URLSearchParams(fields)}` : '';
          await check({
            method,
            path: `/me${query}`,
            headers: {
              ...authHeader(auth),
              ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
            },
            ...(method === 'POST' ? { body: new URLSearchParams(fields).toString() } : {}),
          });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('valid requests with some parameters replaced by hostile values, or repeated', async () => {
    // Generated requests rarely get past the first check; these start from valid ones.
    const valid: Record<string, { method: string; auth?: string; fields: Record<string, string> }> = {
      '/auth': {
        method: 'GET',
        fields: {
          client_id: app.client_id,
          response_type: 'code',
          redirect_uri: REDIRECT,
          scope: 'openid email',
          code_challenge: 'a'.repeat(43),
          code_challenge_method: 'S256',
          state: 'st',
          nonce: 'n',
        },
      },
      '/token': {
        method: 'POST',
        auth: service.auth,
        fields: { grant_type: 'client_credentials', scope: 'hostile:read' },
      },
      '/token/introspection': {
        method: 'POST',
        auth: service.auth,
        fields: { token: 'opaque', token_type_hint: 'access_token' },
      },
      '/token/revocation': {
        method: 'POST',
        auth: service.auth,
        fields: { token: 'opaque', token_type_hint: 'refresh_token' },
      },
      '/device/auth': { method: 'POST', auth: app.auth, fields: { scope: 'openid hostile:read' } },
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(valid)),
        fc.array(fc.tuple(fc.nat(20), anyText, fc.boolean()), { minLength: 1, maxLength: 3 }),
        async (path, changes) => {
          const base = valid[path]!;
          const names = Object.keys(base.fields);
          const fields: [string, string][] = Object.entries(base.fields);
          for (const [i, value, repeat] of changes) {
            const name = names[i % names.length]!;
            if (repeat) fields.push([name, value]);
            else
              fields.splice(
                fields.findIndex(([n]) => n === name),
                1,
                [name, value],
              );
          }
          const query = new URLSearchParams(fields).toString();
          await check(
            base.method === 'GET'
              ? { method: 'GET', path: `${path}?${query}`, headers: { accept: 'text/html' } }
              : {
                  method: 'POST',
                  path,
                  headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: base.auth! },
                  body: query,
                },
          );
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('at the sign-in and consent forms of a live interaction, and at made-up ones', async () => {
    // A real sign-in in progress, so that the forms get past the interaction lookup to the input.
    const jar = newJar();
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    const interaction = new URL((await get(jar, url.href)).headers.get('location')!, server.issuer);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await get(jar, interaction.href)).text())![1]!;
    const uid = interaction.pathname.split('/')[2]!;

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(uid, uid, 'made-up', '%ff', '..', uid.toUpperCase()),
        fc.constantFrom('login', 'confirm', 'abort', 'nothing'),
        fc.oneof(
          pairs(['csrf', 'email', 'password'], fc.constantFrom(csrf, 'someone@example.test')),
          fc.tuple(anyText, anyText).map(([email, password]): [string, string][] => [
            ['csrf', csrf],
            ['email', email],
            ['password', password],
          ]),
        ),
        encoding,
        badBytes,
        async (id, action, fields, kind, bytes) => {
          const { headers, body } = encode(kind, fields, bytes);
          // Never the valid csrf with an abort: that would end the interaction the others use.
          if (action === 'abort' && id === uid) return;
          wellFormed(
            { method: 'POST', path: `/interaction/${id}/${action}` },
            await answerWithJar(jar, `${server.issuer}/interaction/${id}/${action}`, { method: 'POST', headers, body }),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('the second-factor forms', () => {
  it('at the second-factor forms of a live interaction (enrolment due), and at made-up ones', async () => {
    // A sign-in at a client that requires MFA, past the password: the enrolment step is due, so
    // the forms get past the interaction lookup and the CSRF check to the codes.
    const strict = await createClient([
      '--public',
      '--first-party',
      '--require-mfa',
      '--grant-types',
      'authorization_code',
      '--redirect-uri',
      REDIRECT,
      '--scope',
      'openid',
    ]);
    const user = await createUser();
    const jar = newJar();
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: strict.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    const interaction = new URL((await get(jar, url.href)).headers.get('location')!, server.issuer);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await get(jar, interaction.href)).text())![1]!;
    const uid = interaction.pathname.split('/')[2]!;
    const login = await get(jar, `${interaction.href}/login`, {
      method: 'POST',
      body: new URLSearchParams({ csrf, email: user.email, password: user.password }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(login.status).toBe(303);
    expect(await (await get(jar, interaction.href)).text()).toContain('Set up two-step verification');

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(uid, uid, 'made-up', '%ff'),
        fc.constantFrom('enrol', 'factor/totp', 'factor/recovery', 'factor/passkey', 'factor/%00', 'continue'),
        fc.oneof(
          pairs(['csrf', 'code'], fc.constantFrom(csrf, '123456', '12345-abcde')),
          anyText.map((code): [string, string][] => [
            ['csrf', csrf],
            ['code', code],
          ]),
        ),
        encoding,
        badBytes,
        async (id, action, fields, kind, bytes) => {
          const { headers, body } = encode(kind, fields, bytes);
          wellFormed(
            { method: 'POST', path: `/interaction/${id}/${action}` },
            await answerWithJar(jar, `${server.issuer}/interaction/${id}/${action}`, { method: 'POST', headers, body }),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('the account pages (password reset)', () => {
  it('at the forgotten-password and reset forms, with a valid CSRF cookie and token', async () => {
    // A browser that has the form's cookie, so that the input gets past the CSRF check.
    const jar = newJar();
    const csrf = /name="csrf" value="([^"]+)"/.exec(
      await (await get(jar, `${server.issuer}/password/forgot`)).text(),
    )![1]!;
    const token = 'A'.repeat(43);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/password/forgot', '/password/reset'),
        fc.oneof(
          pairs(['csrf', 'email', 'token', 'password', 'confirm'], fc.constantFrom(csrf, token, 'a@example.test')),
          fc.tuple(anyText, anyText, anyText).map(([email, tok, password]): [string, string][] => [
            ['csrf', csrf],
            ['email', email],
            ['token', tok],
            ['password', password],
            ['confirm', password],
          ]),
        ),
        encoding,
        badBytes,
        async (path, fields, kind, bytes) => {
          const { headers, body } = encode(kind, fields, bytes);
          wellFormed(
            { method: 'POST', path },
            await answerWithJar(jar, `${server.issuer}${path}`, { method: 'POST', headers, body }),
          );
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(anyText, async (tok) => {
        const path = `/password/reset?token=${encodeURIComponent(tok)}`;
        wellFormed({ method: 'GET', path }, await answerWithJar(jar, `${server.issuer}${path}`, { method: 'GET' }));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the admin console (/admin)', () => {
  it('at its forms, signed in as an admin with a valid CSRF token, and at the sign-in callback', async () => {
    const admin = await createConsoleAdmin();
    const jar = newJar();
    const home = await signInAtPage(server.issuer, '/admin', admin, jar);
    expect(home.status).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(home.html)![1]!;
    await fc.assert(
      fc.asyncProperty(
        // Not /admin/sign-out nor the admin's own sessions/end-all: they would end this session.
        fc.constantFrom(
          '/admin/clients',
          `/admin/clients/${MADE_UP}/secrets`,
          `/admin/users/${admin.id}/sessions/end`,
          `/admin/users/${MADE_UP}/sessions/end-all`,
          `/admin/clients/${MADE_UP}/grants/revoke`,
          // Keys, APIs, roles (the admin has no keys scope: those answer 403 after the form's checks).
          '/admin/keys/rotate',
          `/admin/keys/${MADE_UP}/retire`,
          '/admin/apis',
          `/admin/apis/${MADE_UP}/delete`,
          '/admin/roles',
          `/admin/roles/${MADE_UP}/permissions`,
          `/admin/roles/${MADE_UP}/permissions/revoke`,
          `/admin/roles/${MADE_UP}/delete`,
          `/admin/users/${MADE_UP}/roles`,
          `/admin/users/${admin.id}/roles/remove`,
          '/admin/organizations',
          `/admin/organizations/${MADE_UP}/members`,
          `/admin/organizations/${MADE_UP}/members/remove`,
          `/admin/organizations/${MADE_UP}/delete`,
          '/admin/api-keys',
          `/admin/api-keys/${MADE_UP}/rotate`,
          `/admin/api-keys/${MADE_UP}/revoke`,
        ),
        fc.oneof(
          pairs(
            [
              'csrf',
              'name',
              'kind',
              'redirect_uris',
              'apis',
              'scope',
              'session',
              'grant',
              'forget_consent',
              'confirm',
              'force',
              'audience',
              'scopes',
              'rbac',
              'token_claims',
              'description',
              'api',
              'role',
              'display_name',
              'allowed_email_domains',
              'mfa_required',
              'user',
              'client_id',
            ],
            fc.constantFrom(csrf, 'x'),
          ),
          fc.tuple(anyText, anyText, anyText).map(([a, b, c]): [string, string][] => [
            ['csrf', csrf],
            ['name', a],
            ['kind', b],
            ['redirect_uris', c],
            ['apis', c],
            ['scope', a],
            ['session', c],
            ['grant', c],
            ['forget_consent', b],
            ['confirm', b],
            ['audience', a],
            ['scopes', c],
            ['rbac', b],
            ['token_claims', b],
            ['token_claims', c],
            ['description', c],
            ['api', a],
            ['role', c],
            ['display_name', a],
            ['allowed_email_domains', c],
            ['mfa_required', b],
            ['user', c],
            ['client_id', a],
          ]),
        ),
        encoding,
        badBytes,
        async (path, fields, kind, bytes) => {
          const { headers, body } = encode(kind, fields, bytes);
          wellFormed(
            { method: 'POST', path },
            await answerWithJar(jar, `${server.issuer}${path}`, { method: 'POST', headers, body }),
          );
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(anyText, anyText, async (q, cursor) => {
        for (const list of [
          '/admin/clients',
          '/admin/users',
          '/admin/apis',
          '/admin/roles',
          '/admin/organizations',
          '/admin/api-keys',
        ]) {
          const path = `${list}?q=${encodeURIComponent(q)}&cursor=${encodeURIComponent(cursor)}`;
          wellFormed({ method: 'GET', path }, await answerWithJar(jar, `${server.issuer}${path}`, { method: 'GET' }));
        }
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      // One generated value per request (with short ones in the other filters): four of the long
      // ones would pass Node's header limit, which a test of its own covers.
      fc.asyncProperty(
        fc.constantFrom('type', 'actor', 'subject', 'cursor'),
        anyText,
        fc.string({ maxLength: 40 }),
        async (field, value, other) => {
          const query = new URLSearchParams({
            type: other,
            actor: other,
            subject: other,
            cursor: other,
            [field]: value,
          });
          const path = `/admin/audit?${query}`;
          wellFormed({ method: 'GET', path }, await answerWithJar(jar, `${server.issuer}${path}`, { method: 'GET' }));
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(anyText, anyText, async (code, state) => {
        const path = `/admin/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`;
        const answer = await answerWithJar(jar, `${server.issuer}${path}`, { method: 'GET' });
        wellFormed({ method: 'GET', path }, answer);
        // Never a console session from a made-up code, nor a redirect out of the console.
        expect(answer.status).not.toBe(303);
      }),
      { numRuns: RUNS },
    );
    // Still signed in: nothing above ended the console session.
    expect((await get(jar, `${server.issuer}/admin`)).status).toBe(200);
  }, 180_000);
});

describe('the account page (/account)', () => {
  it('at its forms, signed in with a valid CSRF token, and at the sign-in callback', async () => {
    // Signed in through an app's request, so that the input gets past the session and CSRF checks.
    const user = await createUser();
    const jar = newJar();
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    await authorizeWith(ADDRESS, url, user, jar);
    const page = await get(jar, `${server.issuer}/account`);
    expect(page.status).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;

    await fc.assert(
      fc.asyncProperty(
        // Not /account/sessions/end-all: it would sign this browser out for the runs after it.
        fc.constantFrom('/account/password', '/account/email/verify', '/account/sessions/end', '/account/apps/revoke'),
        fc.oneof(
          pairs(['csrf', 'current', 'password', 'confirm', 'session', 'client_id'], fc.constantFrom(csrf, 'x')),
          fc.tuple(anyText, anyText, anyText).map(([a, b, c]): [string, string][] => [
            ['csrf', csrf],
            ['current', a],
            ['password', b],
            ['confirm', b],
            ['session', c],
            ['client_id', c],
          ]),
        ),
        encoding,
        badBytes,
        async (path, fields, kind, bytes) => {
          const { headers, body } = encode(kind, fields, bytes);
          wellFormed(
            { method: 'POST', path },
            await answerWithJar(jar, `${server.issuer}${path}`, { method: 'POST', headers, body }),
          );
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(anyText, anyText, async (code, state) => {
        const path = `/account/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`;
        const answer = await answerWithJar(jar, `${server.issuer}${path}`, { method: 'GET' });
        wellFormed({ method: 'GET', path }, answer);
        // Only ever back to an account page of this server.
        if (answer.status === 303) expect(answer.location).toMatch(/^\/account(\/[A-Za-z0-9._~-]+)*\/?$/);
      }),
      { numRuns: RUNS },
    );
    // Still signed in: nothing above ended the session.
    expect((await get(jar, `${server.issuer}/account`)).status).toBe(200);
  });
});

async function answerWithJar(jar: Jar, url: string, init: RequestInit): Promise<Answer> {
  const res = await get(jar, url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    location: res.headers.get('location'),
    body: await res.text(),
  };
}

describe('malformed requests', () => {
  const POSTS = [
    '/token',
    '/token/introspection',
    '/token/revocation',
    '/device/auth',
    '/device',
    '/me',
    '/auth',
    '/interaction/x/login',
    '/interaction/x/confirm',
  ];

  it.each(POSTS)('a body above any limit at %s is refused', async (path) => {
    const huge = `token=${'a'.repeat(2 * 1024 * 1024)}`;
    const answer = await send({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: service.auth },
      body: huge,
    });
    wellFormed({ method: 'POST', path }, answer);
    // The code-entry page sends a browser without a session back to a fresh form (see
    // provider-config.ts); everything else refuses.
    if (path === '/device' && answer.status === 303) expect(new URL(answer.location!).pathname).toBe('/device');
    else expect(answer.status).toBeGreaterThanOrEqual(400);
  });

  it.each(POSTS)('JSON where a form is expected at %s', async (path) => {
    for (const body of ['{"grant_type":"client_credentials"}', '{', '[1,2', 'null', '"\\ud800"']) {
      await check({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', authorization: service.auth },
        body,
      });
    }
  });

  // A body over a route's own limit is left unread on the connection: kept alive, that
  // connection hung the next request sent on it until the keep-alive timeout reset it.
  it.each(['/password/forgot', '/admin/v1/clients', '/register'])(
    'a body over the limit at %s leaves no connection that hangs the next request',
    async (path) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const request = (method: string, target: string, body?: string) =>
        new Promise<number>((resolve, reject) => {
          const req = http.request(
            new URL(target, server.issuer),
            {
              method,
              agent,
              timeout: 3_000,
              headers: body
                ? {
                    'content-type':
                      path === '/password/forgot' ? 'application/x-www-form-urlencoded' : 'application/json',
                  }
                : {},
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode!));
            },
          );
          req.on('timeout', () => req.destroy(new Error(`${method} ${target}: no answer in 3 s`)));
          req.on('error', reject);
          req.end(body);
        });
      try {
        const status = await request('POST', path, `email=${'a'.repeat(200 * 1024)}`);
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
        // The next request from the same client, on the only socket it may have.
        expect(await request('GET', '/healthz')).toBe(200);
      } finally {
        agent.destroy();
      }
    },
  );

  it("a header above Node's limit is refused with 431, and the server keeps serving", async () => {
    const answer = await send({
      method: 'GET',
      path: '/.well-known/openid-configuration',
      headers: { 'x-padding': 'a'.repeat(64 * 1024) },
    });
    expect(answer.status).toBe(431);
    const bearer = await send({
      method: 'GET',
      path: '/me',
      headers: { authorization: `Bearer ${'a'.repeat(15 * 1024)}` },
    });
    wellFormed({ method: 'GET', path: '/me' }, bearer);
    expect(bearer.status).toBe(401);
  });

  it('invalid percent-encoding and invalid UTF-8 in paths and queries', async () => {
    const paths = [
      '/token%ff',
      '/interaction/%ff%fe',
      '/interaction/%E0%A4%A/login',
      '/auth?client_id=%ff&redirect_uri=%',
      '/device?user_code=%C0%AF',
      '/me?access_token=%zz',
      '/%',
      '/interaction/%00',
      '/jwks?%',
      '/.well-known/openid-configuration?x=%ff',
      '/auth/%ff',
      '/session/end?id_token_hint=%ff',
    ];
    for (const path of paths) {
      await check({ method: 'GET', path });
      await check({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=%ff',
      });
    }
  });
});

// ---- Every route, every method ----

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
// Route parameters (an interaction uid, a client id, a file name) get a value no route knows.
const MADE_UP = 'made-up-0123456789';
// Requests in flight at once: concurrent, as clients are, without queueing on a 2-core machine.
const SWEEP_CONCURRENCY = 4;

/**
 * The paths the running server routes, each with where it was found: the endpoints discovery
 * publishes on the issuer's origin, every route oidc-provider registered (route names read from
 * the installed oidc-provider's own router set-up, kept when this provider knows them: pathFor
 * throws for a route a disabled feature did not register), and every route of Tessera's routers
 * in the app's middleware. Nothing is listed by hand but discovery's own path and a path no route has.
 */
async function routesOfRunningServer(): Promise<Map<string, string>> {
  const routes = new Map<string, string>([
    [DISCOVERY_PATH, 'discovery'],
    ['/no-such-route', 'none'],
  ]);
  // Where a path was found first (several route names share one path).
  const add = (path: string, from: string) => routes.has(path) || routes.set(path, from);
  const issuer = new URL(server.issuer);
  const urls = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(urls) : [];
  const discovery = (await send({ method: 'GET', path: DISCOVERY_PATH })).body;
  for (const url of urls(JSON.parse(discovery))) {
    const parsed = URL.parse(url);
    if (parsed?.origin === issuer.origin) add(parsed.pathname, 'discovery');
  }

  const provider = server.tessera.provider();
  const setUp = readFileSync(
    join(dirname(createRequire(import.meta.url).resolve('oidc-provider')), 'helpers', 'initialize_app.js'),
    'utf8',
  );
  const names = new Set([...setUp.matchAll(/\b(?:get|post|put|del|options)\('([\w.]+)',/g)].map((m) => m[1]!));
  // A change in how oidc-provider writes its routes must fail here, not shrink the sweep.
  expect(names.size).toBeGreaterThan(20);
  for (const name of names) {
    try {
      add(provider.pathFor(name, { uid: MADE_UP, clientId: MADE_UP }), `oidc-provider ${name}`);
    } catch {
      // Not registered by this provider (a feature Tessera does not enable).
    }
  }

  for (const middleware of server.tessera.app.middleware) {
    const router = (middleware as { router?: Router }).router;
    for (const layer of router?.stack ?? []) {
      if (typeof layer.path === 'string')
        add(layer.path.replace(/:\w+/g, MADE_UP), `Tessera ${layer.methods.join(',')}`);
    }
  }
  return routes;
}

/** A hostile variant of a request: a query, and for methods that carry one, a body. */
interface Variant {
  name: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

const CONTROL = '\u0000\u0001\u0007\u001b[31m\r\n\t\u007f\u0085\u2028';
const NON_UTF8 = Uint8Array.from([
  ...new TextEncoder().encode('client_id='),
  0xff,
  0xfe,
  0x26,
  ...new TextEncoder().encode('token='),
  0xc0,
  0xaf,
  0xed,
  0xa0,
  0x80,
]);
const REPEATED =
  'client_id=a&client_id=b&scope=openid&scope=openid&token=t&token=u&grant_type=client_credentials&grant_type=refresh_token&user_code=BCDF-GHJK&user_code=X&xsrf=a&xsrf=b&csrf=a&csrf=b';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const VARIANTS: Variant[] = [
  { name: 'plain' },
  {
    name: 'huge values',
    query: `client_id=${'a'.repeat(4000)}&scope=${'b'.repeat(4000)}`,
    headers: FORM,
    body: `token=${'c'.repeat(50_000)}&client_id=${'d'.repeat(4000)}`,
  },
  { name: 'repeated parameters', query: REPEATED, headers: FORM, body: REPEATED },
  {
    name: 'a wrong content type',
    query: 'response_type=code',
    headers: { 'content-type': 'application/xml' },
    body: '<token>x</token>',
  },
  { name: 'invalid JSON', headers: { 'content-type': 'application/json' }, body: '{"client_id": "a", "token": ' },
  { name: 'an invalid form', query: '%&=&a=%zz&%ff=%fe&&', headers: FORM, body: '%&=&a=%zz&%ff=%fe&&token' },
  {
    name: 'non-UTF-8 bytes',
    query: 'client_id=%ff%fe&scope=%c0%af&user_code=%ed%a0%80',
    headers: FORM,
    body: NON_UTF8,
  },
  {
    name: 'control characters',
    query: new URLSearchParams({ client_id: CONTROL, token: CONTROL, user_code: CONTROL }).toString(),
    headers: FORM,
    body: new URLSearchParams({ client_id: CONTROL, token: CONTROL, grant_type: CONTROL, xsrf: CONTROL }).toString(),
  },
  // A CORS preflight (and a cross-origin request), with forged credentials and cookies.
  {
    name: 'a foreign origin, forged credentials and cookies',
    headers: {
      origin: 'https://evil.example.test',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, dpop',
      authorization: 'Basic !!!',
      cookie: '_session=forged; _session.sig=forged; _interaction=x; _interaction_resume=x',
    },
  },
];

describe('every route, every method', () => {
  it('answers GET/HEAD/POST/PUT/DELETE/OPTIONS/PATCH at every route, plain and hostile, with no 5xx and no internals', async () => {
    const routes = await routesOfRunningServer();
    // The admin API's routes answer more than 401 only to an admin token: every scope but the
    // signing keys' (a sweep must not rotate the shared database's keys), fetched now, since
    // admin tokens live minutes.
    const adminBearer = `Bearer ${await adminToken(server.issuer, await createAdminClient(ADMIN_SCOPES.filter((s) => s !== 'admin:keys:write')))}`;
    // The admin console's pages answer more than a redirect to sign in only in a console session:
    // an admin's, signed in over HTTP (its forms still need their CSRF token, which no variant has).
    const consoleJar = newJar();
    const signedIn = await signInAtPage(server.issuer, '/admin', await createConsoleAdmin(), consoleJar);
    expect(signedIn.status).toBe(200);
    const consoleCookie = `tessera.admin=${consoleJar.cookies.get('tessera.admin')}`;
    VARIANTS.push(
      { name: 'an admin console session', headers: { cookie: consoleCookie } },
      {
        name: 'an admin console session, hostile query and form',
        query: `q=${encodeURIComponent(CONTROL)}&cursor=%ff%fe&done=${'x'.repeat(300)}&${REPEATED}`,
        headers: { cookie: consoleCookie, ...FORM },
        body: `session=${encodeURIComponent(CONTROL)}&name=${'n'.repeat(5000)}&kind=machine&${REPEATED}`,
      },
      { name: 'an admin token', headers: { authorization: adminBearer } },
      {
        name: 'an admin token, hostile JSON and query',
        query: `limit=-1&cursor=%ff%fe&force=maybe&${REPEATED}`,
        headers: {
          authorization: adminBearer,
          'content-type': 'application/json',
          'if-match': '"zz", W/"1"',
          'idempotency-key': 'k'.repeat(300),
        },
        body: JSON.stringify({
          name: CONTROL,
          grant_types: 'client_credentials',
          email: `${CONTROL}@x`,
          disabled: 'yes',
          audience: 'x'.repeat(5000),
          compromised: 1,
        }),
      },
    );
    // The sweep reaches what third-party clients found (GET /device/auth answered 500): the
    // provider's endpoints, its parameterised routes and Tessera's own.
    for (const expected of [
      '/device/auth',
      `/device/${MADE_UP}`,
      '/token',
      '/request',
      '/session/end/confirm',
      `/interaction/${MADE_UP}/login`,
      '/',
      '/healthz',
      '/metrics',
      `/assets/${MADE_UP}`,
      // Passkeys: the sign-in's challenge and assertion, the account page's routes.
      `/interaction/${MADE_UP}/passkey/options`,
      `/interaction/${MADE_UP}/passkey`,
      '/account/passkeys',
      '/account/passkeys/options',
      `/account/passkeys/${MADE_UP}/rename`,
      `/account/passkeys/${MADE_UP}/delete`,
      '/admin/v1/clients',
      `/admin/v1/clients/${MADE_UP}/secrets`,
      '/admin/v1/openapi.json',
      // Roles, organizations and API keys at the admin API.
      `/admin/v1/roles/${MADE_UP}/permissions`,
      `/admin/v1/organizations/${MADE_UP}/members/${MADE_UP}/roles/${MADE_UP}`,
      `/admin/v1/api-keys/${MADE_UP}/rotate`,
      // What the CLI's remote mode added: passwords, mailed links, second factors, webhooks, DCR.
      `/admin/v1/users/${MADE_UP}/password`,
      `/admin/v1/users/${MADE_UP}/mfa`,
      `/admin/v1/users/${MADE_UP}/verification`,
      `/admin/v1/users/${MADE_UP}/password-reset-link`,
      '/admin/v1/webhooks',
      `/admin/v1/webhooks/${MADE_UP}/secrets`,
      `/admin/v1/webhook-deliveries/${MADE_UP}/redeliver`,
      `/admin/v1/dcr/initial-tokens/${MADE_UP}`,
      `/admin/v1/clients/${MADE_UP}/approval`,
      // The admin console's additions to the admin API.
      `/admin/v1/clients/${MADE_UP}/grants`,
      '/register',
      `/register/${MADE_UP}`,
      '/account',
      '/account/password',
      '/account/sessions/end-all',
      '/account/callback',
      '/admin',
      '/admin/callback',
      '/admin/clients',
      `/admin/clients/${MADE_UP}`,
      `/admin/clients/${MADE_UP}/secrets`,
      `/admin/users/${MADE_UP}`,
      `/admin/users/${MADE_UP}/sessions/end-all`,
      '/admin/sign-out',
      // The admin console's further pages.
      `/admin/clients/${MADE_UP}/grants/revoke`,
      '/admin/keys',
      `/admin/keys/${MADE_UP}/retire`,
      '/admin/apis/new',
      `/admin/apis/${MADE_UP}/delete`,
      `/admin/roles/${MADE_UP}/permissions/revoke`,
      `/admin/users/${MADE_UP}/roles/remove`,
      '/admin/audit',
      `/admin/organizations/${MADE_UP}/members/remove`,
      '/admin/api-keys/new',
      `/admin/api-keys/${MADE_UP}/revoke`,
    ]) {
      expect([...routes.keys()]).toContain(expected);
    }
    const requests: { req: Sent; from: string }[] = [];
    for (const [path, from] of routes) {
      for (const method of METHODS) {
        for (const variant of VARIANTS) {
          // fetch sends no body with GET or HEAD: a variant that is only a body adds nothing there,
          // and its body's headers go with the body.
          const withBody = method !== 'GET' && method !== 'HEAD';
          if (!withBody && variant.query === undefined && variant.body !== undefined) continue;
          requests.push({
            from: `${from}, ${variant.name}`,
            req: {
              method,
              path: variant.query ? `${path}?${variant.query}` : path,
              ...(withBody || variant.body === undefined ? { headers: variant.headers ?? {} } : {}),
              ...(withBody && variant.body !== undefined ? { body: variant.body } : {}),
            },
          });
        }
      }
    }
    const logged = server.logs.length;
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: SWEEP_CONCURRENCY }, async () => {
        while (next < requests.length) {
          const { req, from } = requests[next++]!;
          const answer = await send(req);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (req.method === 'HEAD') {
            expect(answer.status, `HEAD ${req.path} (${from}) → ${answer.status}`).toBeLessThan(500);
            expect(answer.body).toBe('');
          } else {
            wellFormed({ ...req, path: `${req.path} (${from})` }, answer);
          }
          // RFC 9110 §15.5.6: a 405 says which methods are allowed.
          if (answer.status === 405)
            expect(answer.allow, `${req.method} ${req.path} (${from}) → 405 without Allow`).toMatch(
              /^[A-Z]+(, [A-Z]+)*$/,
            );
        }
      }),
    );
    console.info(
      `swept ${routes.size} routes × ${METHODS.length} methods: ${requests.length} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    // None of them went down the "unexpected error" path either.
    expect(
      server.logs
        .slice(logged)
        .filter((l) => (l.level as number) >= 50)
        .map((l) => l.msg),
    ).toEqual([]);
    // Some 200 routes × 7 methods × a dozen variants, 4 at a time: minutes on a loaded 2-core
    // machine, and more with each route the admin API and console gain.
  }, 300_000);
});

describe('afterwards', () => {
  it('the process is healthy, and a large batch of hostile requests leaves its heap where it was', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const batch = async (n: number) => {
      const sample = fc.sample(
        fc.tuple(
          pairs(['grant_type', 'token', 'client_id', 'scope', 'code']),
          authorization,
          encoding,
          badBytes,
          fc.constantFrom('/token', '/token/introspection', '/token/revocation', '/device/auth', '/me'),
        ),
        { numRuns: n, seed: 8 },
      );
      // Eight at a time: concurrent, as attackers are, without queueing on the 2-core machine.
      for (let i = 0; i < sample.length; i += 8) {
        await Promise.all(
          sample.slice(i, i + 8).map(([fields, auth, kind, bytes, path]) => {
            const { headers, body } = encode(kind, fields, bytes);
            return check({ method: 'POST', path, headers: { ...headers, ...authHeader(auth) }, body });
          }),
        );
      }
    };
    const errors: Record<string, unknown>[] = [];
    const heap = async () => {
      // The test's own copy of every log line is not the server's memory; its errors are kept.
      errors.push(...server.logs.filter((l) => (l.level as number) >= 50));
      server.logs.length = 0;
      for (let i = 0; i < 3; i++) {
        gc();
        // A turn of the event loop, so that what the collection freed is released.
        await new Promise((r) => setImmediate(r));
      }
      return process.memoryUsage().heapUsed;
    };
    await batch(300); // warm-up: caches, JIT, connection pools
    const before = await heap();
    await batch(1200);
    const after = await heap();
    console.info(
      `heap used: ${(before / 2 ** 20).toFixed(1)} MiB before, ${(after / 2 ** 20).toFixed(1)} MiB after 1200 hostile requests`,
    );
    // 1200 requests that leaked even 10 KiB each would add 12 MiB; what stays is noise.
    expect((after - before) / 1024 / 1024).toBeLessThan(10);

    const health = await send({ method: 'GET', path: '/healthz' });
    expect({ status: health.status, body: JSON.parse(health.body) }).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await send({ method: 'GET', path: '/readyz' })).status).toBe(200);
    // Nothing above went down the "unexpected error" path.
    errors.push(...server.logs.filter((l) => (l.level as number) >= 50));
    expect(errors.map((l) => l.msg)).toEqual([]);
  }, 60_000);
});
