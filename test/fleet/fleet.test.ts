// The fleet: Debian's haproxy in front of three Tessera processes on one database, as README
// "Running as a fleet" sets it up. The flows run through the balancer concurrently (client
// credentials with introspection and revocation, authorization code + PKCE with refresh
// families, device codes, a key rotation, a sign-in limit) while one replica is killed with
// SIGKILL and another is restarted (SIGTERM, exit 0, started again). Counted and printed: every
// request the balancer answered, its 5xx (none), lost refresh families (none), failed flows
// (none), codes redeemed at each replica, and how long the balancer took to notice the kill.
import * as oauth from 'oauth4webapi';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { freePort } from '../../src/db/embedded.ts';
import { approveDevice, basic, createUser, form, PASSWORD } from '../hardening/support.ts';
import { browserAt, ownLoopbackAddress } from '../hardening/loopback-browser.ts';
import { startHaproxy, type Haproxy } from '../setup/haproxy.ts';
import { buildPreviousRelease, type PreviousReleaseTree } from '../setup/previous-release.ts';
import { eventually } from '../setup/eventually.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';
import { startServerProcess, type ServerProcess } from '../setup/server-process.ts';
import { authorize, newJar } from '../setup/sign-in.ts';
import { randomId, tessera, tesseraJson, testEnv } from '../setup/tessera.ts';

const REDIRECT = 'https://app.example.test/callback';
const NAMES = ['r1', 'r2', 'r3'] as const;
type Name = (typeof NAMES)[number];
// How long a revocation may take to reach every replica before the test calls it lost: a
// notification takes milliseconds; this is slack for a loaded 2-core machine.
const REVOCATION_LAG_BOUND_MS = 2_000;
// The sign-in limit checked through the balancer: failed passwords per account and address.
const FAILURES = 5;

let database: ScratchDatabase;
let lb: Haproxy;
const ports = {} as Record<Name, number>;
const replicas = {} as Partial<Record<Name, ServerProcess>>;
let f: Fixtures;
// The account whose sign-in limit is exhausted through the balancer.
let target: { email: string; password: string };

/** A replica on `port`, behind the balancer at `issuer`. */
const replicaEnv = (port: number, databaseUrl: string, issuer: string) =>
  testEnv({
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    // One public issuer: the balancer's.
    ISSUER: issuer,
    // haproxy connects from 127.0.0.1 and sets X-Forwarded-For to the client's address.
    TRUSTED_PROXIES: '127.0.0.1',
    MIGRATE_ON_START: 'false',
    // Twice the balancer's 250 ms × fall 2, so it has taken the replica out before it refuses.
    SHUTDOWN_DRAIN_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '10000',
    KEYS_PUBLICATION_DELAY: '2',
    KEYS_CHECK_INTERVAL: '1',
    DEVICE_POLL_INTERVAL: '1',
    RATE_LIMIT_LOGIN_FAILURES: String(FAILURES),
    // Every flow signs in and enters device codes from 127.0.0.1; only the failures limit is
    // under test here.
    RATE_LIMIT_LOGIN_PER_IP: '100000',
    DEVICE_CODE_ATTEMPTS: '1000',
  });

async function startReplica(name: Name): Promise<ServerProcess> {
  const p = await startServerProcess(replicaEnv(ports[name], database.url, lb.url), `http://127.0.0.1:${ports[name]}`);
  replicas[name] = p;
  return p;
}

/** What the flows saw: every unexpected answer is a failure, with where it happened. */
interface Tally {
  failures: string[];
  /** When each failure was seen (performance.now()), in the order of `failures`. */
  failedAt: number[];
  flows: Record<string, number>;
  families: { started: number; lost: number; refreshes: number };
  codesAt: Record<string, number>;
  kids: Set<string>;
  /** Revocations, those another replica still called active right after, and the longest lag. */
  revocations: { total: number; late: number; maxLagMs: number };
}
const newTally = (): Tally => ({
  failures: [],
  failedAt: [],
  flows: {},
  families: { started: 0, lost: 0, refreshes: 0 },
  codesAt: {},
  kids: new Set(),
  revocations: { total: 0, late: 0, maxLagMs: 0 },
});

