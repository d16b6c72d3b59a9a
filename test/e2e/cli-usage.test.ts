// The admin CLI as a new user meets it: quiet write commands, one-line refusals of bad input,
// text output that says what is stored, and the README's way of running it piped into jq.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPES } from '../../src/services/audit.ts';
import { randomId, startTestServer, tessera, tesseraJson, testEnv } from '../setup/tessera.ts';

describe('write commands', () => {
  // pg 8 warns (DeprecationWarning) when a second query is sent on a client that is still busy;
  // Prisma's adapter did that inside transactions. Each command runs in its own process, so each
  // would print the warning once.
  it('print nothing on stderr', async () => {
    const audience = `https://${randomId('quiet')}.example.test`;
    const dir = mkdtempSync(join(tmpdir(), 'tessera-quiet-'));
    const seedApi = `https://${randomId('quiet-seed')}.example.test`;
    writeFileSync(
      join(dir, 'seed.yaml'),
      [
        'apis:',
        `  - audience: ${seedApi}`,
        '    scopes: [s:read]',
        'clients:',
        `  - client_id: ${randomId('quiet-seed')}`,
        '    name: seeded',
        '    grant_types: [authorization_code, refresh_token]',
        '    public: true',
        '    redirect_uris: [http://127.0.0.1:9/cb]',
        `    apis: [${seedApi}]`,
      ].join('\n'),
    );
    const results: Record<string, { code: number; stderr: string }> = {};
    [results['apis create'], results['users create'], results['keys rotate'], results.seed] = await Promise.all([
      tessera(['apis', 'create', '--audience', audience, '--scope', 'q:read']),
      tessera(['users', 'create', '--email', `${randomId('quiet')}@example.test`, '--password-stdin'], {
        input: 'a quiet password',
      }),
      tessera(['keys', 'rotate']),
      tessera(['seed', join(dir, 'seed.yaml')]),
    ]);
    const created = await tessera(
      ['--json', 'clients', 'create', '--name', 'quiet', '--grant-types', 'client_credentials'].concat([
        '--api',
        audience,
        '--serves',
        audience,
      ]),
    );
    results['clients create'] = created;
    const id = JSON.parse(created.stdout).client_id as string;
    [results['clients update'], results['clients rotate-secret']] = await Promise.all([
      tessera(['clients', 'update', id, '--name', 'still quiet', '--api', audience]),
      tessera(['clients', 'rotate-secret', id]),
    ]);
    expect(
      Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { code: r.code, stderr: r.stderr }])),
    ).toEqual(Object.fromEntries(Object.keys(results).map((k) => [k, { code: 0, stderr: '' }])));
  }, 120_000);
});

describe('bad option values', () => {
  // Every numeric and enumerated option of every command, each with a value it must refuse: one
  // line on stderr, nothing on stdout, exit code 2, and nothing from Prisma or a stack.
  const cases: [string[], string][] = [
    [['audit', '--limit', 'abc'], '--limit must be a whole number from 1 to 10000, not "abc"'],
    [['audit', '--limit', '-1'], '--limit must be a whole number from 1 to 10000, not "-1"'],
    [['audit', '--limit', '0'], '--limit must be a whole number from 1 to 10000, not "0"'],
    [['audit', '--limit', '1e3'], '--limit must be a whole number from 1 to 10000, not "1e3"'],
    [
      ['audit', '--since', 'yesterday'],
      '--since must be an ISO date-time or a duration such as 24h or 7d, not "yesterday"',
    ],
    [['audit', '--type', 'login.fail'], `--type must be one of ${AUDIT_EVENT_TYPES.join(', ')}, not "login.fail"`],
    [
      ['apis', 'create', '--audience', 'https://x.example.test', '--ttl', '1h'],
      '--ttl must be a whole number from 60 to 86400, not "1h"',
    ],
    [
      ['apis', 'create', '--audience', 'https://x.example.test', '--ttl', '59'],
      '--ttl must be a whole number from 60 to 86400, not "59"',
    ],
    [
      ['clients', 'rotate-secret', 'x', '--grace', 'forever'],
      '--grace must be a duration such as 0, 90s, 15m, 24h or 7d, not "forever"',
    ],
    [['clients', 'rotate-secret', 'x', '--grace', '1000d'], '--grace must be at most 90d, not "1000d"'],
    [
      ['clients', 'create', '--name', 'x', '--grant-types', 'client_credentials,password'],
      '--grant-types: "password" is not one of client_credentials, authorization_code, refresh_token, device_code',
    ],
    [
      ['clients', 'update', 'x', '--auth-method', 'client_secret_jwt'],
      '--auth-method must be one of client_secret_basic, client_secret_post, private_key_jwt, self_signed_tls_client_auth, tls_client_auth, not "client_secret_jwt"',
    ],
    [
      ['clients', 'create', '--name', 'x', '--grant-types', 'authorization_code', '--id-token-alg', 'HS256'],
      '--id-token-alg must be one of RS256, ES256, EdDSA, not "HS256"',
    ],
  ];

  it('are refused in one line with exit code 2', async () => {
    const results = await Promise.all(cases.map(([args]) => tessera(args)));
    expect(results).toEqual(cases.map(([, message]) => ({ code: 2, stdout: '', stderr: `tessera: ${message}\n` })));
  }, 120_000);
});

