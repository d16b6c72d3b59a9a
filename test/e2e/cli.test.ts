// The admin CLI: what it prints, what it refuses, and that what it writes works at the server.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AdminClient, CLI_MODES, type CliMode, cliIn as cliInMode, createAdminClient } from '../setup/admin.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { newJar } from '../setup/sign-in.ts';
import { createClient, createUser, refresh, signInForTokens } from '../hardening/support.ts';

let server: TestServer;
let audience: string;
let admin: AdminClient;

beforeAll(async () => {
  server = await startTestServer();
  audience = `https://${randomId('cli')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'a:read a:write']);
  admin = await createAdminClient();
}, 60_000);
afterAll(() => server?.close());

// The commands that work both ways run in both modes: on the database, and remotely through the
// test server's admin API (cli/remote.ts), with the same expectations.
const MODES = CLI_MODES;
const cliIn = (mode: CliMode) => cliInMode(mode, () => ({ issuer: server.issuer, admin }));

const REDIRECT = 'https://app.example.test/callback';
/** The CLI on the database, for what a remote-mode test compares its output with. */
const database = (args: string[]) => tessera(args);

const grant = async (id: string, secret: string, scope?: string) => {
  const config = await oidc.discovery(new URL(server.issuer), id, secret, oidc.ClientSecretBasic(secret), {
    execute: [oidc.allowInsecureRequests],
  });
  return oidc.clientCredentialsGrant(config, scope ? { scope } : {});
};
// openid-client reports a 401 with WWW-Authenticate as a challenge error.
const invalidClient = { status: 401, cause: [{ scheme: 'basic', parameters: { error: 'invalid_client' } }] };

describe.each(MODES)('tessera clients (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode);
  it('prints the secret once, stores only a hash, and never shows it again', async () => {
    const created = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'once',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'a:read',
    ]);
    expect(created.client_secret).toMatch(/^tessera_cs_[A-Za-z0-9_-]{43}$/);

    const shown = await tessera(['--json', 'clients', 'show', created.client_id]);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).not.toContain(created.client_secret);
    expect(JSON.parse(shown.stdout).secrets).toEqual([
      { hint: `…${created.client_secret.slice(-4)}`, created_at: expect.any(String), expires_at: null },
    ]);

    const db = new pg.Client({ connectionString: inject('databaseUrl') });
    await db.connect();
    const { rows } = await db.query('SELECT hash FROM client_secrets WHERE client_id = $1', [created.client_id]);
    await db.end();
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0].hash).toString('latin1')).not.toContain(created.client_secret.slice(11, 30));
    expect(rows[0].hash).toHaveLength(32);
  });

  it('rotates a secret with a grace period: both work, then only the new one', async () => {
    const { client_id: id, client_secret: old } = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'rotating',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
    ]);
    const rotated = await tesseraJson<{ client_secret: string }>(['clients', 'rotate-secret', id, '--grace', '1h']);
    await expect(grant(id, old)).resolves.toHaveProperty('access_token');
    await expect(grant(id, rotated.client_secret)).resolves.toHaveProperty('access_token');

    const again = await tesseraJson<{ client_secret: string }>(['clients', 'rotate-secret', id, '--grace', '0']);
    await expect(grant(id, again.client_secret)).resolves.toHaveProperty('access_token');
    await expect(grant(id, old)).rejects.toMatchObject(invalidClient);
    await expect(grant(id, rotated.client_secret)).rejects.toMatchObject(invalidClient);
  });

  it('updates and deletes; a deleted client cannot authenticate', async () => {
    const { client_id: id, client_secret: secret } = await tesseraJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--name',
      'changing',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
      '--scope',
      'a:read',
    ]);
    const updated = await tesseraJson<{ name: string; apis: unknown[] }>([
      'clients',
      'update',
      id,
      '--name',
      'changed',
      '--scope',
      'a:read a:write',
    ]);
    expect(updated.name).toBe('changed');
    expect(updated.apis).toEqual([{ audience, scopes: ['a:read', 'a:write'], default: true }]);
    expect((await grant(id, secret, 'a:read a:write')).scope).toBe('a:read a:write');

    expect((await tessera(['clients', 'delete', id])).code).toBe(0);
    await expect(grant(id, secret)).rejects.toMatchObject(invalidClient);
    const again = await tessera(['clients', 'delete', id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`tessera: no client has id ${id}\n`);
  });

  // Each refusal's message is checked in test/unit/client-validation.test.ts, without a process;
  // here once that the CLI turns a refusal into exit code 2 and one line on stderr.
  it('refuses bad input with a clear message and exit code 2', async () => {
    const [refused, usage] = await Promise.all([
      tessera(['clients', 'create', '--name', 'x', '--grant-types', 'password']),
      tessera(['clients', 'frobnicate']),
    ]);
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'tessera: --grant-types: "password" is not one of client_credentials, authorization_code, refresh_token, device_code\n',
    });
    expect(usage.code).toBe(2);
  });
});

describe('tessera seed', () => {
  it('applies a YAML file idempotently, with secrets from environment references', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-seed-'));
    const api = `https://${randomId('seeded')}.example.test`;
    const clientId = randomId('seeded-client');
    const secret = `tessera_cs_${'s'.repeat(43)}`;
    const file = join(dir, 'seed.yaml');
    writeFileSync(
      file,
      [
        'apis:',
        `  - audience: ${api}`,
        '    name: Seeded',
        '    scopes: [s:read, s:write]',
        'clients:',
        `  - client_id: ${clientId}`,
        '    name: seeded service',
        '    grant_types: [client_credentials]',
        `    apis: [${api}]`,
        '    scope: s:read',
        '    client_secret: { env: TESSERA_SEED_SECRET }',
      ].join('\n'),
    );

    const first = await tesseraJson(['seed', file], { TESSERA_SEED_SECRET: secret });
    expect(first).toEqual({ apis: { [api]: 'created' }, clients: { [clientId]: 'created' }, users: {} });
    const second = await tesseraJson(['seed', file], { TESSERA_SEED_SECRET: secret });
    expect(second).toEqual({ apis: { [api]: 'unchanged' }, clients: { [clientId]: 'unchanged' }, users: {} });
    expect((await grant(clientId, secret, 's:read')).scope).toBe('s:read');

    // require_explicit_scope (issue 22): the seed field reaches the client and `clients show`.
    const strict = join(dir, 'strict.yaml');
    writeFileSync(strict, `${readFileSync(file, 'utf8')}\n    require_explicit_scope: true\n`);
    expect(await tesseraJson(['seed', strict], { TESSERA_SEED_SECRET: secret })).toMatchObject({
      clients: { [clientId]: 'updated' },
    });
    expect(await tesseraJson(['clients', 'show', clientId])).toMatchObject({ require_explicit_scope: true });

    const missing = await tessera(['seed', file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('environment variable TESSERA_SEED_SECRET is not set');

    const plain = join(dir, 'plain.json');
    writeFileSync(
      plain,
      JSON.stringify({
        clients: [{ client_id: 'p', name: 'p', grant_types: ['client_credentials'], client_secret: 'hunter2hunter2' }],
      }),
    );
    const refused = await tessera(['seed', plain]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'clients.0.client_secret: must be an environment reference { env: TESSERA_SEED_NAME }, never the secret itself',
    );
    expect(refused.stderr).not.toContain('hunter2');
  });
});

