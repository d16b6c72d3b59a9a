// Finding 11 of the security review: a public client (token_endpoint_auth_method none) must not
// serve an API. A client that serves an API may introspect that API's tokens, and a public client
// proves nothing but its client_id, so anyone who knows the id could introspect them. The CLI,
// the seed and the database each refuse it.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../src/db/client.ts';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { createQueries } from '../../src/db/queries/index.ts';
import { apiService } from '../../src/services/apis.ts';
import { clientService } from '../../src/services/clients.ts';
import { applySeed, parseSeed } from '../../src/services/seed.ts';
import { auditTrail } from '../../src/services/audit.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { userService } from '../../src/services/users.ts';
import { createScratchDatabase } from '../setup/postgres.ts';
import { randomId, tessera } from '../setup/tessera.ts';

const REFUSAL =
  "a public client cannot serve an API: it has no credentials, so anyone who knows its client_id could introspect the API's tokens";
const MIGRATION = '20261203220000_public_clients_serve_no_api';

const db = createDatabase({ url: inject('databaseUrl'), poolMax: 4 });
const queries = createQueries(db);
const pepper = Buffer.alloc(32, 9);
const apis = apiService(queries.apis);
const clients = clientService({
  clients: queries.clients,
  apis: queries.apis,
  exchange: queries.tokenExchange,
  pepper,
});
let audience: string;

beforeAll(async () => {
  audience = `https://${randomId('served')}.example.test`;
  await apis.create({ audience, scope: 's:read' });
});
afterAll(() => db.close());

const spa = (id: string) => ({
  id,
  name: 'spa',
  public: true,
  grantTypes: ['authorization_code'],
  redirectUris: ['https://spa.example.test/cb'],
});

describe('a public client serving an API', () => {
  it('is refused by the CLI with exit code 2 and one line, on create and on update', async () => {
    const created = randomId('public-serves');
    const existing = randomId('public');
    await clients.create(spa(existing));
    const [onCreate, onUpdate] = await Promise.all([
      tessera([
        'clients',
        'create',
        '--id',
        created,
        '--name',
        'spa',
        '--public',
        '--grant-types',
        'authorization_code',
        '--redirect-uri',
        'https://spa.example.test/cb',
        '--serves',
        audience,
      ]),
      tessera(['clients', 'update', existing, '--serves', audience]),
    ]);
    expect(onCreate).toEqual({ code: 2, stdout: '', stderr: `tessera: ${REFUSAL}\n` });
    expect(onUpdate).toEqual({ code: 2, stdout: '', stderr: `tessera: ${REFUSAL}\n` });
    expect(await queries.clients.find(created)).toBeNull();
    expect((await queries.clients.find(existing))?.serves).toEqual([]);
  });

  it('is refused by the seed before anything of the file is applied', async () => {
    const seededApi = `https://${randomId('seeded')}.example.test`;
    const confidential = randomId('seeded-service');
    const publicClient = randomId('seeded-spa');
    const seed = parseSeed({
      apis: [{ audience: seededApi, scopes: 's:read' }],
      clients: [
        {
          client_id: confidential,
          name: 'service',
          grant_types: ['client_credentials'],
          apis: [seededApi],
          serves: [seededApi],
          client_secret: { env: 'TESSERA_SEED_SECRET' },
        },
        {
          client_id: publicClient,
          name: 'spa',
          public: true,
          grant_types: ['authorization_code'],
          redirect_uris: ['https://spa.example.test/cb'],
          serves: [seededApi],
        },
      ],
    });
    await expect(
      applySeed(seed, {
        apis,
        clients,
        users: userService(queries.users),
        pepper,
        readEnv: () => `tessera_cs_${'s'.repeat(43)}`,
        audit: auditTrail(queries.auditEvents, createLogger({ level: 'silent' })),
        actor: 'test',
      }),
    ).rejects.toThrow(`client ${publicClient}: ${REFUSAL}`);
    expect(await queries.apis.findByAudience(seededApi)).toBeNull();
    expect(await queries.clients.find(confidential)).toBeNull();
    expect(await queries.clients.find(publicClient)).toBeNull();
  });
});

