// `npm run bench:sign-in`: full sign-ins per second against one running Tessera on a real
// PostgreSQL — the authorization request, the sign-in page, its POST(s), the code and the token
// request, each sign-in from a new browser (no session) and a client address of its own — with:
//   - a password only;
//   - a password and an authenticator app (TOTP): a pool of users whose secrets the bench
//     enrolled (sealed as Tessera seals them), codes made with otpauth; a code is single-use per
//     30-second step (WINDOW ±1 accepts three steps), so each user signs in at most three times
//     per step and the pool is sized to the rate;
//   - a passkey alone: a software authenticator (an ES256 key pair per user, its COSE public key
//     stored as a registration stores it), signing assertions over authenticatorData and
//     clientDataJSON as @simplewebauthn/server verifies them;
// and argon2id alone (Tessera's own verifyPassword, with its concurrency limit) on the same cores,
// the ceiling of any sign-in that checks a password. Each scenario also records its CPU per sign-in
// (per hash) in the bench's process (the browsers), the server and PostgreSQL: the budget that a
// rate relative to argon2id's leaves. Writes bench/results/sign-in-<date>T<time>.json.
//
// Environment: BENCH_DATABASE_URL (default TEST_DATABASE_URL, else an embedded PostgreSQL),
// BENCH_SECONDS per scenario and round (default 5), BENCH_ROUNDS (default 3), BENCH_CONCURRENCY
// (default 8), BENCH_TOTP_USERS (default 1200: a quiet 2-core machine signs in ~35 a second with TOTP).
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import * as OTPAuth from 'otpauth';
import pg from 'pg';
import { freePort } from '../src/db/embedded.ts';
import { seal } from '../src/keys/seal.ts';
import { totpSecretAad } from '../src/mfa/totp.ts';
import { hashPassword, verifyPassword } from '../src/services/passwords.ts';
import { costMeter, perRequest } from './costs.ts';
import { median } from './median.ts';
import { authorizationCodeFlow, type FlowTarget, type PageAnswer, runLoops } from './flows.ts';
import {
  benchEnv,
  benchSecrets,
  database,
  provision,
  root,
  type Server,
  startProcess,
  stopProcess,
} from './tessera.ts';
import type { LoadResult } from './wrk.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
// The scenarios run in turn, round after round: on a shared machine whose speed drifts from one
// minute to the next, each scenario then sees the same spread of conditions (as bench/run.ts
// loads its servers cell by cell).
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const totpUsers = Number(process.env.BENCH_TOTP_USERS ?? 1200);
const PASSWORD = `bench-${randomBytes(8).toString('hex')}`;

/** A client address of each sign-in's own (198.18.0.0/15, for benchmarks), so that no limiter row is shared. */
const ownAddress = () => ({
  'x-forwarded-for': `198.${18 + (Math.random() < 0.5 ? 0 : 1)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 254) + 1}`,
});

async function insertUsers(db: pg.Client, prefix: string, count: number, passwordHash: string): Promise<string[][]> {
  const { rows } = await db.query<{ id: string; email: string }>(
    `INSERT INTO users (id, email, email_normalized, email_verified, password_hash, created_at, updated_at)
     SELECT gen_random_uuid(), e, e, true, $3, now(), now()
     FROM (SELECT $1 || i || '@bench.test' AS e FROM generate_series(1, $2::int) i) s
     RETURNING id::text, email`,
    [prefix, count, passwordHash],
  );
  return rows.map((r) => [r.id, r.email]);
}

// ---- TOTP: a pool of enrolled users, each code used once per step ----
interface TotpUser {
  email: string;
  totp: OTPAuth.TOTP;
  lastStep: number;
}

/** The user and code for the next sign-in: the earliest step still unused by someone, within ±1 of now. */
function nextCode(pool: TotpUser[]): { user: TotpUser; code: string } {
  const now = Math.floor(Date.now() / 30_000);
  // Steps now and next first: a code of the step before may expire between here and the server.
  for (const step of [now, now + 1, now - 1]) {
    const user = pool.find((u) => u.lastStep < step);
    if (user) {
      user.lastStep = step;
      return { user, code: user.totp.generate({ timestamp: step * 30_000 }) };
    }
  }
  throw new Error('the TOTP pool is used up for this step: raise BENCH_TOTP_USERS');
}