describe.each(MODES)('tessera users (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode);
  it('creates, shows, disables and enables; never prints a hash', async () => {
    const email = `${randomId('Mixed.Case')}@Example.test`;
    const created = await tessera(
      ['--json', 'users', 'create', '--email', email, '--name', 'Mixed', '--password-stdin'],
      { input: 'first password\n' },
    );
    expect(created.code).toBe(0);
    const user = JSON.parse(created.stdout);
    expect(user).toMatchObject({ email, name: 'Mixed', disabled: false, has_password: true });
    expect(created.stdout).not.toContain('argon2');

    // The email is unique whatever its case.
    const again = await tessera(['users', 'create', '--email', email.toLowerCase(), '--password-stdin'], {
      input: 'another password',
    });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists already');

    expect(await tesseraJson(['users', 'show', email.toUpperCase()])).toMatchObject({ id: user.id });
    expect(await tesseraJson(['users', 'disable', user.id])).toMatchObject({ disabled: true });
    expect(await tesseraJson(['users', 'enable', email])).toMatchObject({ disabled: false });
  });
});

describe.each(MODES)('tessera roles (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode);
  it('creates, grants, assigns, takes back and deletes a role, printing the same in both modes', async () => {
    const name = randomId('auditor');
    const email = `${randomId('role')}@example.test`;
    await tesseraJson(['users', 'create', '--email', email]);
    const client = await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'roles',
      '--grant-types',
      'client_credentials',
      '--api',
      audience,
    ]);
    expect(
      await tesseraJson(['roles', 'create', name, '--description', 'reads', '--api', audience, '--scope', 'a:read']),
    ).toMatchObject({ name, description: 'reads', permissions: [{ api: audience, scope: 'a:read' }] });
    expect(
      await tesseraJson(['roles', 'grant-permission', name, '--api', audience, '--scope', 'a:write']),
    ).toMatchObject({ permissions: [{ scope: 'a:read' }, { scope: 'a:write' }] });
    expect(
      await tesseraJson(['roles', 'revoke-permission', name, '--api', audience, '--scope', 'a:write']),
    ).toMatchObject({ permissions: [{ scope: 'a:read' }] });
    expect(await tesseraJson(['users', 'assign-role', email, '--role', name])).toEqual({ user: email, roles: [name] });
    expect(await tesseraJson(['clients', 'assign-role', client.client_id, '--role', name])).toEqual({
      client: client.client_id,
      roles: [name],
    });
    expect(await tesseraJson(['roles', 'show', name])).toMatchObject({ users: [email], clients: [client.client_id] });
    expect((await tesseraJson<{ name: string }[]>(['roles', 'list'])).map((r) => r.name)).toContain(name);
    expect(await tesseraJson(['users', 'remove-role', email, '--role', name])).toEqual({ user: email, roles: [] });
    expect(await tesseraJson(['clients', 'remove-role', client.client_id, '--role', name])).toEqual({
      client: client.client_id,
      roles: [],
    });
    // Text output, and a refusal: the same one line and exit 2 in both modes.
    expect((await tessera(['users', 'assign-role', email, '--role', name])).stdout).toBe(
      `${email} has roles: ${name}\n`,
    );
    const unknown = await tessera(['users', 'assign-role', email, '--role', `${name}-nope`]);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining(`${name}-nope`) });
    expect(await tesseraJson(['roles', 'delete', name])).toEqual({ deleted: name });
    expect((await tessera(['roles', 'show', name])).code).toBe(2);
  }, 180_000);
});