async function post(origin: string, path: string, fields: Record<string, string>, auth?: string) {
  const res = await fetch(`${origin}${path}`, {
    ...form(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) },
  }).catch((err: Error) => err);
  // No answer at all (the balancer closed the connection): a failure like any other.
  if (res instanceof Error) return { status: 0, replica: '-', body: { error: String(res.cause ?? res) } };
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { text: text.slice(0, 200) };
  }
  return { status: res.status, replica: res.headers.get('x-replica') ?? '?', body };
}

/** An error's message with any HTML page in it reduced to its words. */
const text = (err: unknown) =>
  String(err)
    .replace(/<(head|style)[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .slice(0, 600);

/** A fleet's worth of clients and users, made once through the CLI on the fleet's database. */
async function fixtures(databaseUrl: string, checkout?: string) {
  // The CLI of the release that runs (the previous one's, before an upgrade).
  const env = { DATABASE_URL: databaseUrl };
  const createClient = (args: string[]) =>
    tesseraJson<{ client_id: string; client_secret?: string }>(
      ['clients', 'create', '--name', randomId('fleet'), ...args],
      env,
      checkout,
    );
  const createUser = async () => {
    const email = `${randomId('fleet')}@example.test`;
    const made = await tessera(['users', 'create', '--email', email, '--password-stdin'], {
      env,
      input: PASSWORD,
      ...(checkout ? { root: checkout } : {}),
    });
    if (made.code !== 0) throw new Error(`users create: ${made.stderr}`);
    return { email, password: PASSWORD };
  };
  const audience = `https://${randomId('api')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'fleet:read'], env, checkout);
  // A user per signing-in flow: the account's failure counter (per account and address) counts
  // every attempt until it succeeds, so flows sharing one user from one address, with a sign-in
  // lost to the SIGKILL and a login POST haproxy re-sent, could reach the limit together.
  const [service, app, device, ...users] = await Promise.all([
    createClient(['--grant-types', 'client_credentials', '--api', audience, '--scope', 'fleet:read']),
    createClient([
      '--grant-types',
      'authorization_code,refresh_token',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--api',
      audience,
      '--scope',
      'openid offline_access fleet:read',
    ]),
    createClient([
      '--grant-types',
      'device_code,refresh_token',
      '--public',
      '--first-party',
      '--api',
      audience,
      '--scope',
      'openid offline_access fleet:read',
    ]),
    createUser(),
    createUser(),
    createUser(),
  ]);
  return {
    audience,
    service: { id: service.client_id, auth: basic(service.client_id, service.client_secret!) },
    app: { id: app.client_id, auth: basic(app.client_id, app.client_secret!) },
    device: { id: device.client_id },
    users: users as [(typeof users)[number], (typeof users)[number], (typeof users)[number]],
  };
}
type Fixtures = Awaited<ReturnType<typeof fixtures>>;

/** The flows, each in a loop until `running()` turns false; every unexpected answer is tallied. */
function flows(origin: string, f: Fixtures, tally: Tally, running: () => boolean) {
  const failed = (message: string) => {
    tally.failures.push(message);
    tally.failedAt.push(performance.now());
  };
  const fail = (what: string, got: { status: number; replica: string; body: unknown }) =>
    failed(`${what}: ${got.status} at ${got.replica} ${JSON.stringify(got.body).slice(0, 200)}`);
  const done = (flow: string) => {
    tally.flows[flow] = (tally.flows[flow] ?? 0) + 1;
  };
  let jwks: JSONWebKeySet = { keys: [] };
  const verify = async (jwt: string) => {
    const { kid } = decodeProtectedHeader(jwt);
    if (!jwks.keys.some((k) => k.kid === kid)) jwks = (await (await fetch(`${origin}/jwks`)).json()) as JSONWebKeySet;
    await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: origin, audience: f.audience });
    tally.kids.add(kid!);
  };

  async function clientCredentials() {
    while (running()) {
      const issued = await post(
        origin,
        '/token',
        { grant_type: 'client_credentials', scope: 'fleet:read' },
        f.service.auth,
      );
      if (issued.status !== 200) {
        fail('client_credentials', issued);
        continue;
      }
      const token = issued.body.access_token as string;
      await verify(token).catch((err) => failed(`verify: ${err}`));
      const active = await post(origin, '/token/introspection', { token }, f.service.auth);
      if (active.status !== 200 || active.body.active !== true) fail('introspection', active);
      const revoked = await post(origin, '/token/revocation', { token }, f.service.auth);
      if (revoked.status !== 200) fail('revocation', revoked);
      // A revocation at one replica reaches the others by a PostgreSQL notification
      // (db/notifications.ts, cache/revocations.ts), which arrives after the revoking response:
      // introspection at another replica at once may still say active. How late it was is
      // counted; never arriving within REVOCATION_LAG_BOUND_MS is a failure.
      const revokedAt = performance.now();
      let inactive = await post(origin, '/token/introspection', { token }, f.service.auth);
      if (inactive.status === 200 && inactive.body.active === true) {
        tally.revocations.late++;
        while (performance.now() - revokedAt < REVOCATION_LAG_BOUND_MS && inactive.body.active === true) {
          await new Promise((r) => setTimeout(r, 10)); // asking again for the notification's effect
          inactive = await post(origin, '/token/introspection', { token }, f.service.auth);
        }
        tally.revocations.maxLagMs = Math.max(tally.revocations.maxLagMs, Math.round(performance.now() - revokedAt));
      }
      if (inactive.status !== 200 || inactive.body.active !== false)
        fail(
          `introspection after revocation (issued at ${issued.replica}, revoked at ${revoked.replica}, kid ${decodeProtectedHeader(token).kid})`,
          inactive,
        );
      tally.revocations.total++;
      done('client credentials + introspection + revocation');
    }
  }

  async function codeAndRefresh(user: Fixtures['users'][number]) {
    while (running()) {
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(`${origin}/auth`);
      url.search = new URLSearchParams({
        client_id: f.app.id,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid offline_access fleet:read',
        prompt: 'consent',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).toString();
      let code: string;
      try {
        code = (await authorize(url, user, newJar())).searchParams.get('code')!;
      } catch (err) {
        failed(`sign-in: ${text(err)}`);
        continue;
      }
      const redeemed = await post(
        origin,
        '/token',
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
        f.app.auth,
      );
      if (redeemed.status !== 200) {
        fail('code redemption', redeemed);
        continue;
      }
      tally.codesAt[redeemed.replica] = (tally.codesAt[redeemed.replica] ?? 0) + 1;
      tally.families.started++;
      let refresh = redeemed.body.refresh_token as string;
      for (let i = 0; i < 3; i++) {
        const next = await post(origin, '/token', { grant_type: 'refresh_token', refresh_token: refresh }, f.app.auth);
        if (next.status !== 200) {
          fail('refresh', next);
          tally.families.lost++;
          break;
        }
        tally.families.refreshes++;
        refresh = next.body.refresh_token as string;
      }
      done('authorization code + PKCE + 3 refreshes');
    }
  }

  async function deviceCode() {
    while (running()) {
      const started = await post(origin, '/device/auth', { client_id: f.device.id, scope: 'openid fleet:read' });
      if (started.status !== 200) {
        fail('device authorization', started);
        continue;
      }
      try {
        await approveDevice(newJar(), origin, started.body.verification_uri_complete as string, f.users[2]);
      } catch (err) {
        failed(`device approval: ${text(err)}`);
        continue;
      }
      for (;;) {
        const polled = await post(origin, '/token', {
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: started.body.device_code as string,
          client_id: f.device.id,
        });
        if (polled.status === 200) break;
        // The approval is in the database before the page says so; a poll may still be early
        // by the interval's rules (slow_down) when an earlier one came within a second.
        if (polled.status === 400 && polled.body.error === 'slow_down') {
          await new Promise((r) => setTimeout(r, 1_100)); // the interval the server asked for
          continue;
        }
        fail('device token', polled);
        break;
      }
      done('device code');
    }
  }

  const workers = [
    clientCredentials(),
    clientCredentials(),
    codeAndRefresh(f.users[0]),
    codeAndRefresh(f.users[1]),
    deviceCode(),
  ];
  return Promise.all(workers);
}

// The flows running at once (flows() below): two client-credentials loops, two code loops, one device loop.
const FLOW_WORKERS = 5;
const FLOWS = [
  'client credentials + introspection + revocation',
  'authorization code + PKCE + 3 refreshes',
  'device code',
];

/** Runs the flows against `origin` until stopped; the test waits on their progress. */
function drive(origin: string, f: Fixtures) {
  const tally = newTally();
  let go = true;
  const work = flows(origin, f, tally, () => go);
  const until = async (flow: string, n: number) => {
    const deadline = performance.now() + 60_000;
    while ((tally.flows[flow] ?? 0) < n) {
      if (performance.now() > deadline)
        throw new Error(`${flow} did not reach ${n}: ${JSON.stringify(tally.flows)} ${tally.failures.slice(0, 3)}`);
      await new Promise((r) => setTimeout(r, 50)); // polling the tally the flows fill
    }
  };
  return {
    tally,
    /** Waits until every flow has run to its end once more, from now. */
    async onceMore() {
      const now = { ...tally.flows };
      await Promise.all(FLOWS.map((flow) => until(flow, (now[flow] ?? 0) + 1)));
    },
    async stop() {
      go = false;
      await work;
    },
  };
}

function report(title: string, figures: Record<string, unknown>) {
  const lines = Object.entries(figures).map(([k, v]) => `  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  console.log(`\n${title}\n${lines.join('\n')}\n`);
}

describe('three replicas behind haproxy', () => {
  beforeAll(async () => {
    database = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_fleet');
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
    await pool.end();
    for (const name of NAMES) ports[name] = await freePort();
    lb = await startHaproxy(NAMES.map((name) => ({ name, port: ports[name] })));
    // The CLI writes to the database directly: clients and users are made while replicas start.
    [f, target] = await Promise.all([
      fixtures(database.url),
      createUser(database.url),
      ...NAMES.map(async (name) => {
        await startReplica(name);
        await lb.waitFor(name, 'UP');
      }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(Object.values(replicas).map((p) => p?.kill()));
    await lb?.stop();
    await database?.drop();
  });

  it('serve every flow with zero 5xx while one is killed and another restarted', async () => {
    const started = performance.now();
    const phases: Record<string, number> = {};
    const mark = (phase: string) => {
      phases[phase] = Math.round((performance.now() - started) / 100) / 10;
    };
    const requestsBefore = await lb.requests();
    const driving = drive(lb.url, f);
    const { tally } = driving;

    try {
      await driving.onceMore();
      mark('every flow once');

      // A sign-in limit through the balancer: haproxy's X-Forwarded-For is the address counted.
      const address = ownLoopbackAddress();
      const login = await browserAt(address).signInPage(lb.url, f.app.id, REDIRECT);
      const attempts = await Promise.all(
        Array.from({ length: FAILURES + 3 }, (_, i) => login(target.email, `wrong ${i}`)),
      );
      const limited: Record<number, number> = {};
      for (const a of attempts) limited[a.status] = (limited[a.status] ?? 0) + 1;
      expect(limited).toEqual({ 401: FAILURES, 429: 3 });
      const audit = new pg.Client({ connectionString: database.url });
      await audit.connect();
      const { rows } = await audit.query(`SELECT count(*)::int AS n FROM audit_events WHERE ip = $1`, [address]);
      await audit.end();
      expect(rows[0].n).toBeGreaterThan(0);
      mark('sign-in limit');

      // A key rotation, while the fleet is disrupted: the new key is published at once and signs
      // after 2 s, on every replica.
      const rotation = tessera(['keys', 'rotate'], {
        env: { DATABASE_URL: database.url, KEYS_PUBLICATION_DELAY: '2' },
      });

      // SIGKILL: the balancer notices by failed checks and meanwhile retries elsewhere.
      const killedAt = performance.now();
      await replicas.r1!.kill();
      await lb.waitFor('r1', 'DOWN');
      const recoveryMs = Math.round(performance.now() - killedAt);
      const killWindowEnd = performance.now() + 1_000;
      mark('r1 killed and out');
      const r1Back = startReplica('r1').then(() => lb.waitFor('r1', 'UP'));

      // A restart: SIGTERM drains (not ready first), exits 0, and the replica comes back.
      const stopAt = performance.now();
      const stopping = replicas.r2!.stop();
      await lb.waitFor('r2', 'DOWN');
      const outOfRotationMs = Math.round(performance.now() - stopAt);
      expect(await stopping).toBe(0);
      mark('r2 stopped');
      await startReplica('r2');
      await lb.waitFor('r2', 'UP');
      await r1Back;
      mark('r1 and r2 back');
      const rotated = await rotation;
      expect(rotated.code, rotated.stderr).toBe(0);
      // The new key signs once its publication delay has passed and a replica has taken the step
      // (within KEYS_CHECK_INTERVAL); the flows, still running, see it then.
      await eventually(() => tally.kids.size === 2, { timeoutMs: 20_000 });
      // Every flow once more on the whole fleet, after the rotated key has started signing.
      await driving.onceMore();
      await driving.stop();
      mark('flows done');

      const figures = {
        'requests at the balancer': (await lb.requests()) - requestsBefore,
        '5xx at the balancer': await lb.frontend5xx(),
        'failed flows': tally.failures.length,
        flows: tally.flows,
        revocations: tally.revocations,
        'refresh families': tally.families.started,
        refreshes: tally.families.refreshes,
        'lost refresh families': tally.families.lost,
        'codes redeemed at each replica': tally.codesAt,
        'signing keys seen': tally.kids.size,
        'balancer noticed the SIGKILL after (ms)': recoveryMs,
        'balancer took the SIGTERMed replica out after (ms)': outOfRotationMs,
        'sign-in limit through the balancer': limited,
        'phases (s from the start)': phases,
      };
      report('fleet: three replicas behind haproxy, one killed, one restarted', figures);

      // A request the killed replica had acted on when it died cannot be answered: the balancer
      // retries it elsewhere (no answer came), and a one-time step (an interaction resumed, a
      // device code confirmed) is then gone. Those fail with a 4xx, not a 5xx, and only while
      // the kill is fresh: at most one per flow running then. Every other failure counts.
      const atKill = tally.failures.filter(
        (_, i) => tally.failedAt[i]! >= killedAt && tally.failedAt[i]! <= killWindowEnd,
      );
      const otherwise = tally.failures.filter(
        (_, i) => !(tally.failedAt[i]! >= killedAt && tally.failedAt[i]! <= killWindowEnd),
      );
      console.log(
        `fleet: requests in flight at the killed replica that failed: ${atKill.length}\n${atKill.join('\n')}`,
      );
      expect(otherwise).toEqual([]);
      expect(atKill.length).toBeLessThanOrEqual(FLOW_WORKERS);
      expect(figures['5xx at the balancer']).toBe(0);
      expect(tally.families.lost).toBe(0);
      // Codes were redeemed at every replica (each issued at whichever the balancer chose).
      expect(Object.keys(tally.codesAt).sort()).toEqual(expect.arrayContaining(['r2', 'r3']));
      expect(tally.kids.size).toBe(2);
    } finally {
      await driving.stop().catch(() => {});
    }
  }, 180_000);
});

// A rolling upgrade from the previous release (test/setup/previous-release.ts: the commit before
// the newest migration), as README "Running as a fleet" prescribes: the new release's migration
// runs while the old replicas serve (expand/contract: it only adds), then each old replica is
// stopped (SIGTERM) and a new one started in its place, one at a time. The flows run through the
// balancer all along, on old and new replicas side by side.
describe('a rolling upgrade from the previous release behind haproxy', () => {
  let previous: PreviousReleaseTree;
  let upgradeDb: ScratchDatabase;
  let balancer: Haproxy;
  const running = {} as Partial<Record<Name, ServerProcess>>;
  const upgradePorts = {} as Record<Name, number>;
  // The sign-in limits are the other test's subject; here they are out of the way. The release
  // this test takes as the previous one (the commit before the newest migration) may be an
  // integration commit with a bug since fixed: 52bfeb3 forgot no successful sign-in's count
  // (fixed in the commit that added test/hardening/sign-in-limits.test.ts › successful
  // sign-ins spend nothing), so with the low limit its users were locked out after five.
  const env = (name: Name) => ({
    ...replicaEnv(upgradePorts[name], upgradeDb.url, balancer.url),
    RATE_LIMIT_LOGIN_FAILURES: '100000',
  });

  beforeAll(async () => {
    // Extracted from git and installed (node_modules reused when the lockfile allows).
    previous = buildPreviousRelease();
    upgradeDb = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_upgrade');
    const pool = new pg.Pool({ connectionString: upgradeDb.url, max: 1 });
    await applyMigrations(pool, { migrationsDir: `${previous.dir}/prisma/migrations`, log: () => {} });
    await pool.end();
    for (const name of NAMES) upgradePorts[name] = await freePort();
    balancer = await startHaproxy(NAMES.map((name) => ({ name, port: upgradePorts[name] })));
    await Promise.all(
      NAMES.map(async (name) => {
        running[name] = await startServerProcess(env(name), `http://127.0.0.1:${upgradePorts[name]}`, previous.dir);
        await balancer.waitFor(name, 'UP');
      }),
    );
  }, 600_000);

  afterAll(async () => {
    await Promise.all(Object.values(running).map((p) => p?.kill()));
    await balancer?.stop();
    await upgradeDb?.drop();
    previous?.remove();
  });

  it('serves every flow with zero failed requests while the migration runs and each replica is replaced', async () => {
    const started = performance.now();
    const phases: Record<string, number> = {};
    const mark = (phase: string) => {
      phases[phase] = Math.round((performance.now() - started) / 100) / 10;
    };
    // Clients and users made by the release that runs.
    const f = await fixtures(upgradeDb.url, previous.dir);
    const requestsBefore = await balancer.requests();
    const driving = drive(balancer.url, f);
    const { tally } = driving;
    try {
      await driving.onceMore();
      mark('old fleet serving');

      // The migration job of the new release, while the old release serves.
      const migrated = await tessera(['migrate'], { env: { DATABASE_URL: upgradeDb.url } });
      expect(migrated.code, migrated.stderr).toBe(0);
      await driving.onceMore();
      mark('migrated, old fleet still serving');

      // One at a time: stop an old replica (it drains), start a new one on its port.
      const exitCodes: Record<string, number | null> = {};
      for (const name of NAMES) {
        exitCodes[name] = await running[name]!.stop();
        await balancer.waitFor(name, 'DOWN');
        running[name] = await startServerProcess(env(name), `http://127.0.0.1:${upgradePorts[name]}`);
        await balancer.waitFor(name, 'UP');
        await driving.onceMore();
        mark(`${name} replaced`);
      }
      await driving.stop();

      const figures = {
        'previous release': `${previous.commit.slice(0, 12)} (${previous.reason})`,
        'requests at the balancer': (await balancer.requests()) - requestsBefore,
        '5xx at the balancer': await balancer.frontend5xx(),
        'failed flows': tally.failures.length,
        flows: tally.flows,
        revocations: tally.revocations,
        'refresh families': tally.families.started,
        'lost refresh families': tally.families.lost,
        'codes redeemed at each replica': tally.codesAt,
        'old replicas exited with': exitCodes,
        'phases (s from the start)': phases,
      };
      report('rolling upgrade: previous release to this one, behind haproxy', figures);

      expect(tally.failures).toEqual([]);
      expect(figures['5xx at the balancer']).toBe(0);
      expect(tally.families.lost).toBe(0);
      expect(exitCodes).toEqual({ r1: 0, r2: 0, r3: 0 });
    } finally {
      await driving.stop().catch(() => {});
    }
  }, 240_000);
});