describe('the database', () => {
  const sql = new pg.Pool({ connectionString: inject('databaseUrl'), max: 4 });
  afterAll(() => sql.end());

  async function apiId() {
    return (await queries.apis.findByAudience(audience))!.id;
  }

  it('refuses a direct insert that makes a public client serve an API', async () => {
    const id = randomId('public');
    await clients.create(spa(id));
    await expect(
      sql.query('INSERT INTO api_servers (api_id, client_id) VALUES ($1, $2)', [await apiId(), id]),
    ).rejects.toMatchObject({ code: '23514', message: `client ${id}: ${REFUSAL}` });
  });

  it('refuses a direct update that makes a client serving an API public', async () => {
    const id = randomId('service');
    await clients.create({
      id,
      name: 'service',
      grantTypes: ['client_credentials'],
      apis: [audience],
      serves: [audience],
    });
    await expect(
      sql.query("UPDATE clients SET token_endpoint_auth_method = 'none' WHERE id = $1", [id]),
    ).rejects.toMatchObject({ code: '23514', message: `client ${id}: ${REFUSAL}` });
    expect((await queries.clients.find(id))?.tokenEndpointAuthMethod).toBe('client_secret_basic');
  });

  // The two writes race: each transaction checks the other's table, so without a lock each could
  // pass its check before the other commits.
  it('refuses the second of two concurrent writes that together would break the rule', async () => {
    for (const order of ['serve first', 'go public first'] as const) {
      const id = randomId('racing');
      await clients.create({ id, name: 'service', grantTypes: ['client_credentials'], apis: [audience] });
      const first = await sql.connect();
      const second = await sql.connect();
      try {
        await first.query('BEGIN');
        if (order === 'serve first')
          await first.query('INSERT INTO api_servers (api_id, client_id) VALUES ($1, $2)', [await apiId(), id]);
        else await first.query("UPDATE clients SET token_endpoint_auth_method = 'none' WHERE id = $1", [id]);
        const {
          rows: [{ pid }],
        } = await second.query('SELECT pg_backend_pid() AS pid');
        const racing =
          order === 'serve first'
            ? second.query("UPDATE clients SET token_endpoint_auth_method = 'none' WHERE id = $1", [id])
            : second.query('INSERT INTO api_servers (api_id, client_id) VALUES ($1, $2)', [await apiId(), id]);
        let settled = false;
        const outcome = racing
          .then(
            () => 'accepted',
            (err: { message: string }) => err.message,
          )
          .finally(() => {
            settled = true;
          });
        // The second write must wait on the first's lock until the first commits (without the
        // lock it finishes at once, and is wrongly accepted).
        while (!settled) {
          const { rows } = await sql.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [pid]);
          if (rows[0]?.wait_event_type === 'Lock') break;
        }
        await first.query('COMMIT');
        expect({ order, outcome: await outcome }).toEqual({ order, outcome: `client ${id}: ${REFUSAL}` });
      } finally {
        first.release();
        second.release();
      }
    }
  });
});

describe(`migration ${MIGRATION}`, () => {
  it('removes what earlier versions allowed, records each removal, and keeps everything else', async () => {
    const scratch = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_public_serves');
    const before = mkdtempSync(join(tmpdir(), 'tessera-migrations-'));
    cpSync(MIGRATIONS_DIR, before, { recursive: true, filter: (source) => !source.includes(MIGRATION) });
    const pool = new pg.Pool({ connectionString: scratch.url, max: 2 });
    try {
      await applyMigrations(pool, { migrationsDir: before, log: () => {} });
      await pool.query(`
        INSERT INTO apis (id, audience, scopes, access_token_ttl, updated_at) VALUES (gen_random_uuid(), 'https://api.example.test', '{}', 3600, now());
        INSERT INTO clients (id, name, grant_types, response_types, redirect_uris, post_logout_redirect_uris, token_endpoint_auth_method, updated_at)
          VALUES ('spa', 'spa', '{authorization_code}', '{code}', '{https://spa.example.test/cb}', '{}', 'none', now()),
                 ('service', 'service', '{client_credentials}', '{}', '{}', '{}', 'client_secret_basic', now());
        INSERT INTO api_servers (api_id, client_id) SELECT id, c FROM apis, unnest(ARRAY['spa', 'service']) AS c;
      `);
      expect((await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} })).applied).toEqual([
        MIGRATION,
      ]);
      const { rows: served } = await pool.query('SELECT client_id FROM api_servers ORDER BY client_id');
      expect(served).toEqual([{ client_id: 'service' }]);
      const { rows: events } = await pool.query('SELECT type, actor, subject, details FROM audit_events');
      expect(events).toEqual([
        {
          type: 'client.serves_removed',
          actor: `migration:${MIGRATION}`,
          subject: 'spa',
          details: { audience: 'https://api.example.test', reason: REFUSAL },
        },
      ]);
    } finally {
      await pool.end();
      await scratch.drop();
      rmSync(before, { recursive: true, force: true });
    }
  });
});