describe.each(MODES)('tessera api-keys (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode);
  it('creates (the value once), lists, shows, rotates, revokes and counts usage', async () => {
    const name = randomId('key');
    const created = await tesseraJson<{ id: string; value: string; name: string; api: string; scopes: string[] }>([
      'api-keys',
      'create',
      '--name',
      name,
      '--api',
      audience,
      '--scope',
      'a:read',
      '--quota',
      '100/min',
    ]);
    expect(created).toMatchObject({ name, api: audience, scopes: ['a:read'] });
    expect(created.value).toMatch(/^tsk_/);
    const listed = await tesseraJson<{ id: string }[]>(['api-keys', 'list', '--api', audience]);
    expect(listed.map((k) => k.id)).toContain(created.id);
    expect(JSON.stringify(listed)).not.toContain(created.value);
    expect(await tesseraJson(['api-keys', 'show', created.id])).toMatchObject({
      id: created.id,
      quota: { per_minute: 100, per_day: null },
    });
    const rotated = await tesseraJson<{ value: string; previous_valid_until: string | null }>([
      'api-keys',
      'rotate',
      created.id,
      '--grace',
      '1h',
    ]);
    expect(rotated.value).toMatch(/^tsk_/);
    expect(rotated.value).not.toBe(created.value);
    expect(rotated.previous_valid_until).not.toBeNull();
    expect(await tesseraJson(['api-keys', 'usage', created.id, '--since', '7d'])).toMatchObject({
      id: created.id,
      days: [],
    });
    expect(await tesseraJson(['api-keys', 'revoke', created.id])).toMatchObject({ id: created.id });
    expect((await tessera(['api-keys', 'rotate', created.id])).code).toBe(2);
  }, 180_000);
});