// ---- Passkeys: a software authenticator ----
interface Authenticator {
  userId: string;
  email: string;
  credentialId: string;
  key: KeyObject;
}

/** The COSE_Key (RFC 9052 §7, RFC 9053 §2.1) of a P-256 public key, ES256: what a registration stores. */
function coseKey(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  return isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]),
  );
}

/**
 * An assertion for `challenge` (WebAuthn §6.1 authenticatorData, §5.8.1 clientDataJSON): the RP
 * ID's hash, flags UP|UV|BE|BS (a synced passkey that verified its user), counter 0 (no
 * counter, as synced passkeys report), signed with ES256 over authenticatorData || SHA-256(clientDataJSON).
 */
function assertion(a: Authenticator, challenge: string, issuer: URL): string {
  const flags = 0x01 | 0x04 | 0x08 | 0x10;
  const authenticatorData = Buffer.concat([
    createHash('sha256').update(issuer.hostname).digest(),
    Buffer.from([flags]),
    Buffer.alloc(4),
  ]);
  const clientDataJSON = Buffer.from(
    JSON.stringify({ type: 'webauthn.get', challenge, origin: issuer.origin, crossOrigin: false }),
  );
  const signature = sign(
    'sha256',
    Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]),
    a.key,
  );
  return JSON.stringify({
    id: a.credentialId,
    rawId: a.credentialId,
    type: 'public-key',
    authenticatorAttachment: 'platform',
    clientExtensionResults: {},
    response: {
      authenticatorData: authenticatorData.toString('base64url'),
      clientDataJSON: clientDataJSON.toString('base64url'),
      signature: signature.toString('base64url'),
      userHandle: Buffer.from(a.userId).toString('base64url'),
    },
  });
}

/** CPU milliseconds (of one core) per sign-in: the bench's process, the server's, PostgreSQL's backends. */
interface CpuPerSignIn {
  bench: number;
  server: number;
  postgres?: number;
}

/** Each part's median over the rounds. */
function medianCpu(rounds: CpuPerSignIn[]): CpuPerSignIn {
  const pg = rounds.map((r) => r.postgres).filter((x): x is number => x !== undefined);
  return {
    bench: median(rounds.map((r) => r.bench)),
    server: median(rounds.map((r) => r.server)),
    postgres: pg.length ? median(pg) : undefined,
  };
}

/** argon2id verifications per second through Tessera's verifyPassword, `concurrency` at a time. */
async function argon2Rate(hash: string): Promise<LoadResult> {
  return runLoops(
    concurrency,
    seconds,
    async () => undefined,
    async () => {
      if (!(await verifyPassword(hash, PASSWORD))) throw new Error('argon2id: no match');
      return undefined;
    },
  );
}

