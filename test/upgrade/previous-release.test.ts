// Upgrades without failed requests, part one: this release's migrations are applied to a database
// that the PREVIOUS release (scripts/previous-release.ts: the newest v* tag, else the commit before
// the newest migration) is serving, under load, and the previous release's flows keep working on
// the migrated schema — tokens issued before the migration refresh after it, and its CLI still
// writes clients and users. This is what expand/contract (scripts/lint-migrations.ts) promises,
// checked with the real previous code rather than by reading SQL.
//
// The previous release is built from git (test/setup/previous-release.ts); CI clones with full
// history. Without it (a shallow clone) this test fails: it never skips.
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { applyMigrationsAt, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import {
  buildPreviousRelease,
  releaseCli,
  startRelease,
  type PreviousReleaseTree,
  type ReleaseProcess,
} from '../setup/previous-release.ts';
import { authorize } from '../setup/sign-in.ts';
import { TEST_SECRETS } from '../setup/tessera.ts';

const REDIRECT = 'https://app.example.test/callback';
let tree: PreviousReleaseTree;
let database: ScratchDatabase;
let server: ReleaseProcess;
let env: Record<string, string>;
const audience = `https://upgrade-${randomBytes(4).toString('hex')}.example.test`;

beforeAll(async () => {
  const started = performance.now();
  tree = buildPreviousRelease();
  console.log(
    `previous release ${tree.commit.slice(0, 12)} (${tree.reason}), node_modules ${tree.install}, built in ${Math.round(performance.now() - started)} ms`,
  );
  database = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_upgrade');
  const port = await freePort();
  env = {
    ...TEST_SECRETS,
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    HOST: '127.0.0.1',
    PORT: String(port),
    ISSUER: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
  };
  // The previous release creates its own schema, as it did in production.
  server = await startRelease(tree.dir, { ...env, MIGRATE_ON_START: 'true' }, env.ISSUER!);
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await database?.drop();
  tree?.remove();
});

const cli = <T>(args: string[], input = ''): Promise<T> =>
  releaseCli<T>(tree.dir, { ...env, MIGRATE_ON_START: 'false' }, args, input);
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function token(auth: string, body: Record<string, string>) {
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, string> };
}

/** The previous release's flows: a service client and a web app with a signed-in user. */
async function setUp() {
  const service = await cli<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'svc',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'r',
  ]);
  const email = `upgrade-${randomBytes(4).toString('hex')}@example.test`;
  await cli(['users', 'create', '--email', email, '--password-stdin'], 'correct horse battery');
  const web = await cli<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'web',
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid offline_access r',
  ]);
  return { service, web, user: { email, password: 'correct horse battery' } };
}

async function codeFlow(s: Awaited<ReturnType<typeof setUp>>) {
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(`${server.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: s.web.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid offline_access r',
    prompt: 'consent',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const code = (await authorize(url, s.user)).searchParams.get('code')!;
  const issued = await token(basic(s.web.client_id, s.web.client_secret), {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
  });
  expect(issued.status).toBe(200);
  return issued.body;
}

describe('the previous release on a database migrated by this one', () => {
  it('keeps serving while the migrations run, and its flows work after', async (context) => {
    context.onTestFailed(() => console.log(`previous release output:\n${server.output()}`));
    await cli(['apis', 'create', '--audience', audience, '--scope', 'r']);
    const before = await setUp();
    const cc = () =>
      token(basic(before.service.client_id, before.service.client_secret), { grant_type: 'client_credentials' });
    expect((await cc()).status).toBe(200);
    const earlier = await codeFlow(before);

    // Load while the migrations run: every answer must be a 200.
    let migrating = true;
    const answers: number[] = [];
    const load = (async () => {
      while (migrating) answers.push((await cc().catch(() => ({ status: 0 }))).status);
    })();
    const started = performance.now();
    const { applied } = await applyMigrationsAt(database.url, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
    const migrationMs = Math.round(performance.now() - started);
    // A few more requests on the migrated schema before the load stops.
    const until = answers.length + 5;
    while (answers.length < until) await new Promise((r) => setImmediate(r));
    migrating = false;
    await load;
    console.log(
      `applied ${applied.length} migrations (${applied.join(', ')}) in ${migrationMs} ms under ${answers.length} requests`,
    );
    expect(applied.length).toBeGreaterThan(0);
    expect(answers.filter((s) => s !== 200)).toEqual([]);

    // The previous release's flows on the migrated schema: old tokens refresh, its CLI writes.
    const refreshed = await token(basic(before.web.client_id, before.web.client_secret), {
      grant_type: 'refresh_token',
      refresh_token: earlier.refresh_token!,
    });
    expect(refreshed.status).toBe(200);
    const after = await setUp();
    expect(
      (await token(basic(after.service.client_id, after.service.client_secret), { grant_type: 'client_credentials' }))
        .status,
    ).toBe(200);
    const fresh = await codeFlow(after);
    expect(
      (
        await token(basic(after.web.client_id, after.web.client_secret), {
          grant_type: 'refresh_token',
          refresh_token: fresh.refresh_token!,
        })
      ).status,
    ).toBe(200);
    // Its /readyz: every migration it knows is applied.
    expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);
  }, 120_000);
});