describe.each(MODES)('tessera orgs (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode);
  it('creates, updates, lists and shows an organization, its roles and members, then deletes it', async () => {
    const name = randomId('acme');
    const email = `${randomId('member')}@example.test`;
    await tesseraJson(['users', 'create', '--email', email]);
    const org = await tesseraJson<{ id: string }>(['orgs', 'create', name, '--display-name', 'Acme']);
    expect(org).toMatchObject({ name, display_name: 'Acme', mfa_required: false, allowed_email_domains: [] });
    expect(
      await tesseraJson(['orgs', 'update', name, '--mfa-required', '--allow-email-domain', 'acme.example']),
    ).toMatchObject({ mfa_required: true, allowed_email_domains: ['acme.example'], changed: expect.any(Array) });
    expect(
      await tesseraJson(['orgs', 'roles', 'create', name, 'viewer', '--api', audience, '--scope', 'a:read']),
    ).toMatchObject({ role: 'viewer' });
    expect(await tesseraJson(['orgs', 'add-member', name, email])).toMatchObject({ added: true });
    expect(await tesseraJson(['orgs', 'add-member', name, email])).toMatchObject({ added: false });
    expect(await tesseraJson(['orgs', 'assign-role', name, email, 'viewer'])).toMatchObject({ assigned: true });
    expect(await tesseraJson(['orgs', 'show', org.id])).toMatchObject({
      name,
      roles: [{ name: 'viewer', permissions: [{ audience, scope: 'a:read' }] }],
      members: [{ email, roles: ['viewer'] }],
    });
    expect(await tesseraJson<{ name: string; members: number }[]>(['orgs', 'list'])).toContainEqual(
      expect.objectContaining({ name, members: 1, roles: 1 }),
    );
    expect((await tessera(['orgs', 'show', name])).stdout).toContain('mfa required: yes');
    await tesseraJson(['orgs', 'remove-role', name, email, 'viewer']);
    await tesseraJson(['orgs', 'remove-member', name, email]);
    await tesseraJson(['orgs', 'roles', 'delete', name, 'viewer']);
    expect(await tesseraJson(['orgs', 'show', name])).toMatchObject({ roles: [], members: [] });
    expect(await tessera(['orgs', 'add-member', `${name}-nope`, email])).toMatchObject({ code: 2 });
    expect(await tesseraJson(['orgs', 'delete', name])).toEqual({ deleted: name });
    expect((await tessera(['orgs', 'show', name])).code).toBe(2);
  }, 180_000);
});

describe.each(MODES)('tessera users set-password (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode);
  it('applies the password policy in the same words, stores only an argon2id hash', async () => {
    const email = `${randomId('pw')}@example.test`;
    const user = await tesseraJson<{ id: string }>(['users', 'create', '--email', email]);
    const short = await tessera(['users', 'set-password', email, '--password-stdin'], { input: 'short' });
    expect(short).toMatchObject({ code: 2, stderr: 'tessera: Use at least 12 characters.\n' });
    // Long enough but common: the same strength check as the pages (services/password-policy.ts).
    const common = await tessera(['users', 'set-password', email, '--password-stdin'], { input: 'password1234' });
    expect(common.code).toBe(2);
    expect(common.stderr).toMatch(/^tessera: This password is too easy to guess\./);
    expect(
      await tessera(['users', 'set-password', email, '--password-stdin'], { input: 'a new long password' }),
    ).toEqual({ code: 0, stdout: `set the password of ${email}\n`, stderr: '' });
    expect(await tessera(['users', 'set-password', `${email}x`, '--password-stdin'], { input: 'x' })).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: no user ${email}x\n`,
    });

    const db = new pg.Client({ connectionString: inject('databaseUrl') });
    await db.connect();
    const { rows } = await db.query('SELECT password_hash FROM users WHERE id = $1', [user.id]);
    const audited = await db.query("SELECT actor FROM audit_events WHERE subject = $1 AND type = 'user.password_set'", [
      user.id,
    ]);
    await db.end();
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(rows[0].password_hash).not.toContain('a new long password');
    // The remote mode's change is the admin client's, as the admin API records its callers.
    expect(audited.rows).toEqual([
      { actor: mode === 'remote' ? `client:${admin.client_id}` : expect.stringMatching(/^cli:/) },
    ]);
    // The new password signs in.
    const app = await createClient([
      '--grant-types',
      'authorization_code',
      '--redirect-uri',
      REDIRECT,
      '--scope',
      'openid',
    ]);
    await signInForTokens(
      server.issuer,
      { ...app, redirect: REDIRECT, scope: 'openid' },
      { email, password: 'a new long password' },
      newJar(),
    );
  }, 180_000);
});

/** A new user signed in to a new web app: a session, and a grant with a refresh token. */
async function signedInUser() {
  const user = await createUser();
  const scope = 'openid offline_access';
  const app = await createClient([
    '--grant-types',
    'authorization_code,refresh_token',
    '--redirect-uri',
    REDIRECT,
    '--scope',
    scope,
  ]);
  const { tokens } = await signInForTokens(server.issuer, { ...app, redirect: REDIRECT, scope }, user, newJar());
  return { user, app, scope, tokens };
}

describe.each(MODES)('tessera grants (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode);
  it("lists a user's grants and revokes one with its consent, printing what the database mode prints", async () => {
    const { user, app, scope, tokens } = await signedInUser();
    const grants = await tesseraJson<{ grant_id: string }[]>(['grants', 'list', user.email]);
    expect(grants).toEqual([
      { grant_id: expect.any(String), client_id: app.client_id, scope, expires_at: expect.any(String) },
    ]);
    const id = grants[0]!.grant_id;
    // The table is the database mode's, byte for byte.
    const text = await tessera(['grants', 'list', user.email]);
    expect(text).toEqual({ code: 0, stdout: (await database(['grants', 'list', user.email])).stdout, stderr: '' });
    expect(text.stdout).toMatch(
      new RegExp(`^GRANT_ID +CLIENT_ID +SCOPE +EXPIRES\n${id} +${app.client_id} +${scope} +\\d{4}-`),
    );

    expect(await tessera(['grants', 'revoke', id, '--forget-consent'])).toEqual({
      code: 0,
      stdout: `revoked grant ${id}\n`,
      stderr: '',
    });
    expect(await refresh(server.issuer, app, tokens.refresh_token)).toEqual({ status: 400, error: 'invalid_grant' });
    expect(await tessera(['grants', 'list', user.email])).toMatchObject({ code: 0, stdout: 'no grants\n' });
    expect(await tessera(['grants', 'revoke', id])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: no grant ${id}\n`,
    });
    // One grant id in 32 starts with a dash: it is an id all the same (src/cli/operands.ts).
    const dashLed = `-${id.slice(1)}`;
    expect(await tessera(['grants', 'revoke', dashLed, '--forget-consent'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: no grant ${dashLed}\n`,
    });
    expect(await tessera(['grants', 'list', `nobody-${user.email}`])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: no user nobody-${user.email}\n`,
    });
  }, 180_000);
});