describe('refusals that protect what is stored', () => {
  it('apis delete refuses while clients use the API, names them, and deletes with --force', async () => {
    const audience = `https://${randomId('used')}.example.test`;
    await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'u:read']);
    const [granted, server] = await Promise.all([
      tesseraJson<{ client_id: string }>(
        ['clients', 'create', '--name', 'user of it', '--grant-types', 'client_credentials'].concat([
          '--api',
          audience,
        ]),
      ),
      tesseraJson<{ client_id: string }>(
        ['clients', 'create', '--name', 'its server', '--grant-types', 'client_credentials'].concat([
          '--api',
          audience,
          '--serves',
          audience,
        ]),
      ),
    ]);
    const refused = await tessera(['apis', 'delete', audience]);
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: clients use API ${audience}: ${[granted.client_id, server.client_id].sort().join(', ')}; delete it with --force to take it from them\n`,
    });
    expect((await tesseraJson<{ audience: string }[]>(['apis', 'list'])).map((a) => a.audience)).toContain(audience);

    expect(await tesseraJson(['apis', 'delete', audience, '--force'])).toEqual({ deleted: audience });
    expect(await tesseraJson(['clients', 'show', granted.client_id])).toMatchObject({ apis: [] });
  }, 60_000);

  it('clients update with nothing to change says so', async () => {
    const { client_id: id } = await tesseraJson<{ client_id: string }>(
      ['clients', 'create', '--name', 'unchanged', '--grant-types', 'authorization_code', '--public'].concat([
        '--redirect-uri',
        'http://127.0.0.1:9/cb',
      ]),
    );
    expect(await tessera(['clients', 'update', id])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: nothing to change: give clients update ${id} at least one option (tessera clients update --help lists them)\n`,
    });
  }, 60_000);
});