async function main() {
  console.log('building the server (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const store = await database();
  const port = await freePort();
  // A host name, not an address: passkeys are offered only where the RP ID is a domain.
  const issuer = `http://localhost:${port}`;
  const secrets = benchSecrets();
  const keysEncryptionKey = Buffer.from(secrets.KEYS_ENCRYPTION_KEY!, 'base64url');
  const env = {
    ...benchEnv(store.url, secrets),
    PORT: String(port),
    ISSUER: issuer,
    WORKERS: '1',
    // Each sign-in comes from an address of its own (X-Forwarded-For): the limiters run, none
    // refuses, and no two sign-ins wait for one counter's row.
    TRUSTED_PROXIES: '127.0.0.1',
    RATE_LIMIT_MFA_FAILURES: '1000000000',
  };
  let server: Server | undefined;
  const db = new pg.Client({ connectionString: store.url });
  const meter = costMeter(store.url);
  try {
    // What bench/run.ts registers; the sign-ins use its first-party web client.
    const { flow: web } = provision(env)(issuer);
    // The users, written directly (one argon2id hash for all: each sign-in still verifies it).
    await db.connect();
    const passwordHash = await hashPassword(PASSWORD);
    const [plain] = await insertUsers(db, 'password-', 1, passwordHash);
    const totpPool: TotpUser[] = [];
    for (const [id, email] of await insertUsers(db, 'totp-', totpUsers, passwordHash)) {
      const secret = new OTPAuth.Secret({ size: 20 });
      await db.query(
        `INSERT INTO user_totp (user_id, secret_enc, last_step, last_used_at, created_at) VALUES ($1::uuid, $2, 0, now(), now())`,
        [id, seal(Buffer.from(secret.base32), keysEncryptionKey, totpSecretAad(id!))],
      );
      totpPool.push({ email: email!, totp: new OTPAuth.TOTP({ secret, digits: 6, period: 30 }), lastStep: 0 });
    }
    const authenticators: Authenticator[] = [];
    for (const [id, email] of await insertUsers(db, 'passkey-', concurrency, passwordHash)) {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const credentialId = randomBytes(16).toString('base64url');
      await db.query(
        `INSERT INTO passkeys (user_id, credential_id, public_key, counter, device_type, backed_up, name)
         VALUES ($1::uuid, $2, $3, 0, 'multiDevice', true, 'bench')`,
        [id, credentialId, Buffer.from(coseKey(publicKey))],
      );
      authenticators.push({ userId: id!, email: email!, credentialId, key: privateKey });
    }

    server = await startProcess('tessera', ['build/main.js'], env, `${issuer}/readyz`);
    const target = (email: string): FlowTarget => ({
      ...web,
      issuer,
      user: { email, password: PASSWORD },
      headers: ownAddress(),
    });
    /** One full sign-in, from a new browser, as the loop `loop` makes it. */
    const signIn = (next: (loop: number) => { email: string; answer?: PageAnswer }) => async (loop: number) => {
      const { email, answer } = next(loop);
      const tokens = await authorizationCodeFlow(target(email), new Map(), 'openid', undefined, {}, answer);
      if (!tokens.id_token) throw new Error('no ID token');
    };
    const totpAnswer =
      (code: string): PageAnswer =>
      async ({ html, uid, csrf }) =>
        html.includes(`/interaction/${uid}/factor/totp"`)
          ? { path: `/interaction/${uid}/factor/totp`, fields: { csrf, code } }
          : undefined;
    const passkeyAnswer =
      (a: Authenticator): PageAnswer =>
      async ({ uid, csrf, post }) => {
        const options = (await (await post(`/interaction/${uid}/passkey/options`, { csrf })).json()) as {
          challenge: string;
        };
        return {
          path: `/interaction/${uid}/passkey`,
          fields: { csrf, credential: assertion(a, options.challenge, new URL(issuer)) },
        };
      };
    const flows: Record<string, (loop: number) => Promise<void>> = {
      'password only': signIn(() => ({ email: plain![1]! })),
      'password + TOTP': signIn(() => {
        // The code is taken as the sign-in starts, not when the page asks: the same step in effect.
        const { user, code } = nextCode(totpPool);
        return { email: user.email, answer: totpAnswer(code) };
      }),
      'passkey alone': signIn((loop) => {
        const a = authenticators[loop % authenticators.length]!;
        return { email: a.email, answer: passkeyAnswer(a) };
      }),
    };
    // Warm-up: one of each, so that no scenario pays for the first run of its code paths; a
    // failure here is a broken scenario, not noise.
    for (const flow of Object.values(flows)) await flow(0);
    const scenarios: Record<string, () => Promise<LoadResult>> = {
      'argon2id alone (verifyPassword)': () => argon2Rate(passwordHash),
      ...Object.fromEntries(
        Object.entries(flows).map(([name, flow]) => {
          let loops = 0;
          const run = () =>
            runLoops(
              concurrency,
              seconds,
              async () => loops++,
              async (loop) => {
                await flow(loop);
                return loop;
              },
            );
          return [name, run];
        }),
      ),
    };
    // Per round: the rate to a tenth (rps is rounded to a whole number, too coarse at these
    // rates), over the round's whole time, the last sign-ins' tail included; and the host's
    // 1-minute load average as it started (more than its cores: work waiting for a core).
    // And what each sign-in (or hash) cost in CPU, in milliseconds of one core: the bench's own
    // process (the browsers, or argon2id alone, which runs here), the server's, and PostgreSQL's
    // backends. N cores give at most N × 1,000 such milliseconds a second, so a sign-in rate of
    // 0.8× argon2id's needs every sign-in, all three together, to cost no more than 1.25 hashes.
    type Round = LoadResult & { perSecond: number; loadAverage: number; cpuMs: CpuPerSignIn };
    const perRound: Record<string, Round[]> = Object.fromEntries(Object.keys(scenarios).map((n) => [n, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const [name, run] of Object.entries(scenarios)) {
        const loadAverage = Math.round(loadavg()[0]! * 100) / 100;
        const before = await meter.read([server.child.pid!]);
        const ownBefore = process.cpuUsage();
        const started = performance.now();
        const r = await run();
        const perSecond = Math.round((r.count / ((performance.now() - started) / 1000)) * 10) / 10;
        const own = process.cpuUsage(ownBefore);
        const costs = perRequest(before, await meter.read([server.child.pid!]), r.count);
        const cpuMs = {
          bench: Math.round(((own.user + own.system) / 1000 / r.count) * 100) / 100,
          server: costs.nodeCpuMs,
          postgres: costs.pgCpuMs,
        };
        perRound[name]!.push({ ...r, perSecond, loadAverage, cpuMs });
        console.log(
          `round ${round}, ${name}: ${perSecond}/s (p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, ${r.count} done, ${r.errors} errors; load average ${loadAverage}); CPU ms each: bench ${cpuMs.bench}, server ${cpuMs.server}, PostgreSQL ${cpuMs.postgres ?? '?'}`,
        );
      }
    }
    const results = Object.fromEntries(
      Object.entries(perRound).map(([name, rs]) => [
        name,
        {
          perSecond: Math.round((rs.reduce((a, r) => a + r.perSecond, 0) / rs.length) * 10) / 10,
          medianP50ms: median(rs.map((r) => r.p50ms)),
          worstP99ms: Math.max(...rs.map((r) => r.p99ms)),
          count: rs.reduce((a, r) => a + r.count, 0),
          errors: rs.reduce((a, r) => a + r.errors, 0),
          cpuMs: medianCpu(rs.map((r) => r.cpuMs)),
          rounds: rs,
        },
      ]),
    );
    for (const [name, r] of Object.entries(results))
      console.log(
        `${name}: ${r.perSecond}/s (mean of ${rounds} rounds), p50 ${r.medianP50ms} ms, p99 ${r.worstP99ms} ms; CPU ms each (median): bench ${r.cpuMs.bench}, server ${r.cpuMs.server}, PostgreSQL ${r.cpuMs.postgres ?? '?'}`,
      );
    const result = {
      date: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model,
        cores: availableParallelism(),
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        // What the run shared the machine with, in the runner's words (each round records its load average).
        note: process.env.BENCH_NOTE ?? 'compare the rows with each other and with argon2id alone',
      },
      settings: {
        secondsPerRound: seconds,
        rounds,
        concurrency,
        totpUsers,
        server: 'one Tessera process (WORKERS=1), NODE_ENV=production, build/main.js, PostgreSQL on the same machine',
        flow: 'a new browser per sign-in: GET /auth → sign-in page → POST login (or passkey options + assertion) → (TOTP page → POST code) → redirect → code → POST /token with PKCE',
      },
      results,
    };
    // One file per run (date and time): runs on a shared machine are worth keeping side by side.
    const file = join(root, 'bench', 'results', `sign-in-${result.date.slice(0, 16).replace(':', '')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`written to ${file}`);
  } finally {
    if (server) await stopProcess(server);
    await db.end().catch(() => undefined);
    await meter.close().catch(() => undefined);
    await store.drop();
  }
}

await main();
process.exit(0);