describe.each(MODES)('tessera users sessions, delete and audit (%s)', (mode) => {
  const { tessera, tesseraJson } = cliIn(mode);
  it("lists a user's sessions, deletes the user with their grants, and finds it in the audit trail", async () => {
    const { user, app, tokens } = await signedInUser();
    const sessions = await tesseraJson<{ uid: string; amr: string[] }[]>(['users', 'sessions', 'list', user.email]);
    expect(sessions).toEqual([
      { uid: expect.any(String), signed_in_at: expect.any(String), amr: ['pwd'], expires_at: expect.any(String) },
    ]);
    // The table is the database mode's, byte for byte.
    const text = await tessera(['users', 'sessions', 'list', user.email]);
    expect(text).toEqual({
      code: 0,
      stdout: (await database(['users', 'sessions', 'list', user.email])).stdout,
      stderr: '',
    });

    const { id } = await tesseraJson<{ id: string }>(['users', 'show', user.email]);
    expect(await tessera(['users', 'delete', user.email])).toEqual({
      code: 0,
      stdout: `deleted user ${user.email}\n`,
      stderr: '',
    });
    // Its grants ended with it: the app's refresh token is dead.
    expect(await refresh(server.issuer, app, tokens.refresh_token)).toEqual({ status: 400, error: 'invalid_grant' });
    expect(await tessera(['users', 'show', user.email])).toMatchObject({
      code: 2,
      stderr: `tessera: no user ${user.email}\n`,
    });
    const events = await tesseraJson<{ id: number; type: string; subject: string }[]>([
      'audit',
      '--type',
      'user.deleted',
      '--limit',
      '500',
    ]);
    expect(events.find((e) => e.subject === id)).toMatchObject({ id: expect.any(Number), type: 'user.deleted' });
  }, 180_000);
});

describe('tessera users (database only)', () => {
  it('seeds users from a file with password hashes or environment references, never plain text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-seed-users-'));
    const email = `${randomId('seeded')}@example.test`;
    const file = join(dir, 'users.yaml');
    writeFileSync(
      file,
      ['users:', `  - email: ${email}`, '    name: Seeded', '    password: { env: TESSERA_SEED_PASSWORD }'].join('\n'),
    );
    expect(await tesseraJson(['seed', file], { TESSERA_SEED_PASSWORD: 'seeded password 1' })).toMatchObject({
      users: { [email]: 'created' },
    });
    expect(await tesseraJson(['seed', file], { TESSERA_SEED_PASSWORD: 'seeded password 1' })).toMatchObject({
      users: { [email]: 'unchanged' },
    });
    expect(await tesseraJson(['seed', file], { TESSERA_SEED_PASSWORD: 'seeded password 2' })).toMatchObject({
      users: { [email]: 'updated' },
    });

    writeFileSync(file, ['users:', `  - email: ${email}`, '    password: plain-text-password'].join('\n'));
    const refused = await tessera(['seed', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'users.0.password: must be an environment reference { env: TESSERA_SEED_NAME }, never the secret itself',
    );
    expect(refused.stderr).not.toContain('plain-text-password');
  });
});
