// Issue 16, findings 10 and 13: what a seed file may read from the environment (only variables
// named TESSERA_SEED_*) and what it leaves in the audit trail; emails compared in Unicode NFC, at
// every entry (CLI, seed, sign-in) and in the database.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { createScratchDatabase } from '../setup/postgres.ts';
import { randomId, startTestServer, tessera, type TestServer } from '../setup/tessera.ts';
import { browserAt, ownLoopbackAddress } from './loopback-browser.ts';
import { createClient, PASSWORD } from './support.ts';

const REDIRECT = 'https://app.example.test/callback';

let server: TestServer;
let clientId: string;
let db: pg.Pool;

beforeAll(async () => {
  [server, { client_id: clientId }] = await Promise.all([
    startTestServer(),
    createClient([
      '--grant-types',
      'authorization_code',
      '--public',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--scope',
      'openid',
    ]),
  ]);
  db = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await db?.end();
});

// "é" as one code point (NFC) and as "e" + U+0301 COMBINING ACUTE ACCENT (NFD).
const nfcAndNfd = () => {
  const local = `${randomId('ren\u00e9e')}`;
  return { nfc: `${local}@example.test`, nfd: `${local}@example.test`.normalize('NFD') };
};

describe('finding 13: emails are compared in Unicode NFC', () => {
  it('the CLI refuses the NFD spelling of an NFC email as a duplicate, and sign-in accepts either spelling', async () => {
    const { nfc, nfd } = nfcAndNfd();
    expect(nfd).not.toBe(nfc);
    const created = await tessera(['--json', 'users', 'create', '--email', nfc, '--password-stdin'], {
      input: PASSWORD,
    });
    expect(created.code, created.stderr).toBe(0);
    const duplicate = await tessera(['users', 'create', '--email', nfd, '--password-stdin'], {
      input: 'another password',
    });
    expect(duplicate).toMatchObject({ code: 2, stderr: `tessera: a user with email ${nfc} exists already\n` });

    const { rows } = await db.query('SELECT email, email_normalized FROM users WHERE email_normalized = $1', [nfc]);
    expect(rows).toEqual([{ email: nfc, email_normalized: nfc }]);
    // Both spellings find the account in the CLI and at sign-in.
    expect(JSON.parse((await tessera(['--json', 'users', 'show', nfd])).stdout)).toMatchObject({
      id: JSON.parse(created.stdout).id,
    });
    const login = await browserAt(ownLoopbackAddress()).signInPage(server.issuer, clientId, REDIRECT);
    expect((await login(nfd, PASSWORD)).status).toBe(303);
  }, 60_000);

  it('created as NFD, the account signs in with the NFC spelling (what browsers send)', async () => {
    const { nfc, nfd } = nfcAndNfd();
    expect((await tessera(['users', 'create', '--email', nfd, '--password-stdin'], { input: PASSWORD })).code).toBe(0);
    const duplicate = await tessera(['users', 'create', '--email', nfc.toUpperCase(), '--password-stdin'], {
      input: PASSWORD,
    });
    expect(duplicate.code).toBe(2);
    const login = await browserAt(ownLoopbackAddress()).signInPage(server.issuer, clientId, REDIRECT);
    expect((await login(nfc, PASSWORD)).status).toBe(303);
  }, 60_000);

  it('the seed file finds an account whatever the spelling: the NFD spelling updates the NFC account', async () => {
    const { nfc, nfd } = nfcAndNfd();
    const dir = mkdtempSync(join(tmpdir(), 'tessera-seed-nfc-'));
    try {
      const file = (email: string, name: string) => {
        const path = join(dir, `${name}.json`);
        writeFileSync(path, JSON.stringify({ users: [{ email, name }] }));
        return path;
      };
      expect(JSON.parse((await tessera(['--json', 'seed', file(nfc, 'first')])).stdout)).toEqual({
        apis: {},
        clients: {},
        users: { [nfc]: 'created' },
      });
      expect(JSON.parse((await tessera(['--json', 'seed', file(nfd, 'second')])).stdout)).toEqual({
        apis: {},
        clients: {},
        users: { [nfd]: 'updated' },
      });
      const { rows } = await db.query('SELECT name FROM users WHERE email_normalized = $1', [nfc]);
      expect(rows).toEqual([{ name: 'second' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("the migration brings existing rows to NFC, and marks a row whose NFC form is another account's", async () => {
    // The migrations before this one, then rows as the old code wrote them, then this one.
    const before = mkdtempSync(join(tmpdir(), 'tessera-migrations-'));
    cpSync(MIGRATIONS_DIR, before, { recursive: true, filter: (path) => !path.includes('_users_email_nfc') });
    const scratch = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_nfc');
    const pool = new pg.Pool({ connectionString: scratch.url, max: 1 });
    try {
      await applyMigrations(pool, { migrationsDir: before, log: () => {} });
      const lone = nfcAndNfd();
      const pair = nfcAndNfd();
      const insert = `INSERT INTO users (id, email, email_normalized, updated_at) VALUES ($1, $2, $2, now())`;
      const ids = {
        lone: '00000000-0000-4000-8000-000000000001',
        nfc: '00000000-0000-4000-8000-000000000002',
        nfd: '00000000-0000-4000-8000-000000000003',
      };
      await pool.query(insert, [ids.lone, lone.nfd]);
      await pool.query(insert, [ids.nfc, pair.nfc]);
      await pool.query(insert, [ids.nfd, pair.nfd]);

      expect((await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} })).applied).toEqual([
        expect.stringMatching(/_users_email_nfc$/),
      ]);
      const { rows } = await pool.query('SELECT id, email, email_normalized FROM users ORDER BY id');
      expect(rows).toEqual([
        { id: ids.lone, email: lone.nfc, email_normalized: lone.nfc },
        { id: ids.nfc, email: pair.nfc, email_normalized: pair.nfc },
        { id: ids.nfd, email: pair.nfc, email_normalized: `${pair.nfc} (duplicate of another account, ${ids.nfd})` },
      ]);
    } finally {
      await pool.end();
      await scratch.drop();
      rmSync(before, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('finding 10: what a seed file may read, and what it leaves in the audit trail', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-seed-audit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const seedFile = (document: unknown) => {
    const path = join(dir, `${randomId('seed')}.json`);
    writeFileSync(path, JSON.stringify(document));
    return path;
  };

  it('a reference to a variable outside TESSERA_SEED_* is refused, by name, and nothing is applied', async () => {
    const audience = `https://${randomId('never')}.example.test`;
    const email = `${randomId('never')}@example.test`;
    const clientId = randomId('never');
    for (const name of ['DATABASE_URL', 'KEYS_ENCRYPTION_KEY', 'CLIENT_SECRET_PEPPER']) {
      const file = seedFile({
        apis: [{ audience, scopes: ['x:read'] }],
        clients: [
          {
            client_id: clientId,
            name: 'never',
            grant_types: ['client_credentials'],
            apis: [audience],
            client_secret: { env: name },
          },
        ],
        users: [{ email, password: { env: 'TESSERA_SEED_NEVER_PASSWORD' } }],
      });
      const refused = await tessera(['seed', file], { env: { TESSERA_SEED_NEVER_PASSWORD: 'a fine password' } });
      expect(refused).toEqual({
        code: 2,
        stdout: '',
        stderr: `tessera: the seed file is invalid:\n  clients.0.client_secret: { env: ${name} } is not readable: a seed file reads only variables whose names start with TESSERA_SEED_\n`,
      });
    }
    const user = await tessera(['users', 'create', '--email', email, '--password-stdin'], { input: PASSWORD });
    expect(user.code, 'the user was not created by the refused seed').toBe(0);
    const { rows } = await db.query(
      'SELECT (SELECT count(*)::int FROM apis WHERE audience = $1) AS apis, (SELECT count(*)::int FROM clients WHERE id = $2) AS clients',
      [audience, clientId],
    );
    expect(rows).toEqual([{ apis: 0, clients: 0 }]);
  }, 120_000);

  it('applying a seed file writes the audit events the CLI writes for the same changes', async () => {
    const audience = `https://${randomId('seeded')}.example.test`;
    const email = `${randomId('seeded')}@example.test`;
    const clientId = randomId('seeded');
    const env = {
      TESSERA_SEED_CLIENT_SECRET: `tessera_cs_${'s'.repeat(43)}`,
      TESSERA_SEED_PASSWORD: 'seeded password 1',
    };
    const document = (names: string, scopes: string[]) => ({
      apis: [{ audience, name: `api ${names}`, scopes }],
      clients: [
        {
          client_id: clientId,
          name: `client ${names}`,
          grant_types: ['client_credentials'],
          apis: [audience],
          client_secret: { env: 'TESSERA_SEED_CLIENT_SECRET' },
        },
      ],
      users: [{ email, name: `user ${names}`, password: { env: 'TESSERA_SEED_PASSWORD' } }],
    });
    const seed = async (file: string, vars: Record<string, string>) => {
      const applied = await tessera(['--json', 'seed', file], { env: vars });
      expect(applied.code, applied.stderr).toBe(0);
      return JSON.parse(applied.stdout) as unknown;
    };
    expect(await seed(seedFile(document('one', ['x:read'])), env)).toEqual({
      apis: { [audience]: 'created' },
      clients: { [clientId]: 'created' },
      users: { [email]: 'created' },
    });
    const userId = (await db.query('SELECT id FROM users WHERE email_normalized = $1', [email])).rows[0].id as string;
    const events = async () =>
      (
        await db.query('SELECT type, actor, subject, details FROM audit_events WHERE subject = ANY($1) ORDER BY id', [
          [audience, clientId, userId],
        ])
      ).rows;
    const cli = expect.stringMatching(/^cli:/);
    const created = [
      { type: 'api.created', actor: cli, subject: audience, details: {} },
      { type: 'client.created', actor: cli, subject: clientId, details: { grant_types: ['client_credentials'] } },
      { type: 'user.created', actor: cli, subject: userId, details: {} },
    ];
    expect(await events()).toEqual(created);

    // The same file again changes nothing and records nothing.
    expect(await seed(seedFile(document('one', ['x:read'])), env)).toEqual({
      apis: { [audience]: 'unchanged' },
      clients: { [clientId]: 'unchanged' },
      users: { [email]: 'unchanged' },
    });
    expect(await events()).toEqual(created);

    // New names, scopes, secret and password: each change is recorded, the password's apart.
    const changed = {
      TESSERA_SEED_CLIENT_SECRET: `tessera_cs_${'t'.repeat(43)}`,
      TESSERA_SEED_PASSWORD: 'seeded password 2',
    };
    expect(await seed(seedFile(document('two', ['x:read', 'x:write'])), changed)).toEqual({
      apis: { [audience]: 'updated' },
      clients: { [clientId]: 'updated' },
      users: { [email]: 'updated' },
    });
    expect(await events()).toEqual([
      ...created,
      { type: 'api.updated', actor: cli, subject: audience, details: {} },
      { type: 'client.updated', actor: cli, subject: clientId, details: {} },
      { type: 'user.updated', actor: cli, subject: userId, details: {} },
      { type: 'user.password_set', actor: cli, subject: userId, details: {} },
    ]);
    expect(JSON.stringify(await events())).not.toContain('seeded password');
  }, 120_000);
});