describe('text output', () => {
  it('keys list shows when each key was created, activates and retires, in text and JSON', async () => {
    await tessera(['keys', 'rotate']); // a next key, whose times are all still to come
    const keys = await tesseraJson<Record<string, string | null>[]>(['keys', 'list']);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).toMatchObject({
        created_at: expect.any(String),
        activates_at: expect.any(String),
        retires_at: expect.any(String),
        unpublish_at: expect.any(String),
      });
      expect(Date.parse(key.activates_at!)).toBeLessThan(Date.parse(key.retires_at!));
      expect(Date.parse(key.retires_at!)).toBeLessThanOrEqual(Date.parse(key.unpublish_at!));
    }
    const text = (await tessera(['keys', 'list'])).stdout.split('\n');
    expect(text[0]).toMatch(/^KID +ALG +STATE +CREATED +ACTIVATES +RETIRES +LEAVES JWKS$/);
    const next = keys.find((k) => k.state === 'next')!;
    expect(text.find((l) => l.startsWith(`${next.kid} `))).toMatch(
      new RegExp(
        `^${next.kid} +RS256 +next +${next.created_at} +${next.activates_at} +${next.retires_at} +${next.unpublish_at}$`,
      ),
    );
  }, 60_000);

  it('clients show prints every setting, with grant types as the flags name them', async () => {
    const audience = `https://${randomId('shown')}.example.test`;
    await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'v:read v:write']);
    const created = await tesseraJson<{ client_id: string; created_at: string; updated_at: string }>([
      'clients',
      'create',
      '--name',
      'Shown TV',
      '--public',
      '--grant-types',
      'device_code,authorization_code,refresh_token',
      '--redirect-uri',
      'http://127.0.0.1:9/cb',
      '--api',
      audience,
      '--scope',
      'openid v:read',
      '--first-party',
      '--require-par',
      '--dpop-bound',
    ]);
    const id = created.client_id;
    const shown = await tessera(['clients', 'show', id]);
    expect(shown.stdout).toBe(
      [
        `client_id:                  ${id}`,
        'name:                       Shown TV',
        'grant types:                device_code, authorization_code, refresh_token',
        'auth method:                none (a public client: PKCE, no secret)',
        'redirect URIs:              http://127.0.0.1:9/cb',
        'post-logout redirect URIs:  none',
        'scope:                      openid',
        `APIs:                       ${audience} [v:read] (default)`,
        'serves:                     none',
        'exchanges towards:          none',
        'first-party:                yes (users are not asked for consent)',
        'ID token algorithm:         RS256',
        'client keys:                none',
        'DPoP-bound tokens:          yes',
        'certificate-bound tokens:   no',
        'requires PAR:               yes',
        'secrets:                    none',
        `created:                    ${created.created_at}`,
        `updated:                    ${created.updated_at}`,
        '',
      ].join('\n'),
    );

    const list = (await tessera(['clients', 'list'])).stdout.split('\n');
    expect(list[0]).toMatch(/^CLIENT_ID +NAME +GRANT TYPES$/);
    expect(list.find((l) => l.startsWith(id))).toMatch(
      new RegExp(`^${id} +Shown TV +device_code,authorization_code,refresh_token$`),
    );
  }, 60_000);

  it('every list starts with a header row', async () => {
    const email = `${randomId('listed')}@example.test`;
    await Promise.all([
      tessera(['users', 'create', '--email', email, '--password-stdin'], { input: 'a listed password' }),
      tesseraJson(['apis', 'create', '--audience', `https://${randomId('listed')}.example.test`]),
    ]);
    const [apis, users, audit] = await Promise.all([
      tessera(['apis', 'list']),
      tessera(['users', 'list']),
      tessera(['audit', '--limit', '3']),
    ]);
    expect(apis.stdout.split('\n')[0]).toMatch(/^AUDIENCE +NAME +SCOPES +TOKEN TTL$/);
    expect(users.stdout.split('\n')[0]).toMatch(/^ID +EMAIL +STATUS$/);
    expect(audit.stdout.split('\n')[0]).toMatch(/^TIME +TYPE +ACTOR +SUBJECT +IP$/);
  }, 60_000);
});

describe('the README', () => {
  // "Trying it" runs as printed, in bash, against a test server: its CLI calls must print clean
  // JSON on stdout (npm run without -s prints its banner there, and jq fails on it), and the
  // variables the curl lines use must be set by the lines before them.
  it('"Trying it" runs as written and sets CLIENT_ID, CLIENT_SECRET and ACCESS_TOKEN', async () => {
    const server = await startTestServer();
    try {
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const section = readme.slice(readme.indexOf('## Trying it'));
      const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
      const audience = `https://${randomId('readme')}.example.test`;
      const script = block
        .replaceAll('http://localhost:3000', server.issuer)
        .replaceAll('https://api.example.test', audience);
      const { stdout } = await promisify(execFile)(
        'bash',
        ['-c', `set -euo pipefail\n${script}\necho\nprintf '%s\\n' "$CLIENT_ID" "$CLIENT_SECRET" "$ACCESS_TOKEN"`],
        { env: testEnv({ ISSUER: server.issuer }), cwd: new URL('../..', import.meta.url).pathname },
      );
      const lines = stdout.trimEnd().split('\n');
      const [id, secret, token] = lines.slice(-3);
      expect(secret).toMatch(/^tessera_cs_[A-Za-z0-9_-]{43}$/);
      expect(token?.split('.')).toHaveLength(3);
      // curl adds no newline: the revocation's answer follows the introspection's on its line.
      const introspection = firstJsonValue(lines.find((l) => l.startsWith('{"active"'))!);
      expect(introspection).toMatchObject({ active: true, client_id: id, aud: audience, scope: 'orders:read' });
    } finally {
      await server.close();
    }
  }, 120_000);
});

function firstJsonValue(text: string): unknown {
  for (let end = text.indexOf('}'); end !== -1; end = text.indexOf('}', end + 1)) {
    try {
      return JSON.parse(text.slice(0, end + 1));
    } catch {}
  }
  throw new Error(`no JSON object at the start of ${text}`);
}
